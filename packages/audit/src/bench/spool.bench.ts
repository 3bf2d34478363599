/**
 * Spool benchmark: durable records/s and ack latency of the strict spool under many concurrent
 * writers (group commit), against plain unsynced appends in the same run. Bounded: 3 s per phase
 * by default (at most 8). Usage: node dist/bench/spool.bench.js [--seconds N] [--writers N] [--json]
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { AuditRecord } from '@mcp-iam/core';
import { encodeSpoolLine } from '../spool/format.js';
import { nodeSpoolFileSystem, type SpoolFileSystem } from '../spool/file-system.js';
import { Spool } from '../spool/spool.js';
import { createAuditSink } from '../sink.js';
import { makeRecord, tempDir } from '../testing/records.js';

interface PhaseResult {
  readonly name: string;
  readonly records: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly syncs?: number;
}

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    writers: { type: 'string', default: '256' },
    json: { type: 'boolean', default: false },
  },
});
const seconds = Math.min(Math.max(Number(values.seconds), 0.5), 8);
const writers = Math.min(Math.max(Number(values.writers), 1), 4096);

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

function phase(name: string, write: (r: AuditRecord) => Promise<unknown>): Promise<PhaseResult> {
  return phaseFor(seconds, name, write);
}

/** Runs `writers` concurrent loops of `write` for `duration` s, measuring each acknowledgement. */
async function phaseFor(
  duration: number,
  name: string,
  write: (r: AuditRecord) => Promise<unknown>,
): Promise<PhaseResult> {
  const template = makeRecord({ detail: 'benchmark record' });
  const latencies: number[] = [];
  const start = performance.now();
  const stopAt = start + duration * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < stopAt) {
        const t0 = performance.now();
        await write({ ...template, id: `${name}-${n++}` });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    name,
    records: latencies.length,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

/** The real file system, timing each fdatasync (group commit efficiency: records per sync). */
const syncStats = { count: 0, totalMs: 0 };
const timedFileSystem: SpoolFileSystem = {
  ...nodeSpoolFileSystem,
  async datasync(fd) {
    const t0 = performance.now();
    await nodeSpoolFileSystem.datasync(fd);
    syncStats.count += 1;
    syncStats.totalMs += performance.now() - t0;
  },
};

const { dir, remove } = tempDir('mcp-iam-audit-bench-');
const results: PhaseResult[] = [];
try {
  // Baseline: what a naive logger does, one unsynced write per record.
  const plain = await open(join(dir, 'plain.log'), 'a');
  results.push(await phase('plain unsynced append', (r) => plain.write(encodeSpoolLine(r))));
  await plain.close();

  // Same batching without fdatasync: isolates the cost of durability.
  const unsynced = await Spool.open({ dir: join(dir, 'unsynced'), sync: false });
  results.push(
    await phase('spool unsynced (group write, no fdatasync)', (r) => unsynced.append(r)),
  );
  await unsynced.close();

  // Warm-up (not measured): lets the JIT compile the write path before the durable phases.
  const warm = await Spool.open({ dir: join(dir, 'warm') });
  await phaseFor(0.5, 'warm', (r) => warm.append(r));
  await warm.close();

  const spool = await Spool.open({ dir: join(dir, 'spool'), fileSystem: timedFileSystem });
  const strict = await phase('spool strict (group commit + fdatasync)', (r) => spool.append(r));
  results.push({ ...strict, syncs: syncStats.count });
  await spool.close();

  const sink = await createAuditSink({ mode: 'strict', spool: { dir: join(dir, 'sink') } });
  results.push(await phase('sink strict (validate + sanitize + spool)', (r) => sink.write(r)));
  await sink.close();
} finally {
  remove();
}

const base = results[0]?.perSecond ?? 1;
if (values.json) {
  process.stdout.write(`${JSON.stringify({ writers, seconds, results })}\n`);
} else {
  process.stdout.write(
    `audit spool benchmark: ${writers} concurrent writers, ${seconds} s per phase\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `${r.name.padEnd(45)} ${Math.round(r.perSecond).toString().padStart(8)} records/s` +
        `  (${(r.perSecond / base).toFixed(2)}x plain)  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms\n`,
    );
  }
  const strict = results[2];
  if (strict !== undefined) {
    const perSync = strict.records / Math.max(1, syncStats.count);
    const syncMs = syncStats.totalMs / Math.max(1, syncStats.count);
    process.stdout.write(
      `group commit: ${syncStats.count} fdatasyncs, ${perSync.toFixed(1)} records per sync, ` +
        `mean fdatasync ${syncMs.toFixed(2)} ms (throughput is bounded by writers / ack latency)\n`,
    );
    const verdict = strict.perSecond >= 20_000 ? 'meets' : 'BELOW';
    process.stdout.write(`durable throughput ${verdict} the 20 000 records/s target\n`);
  }
}
