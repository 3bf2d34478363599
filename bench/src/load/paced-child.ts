/**
 * Child process of the paced (fixed-rate, open-loop) generator. Usage:
 * node paced-child.js <spec.json>; prints one line `BENCH-RESULT {...}` (a PacedSummary).
 *
 * Request i is due at start + i/rate whatever happened before; it is handed to an undici Pool
 * of `connections` keep-alive connections (queued there when every connection is busy), and its
 * latency runs from the due time to the end of its answer.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';
import type { ClockData } from './paced-clock.js';
import {
  dueCount,
  plannedRequests,
  scheduledOffsetMs,
  summarizePacedRun,
  type RequestOutcome,
} from './pacing.js';
import type { PacedSpec } from './paced.js';

const MARK = 'BENCH-RESULT ';

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as PacedSpec;
  const url = new URL(spec.url);
  const timeoutMs = spec.timeoutS * 1000;
  const pool = new Pool(url.origin, {
    connections: spec.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const headerSets = spec.tokens.map((token) => ({
    ...spec.headers,
    authorization: `Bearer ${token}`,
  }));
  const total = plannedRequests(spec.rate, spec.warmupS + spec.durationS);
  const sent = new Float64Array(total);
  const completed = new Float64Array(total).fill(Number.NaN);
  const ok = new Uint8Array(total);
  let next = 0;
  let settled = 0;
  let finish: () => void = () => undefined;
  const allSettled = new Promise<void>((resolve) => (finish = resolve));
  const start = performance.now() + 20;

  const body = Buffer.from(spec.body);
  const path = url.pathname + url.search;
  const settle = (i: number, good: boolean): void => {
    if (!Number.isNaN(completed[i] as number)) return;
    completed[i] = performance.now() - start;
    ok[i] = good ? 1 : 0;
    if (++settled === total) finish();
    pump();
  };
  // dispatch() with a handler, not request(): no promise or stream per request, so the
  // generator spends as little as possible of the load CPU it shares with the upstream.
  const send = (i: number): void => {
    sent[i] = performance.now() - start;
    let status = 0;
    pool.dispatch(
      { method: 'POST', path, headers: headerSets[i % headerSets.length], body },
      {
        // The classic handler callbacks: Pool.dispatch hands the handler to the HTTP/1.1
        // client as it is, and that client calls these.
        onConnect: () => undefined,
        onHeaders: (statusCode) => {
          status = statusCode;
          return true;
        },
        onData: () => true,
        onComplete: () => settle(i, status >= 200 && status < 300),
        onError: () => settle(i, false),
      },
    );
  };
  // Sends every request that is due by now (also called on each answer, which often comes
  // sooner than the next clock tick).
  const pump = (): void => {
    const due = dueCount(performance.now() - start, spec.rate, total);
    while (next < due) send(next++);
  };

  // The clock: a worker thread that wakes this event loop at each scheduled send time (libuv's
  // own timers have millisecond resolution, which would add up to 1 ms to every latency).
  const clock = new Worker(new URL('./paced-clock.js', import.meta.url), {
    workerData: {
      startEpochMs: performance.timeOrigin + start,
      rate: spec.rate,
      total,
    } satisfies ClockData,
  });
  clock.on('message', pump);
  clock.on('error', (error) => {
    process.stderr.write(`paced clock failed: ${String(error)}\n`);
    process.exit(1);
  });

  const deadline = scheduledOffsetMs(total, spec.rate) + timeoutMs + 1000;
  await Promise.race([
    allSettled,
    new Promise((resolve) => setTimeout(resolve, deadline + 20).unref()),
  ]);
  const outcomes: RequestOutcome[] = [];
  for (let i = 0; i < total; i++) {
    const done = completed[i] as number;
    outcomes.push({
      scheduledMs: scheduledOffsetMs(i, spec.rate),
      sentMs: i < next ? (sent[i] as number) : null,
      completedMs: Number.isNaN(done) ? null : done,
      ok: ok[i] === 1,
    });
  }
  const summary = summarizePacedRun(
    outcomes,
    spec.rate,
    spec.warmupS * 1000,
    spec.durationS * 1000,
  );
  process.stdout.write(`${MARK}${JSON.stringify(summary)}\n`);
  await pool.destroy().catch(() => undefined);
  process.exit(0);
}

void main();
