/**
 * Specification of the fixed-rate latency measurement: the options that select it, the send
 * schedule, the percentiles, the summary of a run, the report, the paced generator end to end
 * (counts only, never timings) and the CPU-profile option.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parsePacedResult, runPaced, type PacedSpec } from './load/paced.js';
import {
  dueCount,
  percentile,
  plannedRequests,
  scheduledOffsetMs,
  summarizeLatencies,
  summarizePacedRun,
  type RequestOutcome,
} from './load/pacing.js';
import { DEFAULT_RATE_ROWS, parseOptions } from './options.js';
import { freePort, spawnManaged, stopAllProcesses, waitForPort } from './processes.js';
import { rateSummaryLine, renderMarkdown, summaryLine } from './report.js';
import {
  fixedRateMediansOf,
  type BenchResults,
  type FixedRateRound,
  type RowResult,
} from './results.js';
import { formatProfileSummary, summarizeProfile, type CpuProfile } from './profile-summary.js';
import { bareProxyRow } from './rows/node-servers.js';
import type { BenchContext } from './rows/types.js';

describe('fixed-rate options', () => {
  test('a default run measures 2000 req/s on direct, bare-proxy and gateway, unprofiled', () => {
    const o = parseOptions([]);
    assert.deepEqual(o.rates, [2000]);
    assert.deepEqual(o.rateRows, ['direct', 'bare-proxy', 'gateway']);
    assert.deepEqual(DEFAULT_RATE_ROWS, ['direct', 'bare-proxy', 'gateway']);
    assert.equal(o.cpuProfDir, null);
  });

  test('--rate takes a comma-separated list and then applies to every selected row', () => {
    const o = parseOptions(['--rate', '2000,5000']);
    assert.deepEqual(o.rates, [2000, 5000]);
    assert.equal(o.rateRows, null);
    assert.deepEqual(parseOptions(['--rate=1500']).rates, [1500]);
  });

  test('--rate-rows picks the rows whatever its position relative to --rate', () => {
    assert.deepEqual(parseOptions(['--rate-rows', 'gateway', '--rate', '3000']).rateRows, [
      'gateway',
    ]);
    assert.deepEqual(parseOptions(['--rate', '3000', '--rate-rows', 'gateway,haproxy']).rateRows, [
      'gateway',
      'haproxy',
    ]);
    assert.deepEqual(parseOptions(['--rate-rows', 'apache']).rates, [2000]);
  });

  test('--no-rate skips the measurement and contradicts an explicit --rate', () => {
    assert.deepEqual(parseOptions(['--no-rate']).rates, []);
    assert.throws(() => parseOptions(['--no-rate', '--rate', '2000']), /contradict/);
  });

  test('a rate is a whole positive number of requests per second, listed once, at most 100000', () => {
    for (const bad of ['0', '-5', '2000.5', '2e3', '', 'abc', '2000,', '2000,2000', '100001']) {
      assert.throws(() => parseOptions(['--rate', bad]), /--rate/, bad);
    }
    assert.throws(() => parseOptions(['--rate']), /--rate/);
    assert.throws(() => parseOptions(['--rate-rows', '']), /--rate-rows/);
  });

  test('--cpu-prof needs a directory', () => {
    assert.equal(parseOptions(['--cpu-prof', '/tmp/prof']).cpuProfDir, '/tmp/prof');
    assert.equal(parseOptions(['--cpu-prof=prof']).cpuProfDir, 'prof');
    assert.throws(() => parseOptions(['--cpu-prof']), /--cpu-prof/);
    assert.throws(() => parseOptions(['--cpu-prof', '--quick']), /--cpu-prof/);
  });
});

describe('send schedule', () => {
  test('request i is due i/rate seconds after the start', () => {
    assert.equal(scheduledOffsetMs(0, 2000), 0);
    assert.equal(scheduledOffsetMs(1, 2000), 0.5);
    assert.equal(scheduledOffsetMs(2000, 2000), 1000);
    assert.equal(scheduledOffsetMs(3, 3), 1000);
  });

  test('the first request is due at the start, none before it', () => {
    assert.equal(dueCount(-0.001, 2000, 100), 0);
    assert.equal(dueCount(Number.NaN, 2000, 100), 0);
    assert.equal(dueCount(0, 2000, 100), 1);
    assert.equal(dueCount(0.4999, 2000, 100), 1);
  });

  test('a request is due exactly at its scheduled time, never earlier', () => {
    for (const rate of [1, 3, 7, 1000, 2000, 3001, 5000]) {
      for (let i = 1; i < 200; i++) {
        const at = scheduledOffsetMs(i, rate);
        assert.equal(dueCount(at, rate, 1e9), i + 1, `rate ${rate}, request ${i} at its time`);
        assert.equal(
          dueCount(at - 1e-6, rate, 1e9),
          i,
          `rate ${rate}, request ${i} just before its time`,
        );
      }
    }
  });

  test('the count of due requests never exceeds the planned total', () => {
    assert.equal(dueCount(1e9, 2000, 600), 600);
    assert.equal(plannedRequests(2000, 6), 12_000);
    assert.equal(plannedRequests(333, 1.5), 500);
  });
});

describe('percentiles', () => {
  test('nearest rank: the smallest observed value with at least p % of values at or below it', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    assert.equal(percentile(sorted, 50), 50);
    assert.equal(percentile(sorted, 90), 90);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile(sorted, 100), 100);
    assert.equal(percentile(sorted, 0.001), 1);
    assert.equal(percentile([1, 2, 3], 50), 2);
    assert.equal(percentile([1, 2, 3, 4], 50), 2, 'no interpolation between 2 and 3');
    assert.equal(percentile([7], 99), 7);
  });

  test('percentiles of nothing are NaN and a percentile outside (0, 100] is refused', () => {
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentile([1], 0), RangeError);
    assert.throws(() => percentile([1], 101), RangeError);
  });

  test('a latency summary sorts its input without modifying it', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    assert.deepEqual(summarizeLatencies(values), { p50Ms: 5, p90Ms: 9, p99Ms: 10, maxMs: 10 });
    assert.deepEqual(values, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
  });
});

describe('summary of a fixed-rate run', () => {
  const outcome = (
    scheduledMs: number,
    latency: number | null,
    ok = true,
    lag = 0,
  ): RequestOutcome => ({
    scheduledMs,
    sentMs: scheduledMs + lag,
    completedMs: latency === null ? null : scheduledMs + latency,
    ok,
  });

  test('latency runs from the scheduled send time, so generator lag and queueing count', () => {
    // Sent 3 ms late and answered 1 ms after sending: 4 ms, not 1 ms.
    const s = summarizePacedRun([outcome(0, 4, true, 3)], 1000, 0, 1000);
    assert.equal(s.p50Ms, 4);
    assert.equal(s.sendLagP99Ms, 3);
    assert.equal(s.sendLagMaxMs, 3);
  });

  test('only requests scheduled in the measured window count, warm-up excluded', () => {
    const outcomes = [outcome(0, 100), outcome(500, 100), outcome(1000, 1), outcome(1500, 2)];
    const s = summarizePacedRun(outcomes, 2, 1000, 1000);
    assert.equal(s.scheduled, 2);
    assert.equal(s.completed, 2);
    assert.equal(s.maxMs, 2);
    assert.equal(s.sentTotal, 4, 'CPU per request divides by every request sent');
  });

  test('failed, non-2xx, unanswered and unsent requests are errors and have no latency', () => {
    const outcomes: RequestOutcome[] = [
      outcome(0, 1),
      outcome(1, 2, false),
      outcome(2, null, false),
      { scheduledMs: 3, sentMs: null, completedMs: null, ok: false },
    ];
    const s = summarizePacedRun(outcomes, 1000, 0, 1000);
    assert.equal(s.scheduled, 4);
    assert.equal(s.completed, 1);
    assert.equal(s.errors, 3);
    assert.equal(s.maxMs, 1);
    assert.equal(s.sentTotal, 3);
  });

  test('achieved rate is 2xx answers over the window, stretched to the last answer when later', () => {
    const onTime = Array.from({ length: 10 }, (_, i) => outcome(i * 100, 1));
    assert.equal(summarizePacedRun(onTime, 10, 0, 1000).achievedRate, 10);
    const late = Array.from({ length: 10 }, (_, i) => outcome(i * 100, i === 9 ? 1100 : 1));
    const s = summarizePacedRun(late, 10, 0, 1000);
    assert.equal(s.durationS, 2);
    assert.equal(s.achievedRate, 5);
  });

  test('a run without a 2xx answer has NaN percentiles, which survive the JSON round trip', () => {
    const s = summarizePacedRun([outcome(0, null, false)], 1000, 0, 1000);
    assert.ok(Number.isNaN(s.p99Ms));
    const back = parsePacedResult(JSON.stringify(s));
    assert.ok(Number.isNaN(back.p99Ms));
    assert.equal(back.errors, 1);
  });
});

function fixedRound(round: number, p99Ms: number, errors = 0, achieved = 2000): FixedRateRound {
  return {
    round,
    scheduled: 2000,
    completed: 2000 - errors,
    errors,
    durationS: 1,
    achievedRate: achieved,
    p50Ms: p99Ms / 4,
    p90Ms: p99Ms / 2,
    p99Ms,
    maxMs: p99Ms * 2,
    sendLagP99Ms: 0.1,
    cpuUsPerRequest: 100,
  };
}

describe('fixed-rate medians and report', () => {
  test('fixed-rate figures are medians over rounds and errors are summed', () => {
    const m = fixedRateMediansOf([fixedRound(1, 3), fixedRound(2, 1, 2), fixedRound(3, 2, 1)]);
    assert.equal(m?.p99Ms, 2);
    assert.equal(m?.errors, 3);
    assert.equal(fixedRateMediansOf([]), undefined);
  });

  test('a round without any 2xx answer makes the median n/a rather than hiding it', () => {
    const m = fixedRateMediansOf([fixedRound(1, 3), fixedRound(2, Number.NaN, 1000)]);
    assert.ok(Number.isNaN(m?.p99Ms as number));
  });

  const row = (
    id: string,
    p99: number | null,
    rate = 2000,
    errors = 0,
    achieved = rate,
  ): RowResult => ({
    id,
    title: `${id} title`,
    description: id,
    status: 'measured',
    correctness: [],
    rounds: [],
    median: {
      requestsPerSecond: 1000,
      p50Ms: 1,
      p99Ms: 2,
      cpuUsPerRequest: 10,
      upstreamCpuUsPerRequest: null,
      errors: 0,
    },
    ...(p99 === null
      ? {}
      : {
          fixedRate: [
            {
              rate,
              status: 'measured' as const,
              rounds: [fixedRound(1, p99, errors, achieved)],
              median: fixedRateMediansOf([fixedRound(1, p99, errors, achieved)]),
            },
          ],
        }),
  });
  const results = (rows: RowResult[]): BenchResults => ({
    date: '2026-01-01T00:00:00Z',
    machine: { cpus: 2, cpuModel: 'x', node: 'v20', os: 'Linux' },
    options: { durationS: 1, rounds: 1, connections: 32, rows: null, rates: [2000] },
    loadGenerator: 'wrk',
    pinning: 'none',
    issuerRequests: { jwks: 0, discovery: 0, introspection: 0 },
    rows,
    micro: [],
  });

  test('the p99 line reports the gateway at 2000 req/s, with the bare proxy and direct for reference', () => {
    const r = results([row('direct', 0.4), row('bare-proxy', 0.8), row('gateway', 3.456)]);
    assert.equal(
      rateSummaryLine(r),
      'p99@2000req/s: gateway=3.46ms bare-proxy=0.80ms direct=0.40ms',
    );
  });

  test('the p99 line flags errors and a rate the row could not keep', () => {
    const r = results([row('gateway', 3, 2000, 200, 1800)]);
    assert.equal(
      rateSummaryLine(r),
      'p99@2000req/s: gateway=3.00ms(200 errors, achieved 1800 req/s)',
    );
  });

  test('there is no p99 line when the gateway was not measured at 2000 req/s', () => {
    assert.equal(rateSummaryLine(results([row('bare-proxy', 0.8), row('gateway', null)])), null);
    assert.equal(rateSummaryLine(results([row('gateway', 3, 5000)])), null);
  });

  test('latest.md has a fixed-rate section and still ends with the throughput summary line', () => {
    const r = results([row('bare-proxy', 0.8), row('gateway', 3)]);
    const md = renderMarkdown(r);
    assert.match(md, /## Latency at a fixed rate/);
    assert.match(
      md,
      /\| gateway title \| 2000 \| 2000 \| 0\.75 \| 1\.50 \| 3\.00 \| 6\.00 \| 0 \|/,
    );
    const lines = md.trimEnd().split('\n');
    assert.equal(lines.at(-1), summaryLine(r));
    assert.equal(lines.at(-1), 'gateway/bare-proxy=1.00 gateway/apache=n/a');
    assert.ok(lines.includes('p99@2000req/s: gateway=3.00ms bare-proxy=0.80ms'));
  });
});

describe('paced generator', () => {
  let server: Server;
  let url: string;
  const seen: string[] = [];
  let status = 200;

  before(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      req.resume();
      req.on('end', () => res.writeHead(status, { 'content-length': 2 }).end('{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const spec = (workDir: string, tokens: string[]): PacedSpec => ({
    url,
    tokens,
    body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    headers: { 'content-type': 'application/json' },
    connections: 4,
    durationS: 1,
    cpus: null,
    workDir,
    rate: 200,
    warmupS: 0.25,
    timeoutS: 5,
  });

  test('sends exactly rate × (warm-up + duration) requests and counts the window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paced-test-'));
    try {
      seen.length = 0;
      status = 200;
      const r = await runPaced(spec(dir, ['a', 'b', 'c']));
      assert.equal(seen.length, 250);
      assert.equal(r.sentTotal, 250);
      assert.equal(r.scheduled, 200);
      assert.equal(r.completed, 200);
      assert.equal(r.errors, 0);
      assert.ok(r.p50Ms <= r.p90Ms && r.p90Ms <= r.p99Ms && r.p99Ms <= r.maxMs);
      assert.deepEqual(
        [...new Set(seen)].sort(),
        ['Bearer a', 'Bearer b', 'Bearer c'],
        'tokens are cycled, one per request',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('non-2xx answers are errors, not latencies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'paced-test-'));
    try {
      status = 503;
      const r = await runPaced(spec(dir, ['a']));
      assert.equal(r.scheduled, 200);
      assert.equal(r.completed, 0);
      assert.equal(r.errors, 200);
      assert.ok(Number.isNaN(r.p99Ms));
    } finally {
      status = 200;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('--cpu-prof', () => {
  test('a Node server row started with the profiling node flags writes its profile when stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-prof-test-'));
    try {
      const profDir = join(dir, 'bare-proxy');
      const ctx = {
        upstreamUrl: 'http://127.0.0.1:9/mcp',
        mcpPath: '/mcp',
        nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir],
        spawnServer: (name: string, command: string, args: readonly string[], opts?: object) =>
          spawnManaged(command, args, {
            logPath: join(dir, `${name}.log`),
            cpus: null,
            stopGraceMs: 30_000,
            ...opts,
          }),
        freePort,
        waitForPort,
      } as unknown as BenchContext;
      const running = await bareProxyRow.start(ctx);
      assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
      await running.stop();
      assert.ok(existsSync(profDir));
      const profiles = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
      assert.equal(profiles.length, 1);
      const profile = JSON.parse(readFileSync(join(profDir, profiles[0] as string), 'utf8')) as {
        nodes: unknown[];
      };
      assert.ok(profile.nodes.length > 0);
    } finally {
      await stopAllProcesses();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('profile summary', () => {
  const frame = (functionName: string, url = '', lineNumber = 0) => ({
    functionName,
    url,
    lineNumber,
  });
  // (root) → main → f → f (recursion) ; (root) → (idle)
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 5] },
      {
        id: 2,
        callFrame: frame('main', 'file:///work/x/node_modules/undici/lib/a.js', 9),
        children: [3],
      },
      {
        id: 3,
        callFrame: frame('f', 'file:///work/wt/bench/packages/core/dist/f.js', 0),
        children: [4],
      },
      { id: 4, callFrame: frame('f', 'file:///work/wt/bench/packages/core/dist/f.js', 0) },
      { id: 5, callFrame: frame('(idle)') },
    ],
    samples: [4, 4, 3, 2, 5, 5, 5, 5, 5, 5],
    timeDeltas: Array.from({ length: 10 }, () => 1000),
    startTime: 0,
    endTime: 10_000,
  };

  test('self time is the top frame; inclusive time counts a recursive function once per sample', () => {
    const s = summarizeProfile(profile);
    assert.equal(s.samples, 10);
    assert.equal(s.durationMs, 10);
    const byKey = new Map(s.functions.map((f) => [f.key, f]));
    assert.deepEqual(byKey.get('(idle)'), { key: '(idle)', selfSamples: 6, totalSamples: 6 });
    assert.deepEqual(byKey.get('f packages/core/dist/f.js:1'), {
      key: 'f packages/core/dist/f.js:1',
      selfSamples: 3,
      totalSamples: 3,
    });
    assert.deepEqual(byKey.get('main node_modules/undici/lib/a.js:10'), {
      key: 'main node_modules/undici/lib/a.js:10',
      selfSamples: 1,
      totalSamples: 4,
    });
    assert.equal(byKey.has('(root)'), false);
    assert.equal(s.functions[0]?.key, '(idle)', 'sorted by self time');
  });

  test('the text lists shares of all samples, by self then by inclusive time', () => {
    const text = formatProfileSummary(summarizeProfile(profile), 2);
    assert.match(text, /^10 samples over 0\.0 s/);
    assert.match(text, /self[^\n]*\n 60\.0 % {2}\(idle\)\n 30\.0 % {2}f packages/);
    assert.match(text, /total[^\n]*\n 60\.0 % {2}\(idle\)\n 40\.0 % {2}main node_modules/);
  });
});
