/**
 * The arithmetic of the fixed-rate (open-loop) load: when each request is due, which requests
 * count, and the latency percentiles. Pure functions, shared by the paced generator's child
 * process and the tests.
 *
 * The send schedule is fixed before the run: request i is due `i × 1000 / rate` ms after the
 * start, whatever happened to the requests before it. Latency is measured from that scheduled
 * time, not from the moment the request was written, so a server (or generator) that stalls is
 * charged for every request that should have been sent during the stall (no coordinated
 * omission).
 */

/** Milliseconds after the start at which request `index` (0-based) is due. */
export function scheduledOffsetMs(index: number, rate: number): number {
  return (index * 1000) / rate;
}

/**
 * How many requests are due `elapsedMs` after the start (request i is due once
 * `elapsedMs >= scheduledOffsetMs(i, rate)`), at most `total`; 0 before the start.
 */
export function dueCount(elapsedMs: number, rate: number, total: number): number {
  if (!(elapsedMs >= 0)) return 0;
  // The smallest i with scheduledOffsetMs(i) > elapsedMs, computed with the same float
  // arithmetic as scheduledOffsetMs so the two never disagree at an exact boundary.
  let due = Math.floor((elapsedMs * rate) / 1000) + 1;
  while (due > 0 && scheduledOffsetMs(due - 1, rate) > elapsedMs) due--;
  while (scheduledOffsetMs(due, rate) <= elapsedMs) due++;
  return Math.min(total, due);
}

/** Total requests of a run: `rate` per second over `seconds`, rounded to a whole request. */
export function plannedRequests(rate: number, seconds: number): number {
  return Math.round(rate * seconds);
}

/**
 * The `p`-th percentile (0 < p ≤ 100) of ascending `sorted` values, nearest-rank definition: the
 * smallest value such that at least p % of the values are ≤ it. No interpolation, so the figure
 * is always a latency that was actually observed. NaN when there are no values.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} is not in (0, 100]`);
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * n);
  return sorted[Math.min(n, Math.max(1, rank)) - 1] as number;
}

/** Latency percentiles of one run, milliseconds. */
export interface LatencySummary {
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** p50, p90, p99 and max of `latenciesMs` (any order; not modified). NaN when empty. */
export function summarizeLatencies(latenciesMs: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
  };
}

/** What happened to one scheduled request. */
export interface RequestOutcome {
  /** When it was due, ms after the start. */
  readonly scheduledMs: number;
  /** When the generator handed it to the connection pool, ms after the start; null if never. */
  readonly sentMs: number | null;
  /** When its answer was complete, ms after the start; null when it never was. */
  readonly completedMs: number | null;
  /** Whether the answer was a 2xx (false for socket errors and time-outs too). */
  readonly ok: boolean;
}

/** The figures of one fixed-rate run, over the measured window (after the warm-up). */
export interface PacedSummary extends LatencySummary {
  /** The rate asked for, requests per second. */
  readonly targetRate: number;
  /** Requests sent over the whole run, warm-up included (for CPU time per request). */
  readonly sentTotal: number;
  /** Requests scheduled in the measured window. */
  readonly scheduled: number;
  /** Of those, answered with a 2xx. */
  readonly completed: number;
  /** Of those, not 2xx, failed or never answered. */
  readonly errors: number;
  /** Length of the measured window, seconds (until the last answer, if that came later). */
  readonly durationS: number;
  /** 2xx answers per second over {@link durationS}. */
  readonly achievedRate: number;
  /** How late the generator itself sent (sent − scheduled), p99 and max, ms (sent ones only). */
  readonly sendLagP99Ms: number;
  readonly sendLagMaxMs: number;
}

/**
 * Summarizes a run: only requests scheduled at or after `warmupMs` count, for `windowMs`.
 * Latency = completion − scheduled time (2xx answers only; everything else is an error).
 */
export function summarizePacedRun(
  outcomes: readonly RequestOutcome[],
  rate: number,
  warmupMs: number,
  windowMs: number,
): PacedSummary {
  const latencies: number[] = [];
  const lags: number[] = [];
  let scheduled = 0;
  let errors = 0;
  let lastCompletion = warmupMs;
  let sentTotal = 0;
  for (const o of outcomes) {
    if (o.sentMs !== null) sentTotal++;
    if (o.scheduledMs < warmupMs || o.scheduledMs >= warmupMs + windowMs) continue;
    scheduled++;
    if (o.sentMs !== null) lags.push(o.sentMs - o.scheduledMs);
    if (o.ok && o.completedMs !== null) {
      latencies.push(o.completedMs - o.scheduledMs);
      if (o.completedMs > lastCompletion) lastCompletion = o.completedMs;
    } else {
      errors++;
    }
  }
  const durationMs = Math.max(windowMs, lastCompletion - warmupMs);
  const lag = summarizeLatencies(lags);
  return {
    targetRate: rate,
    sentTotal,
    scheduled,
    completed: latencies.length,
    errors,
    durationS: durationMs / 1000,
    achievedRate: durationMs > 0 ? latencies.length / (durationMs / 1000) : 0,
    ...summarizeLatencies(latencies),
    sendLagP99Ms: lag.p99Ms,
    sendLagMaxMs: lag.maxMs,
  };
}
