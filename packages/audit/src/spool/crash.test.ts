import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpoolLockedError } from '../errors.js';
import { encodeSpoolLine } from './format.js';
import { makeRecord, tempDir } from '../testing/records.js';
import { readSpool } from './reader.js';
import { listSpoolSegments, segmentPath } from './segments.js';
import { Spool } from './spool.js';

const WRITER = fileURLToPath(new URL('../testing/crash-writer.js', import.meta.url));

/**
 * Runs the writer until it has acknowledged `acks` records (or for 2 s after its first ack on a
 * slow machine), then SIGKILLs it mid-run.
 */
function runAndKill(dir: string, acks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, '8000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: string[] = [];
    let buffered = '';
    let killed = false;
    let firstAckAt = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line !== 'ready') acked.push(line);
      if (firstAckAt === 0 && acked.length > 0) firstAckAt = Date.now();
      if (!killed && (acked.length >= acks || (firstAckAt > 0 && Date.now() - firstAckAt > 2000))) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited without being killed (${signal})`));
      else resolve(acked);
    });
  });
}

test('every acknowledged record survives SIGKILL under load, none is duplicated, a torn tail is cut', async () => {
  const { dir, remove } = tempDir();
  try {
    const acked = await runAndKill(dir, 3000);
    assert.ok(acked.length > 0);

    // A crash can also stop the OS mid-write: leave half a line at the tail as well.
    const last = (await listSpoolSegments(dir)).at(-1);
    assert.ok(last !== undefined);
    const torn = encodeSpoolLine(makeRecord()).subarray(0, 25);
    appendFileSync(segmentPath(dir, last), torn);
    const sizeWithTorn = statSync(segmentPath(dir, last)).size;

    const spool = await Spool.open({ dir, maxSegmentBytes: 256 * 1024 });
    assert.ok(spool.recovery.truncatedBytes >= torn.length);
    assert.equal(
      statSync(segmentPath(dir, last)).size,
      sizeWithTorn - spool.recovery.truncatedBytes,
    );
    const after = makeRecord();
    await spool.append(after);
    await spool.close();

    const seen = new Map<string, number>();
    for await (const { record } of readSpool(dir))
      seen.set(record.id, (seen.get(record.id) ?? 0) + 1);
    const missing = acked.filter((id) => !seen.has(id));
    assert.deepEqual(missing, [], 'acknowledged records missing after recovery');
    const duplicated = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(duplicated, []);
    assert.equal(seen.get(after.id), 1);
  } finally {
    remove();
  }
});

test('a second writer gets spool_locked while another process holds the spool, and takes over after it dies', async () => {
  const { dir, remove } = tempDir();
  const child = spawn(process.execPath, [WRITER, dir, '8000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        if (chunk.startsWith('ready')) resolve();
      });
      child.on('error', reject);
    });
    await assert.rejects(Spool.open({ dir }), (error: unknown) => {
      assert.ok(error instanceof SpoolLockedError);
      assert.equal(error.pid, child.pid);
      return true;
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const spool = await Spool.open({ dir });
    await spool.close();
  } finally {
    child.kill('SIGKILL');
    remove();
  }
});
