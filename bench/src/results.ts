/**
 * The shape of a benchmark run's results (written as `bench/results/latest.json`) and the
 * arithmetic on them: medians over rounds and ratios between rows.
 */
import type { CorrectnessCell } from './correctness.js';
import type { MicroBenchResult } from './micro.js';

/** One round of one row. */
export interface RoundResult {
  readonly round: number;
  readonly requests: number;
  readonly errors: number;
  readonly durationS: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU time of the row's own processes (and their descendants) during the round, µs. */
  readonly cpuUs: number;
  readonly cpuUsPerRequest: number;
  /** CPU µs per request of the shared upstream (null for the direct row, which is its own). */
  readonly upstreamCpuUsPerRequest: number | null;
  /** Distinct tokens the generator cycled through. */
  readonly distinctTokens: number;
}

/** Medians over the rounds of one row. */
export interface RowMedians {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerRequest: number;
  readonly upstreamCpuUsPerRequest: number | null;
  /** Total over the rounds. */
  readonly errors: number;
}

/** One fixed-rate (open-loop) round of one row; latency from the scheduled send time. */
export interface FixedRateRound {
  readonly round: number;
  /** Requests scheduled in the measured window, answered with a 2xx, and the rest. */
  readonly scheduled: number;
  readonly completed: number;
  readonly errors: number;
  readonly durationS: number;
  readonly achievedRate: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How late the generator itself sent, p99, ms (its own share of the latencies). */
  readonly sendLagP99Ms: number;
  /** CPU µs per request of the row's processes over the run (warm-up included). */
  readonly cpuUsPerRequest: number;
}

/** Medians over the fixed-rate rounds of one row at one rate. */
export interface FixedRateMedians {
  readonly achievedRate: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly sendLagP99Ms: number;
  readonly cpuUsPerRequest: number;
  /** Total over the rounds. */
  readonly errors: number;
}

/** One row at one fixed rate. */
export interface FixedRateResult {
  /** Total requests per second asked for. */
  readonly rate: number;
  status: 'measured' | 'failed';
  reason?: string;
  rounds: FixedRateRound[];
  median?: FixedRateMedians;
}

/** Everything about one row. */
export interface RowResult {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  status: 'measured' | 'skipped' | 'failed';
  /** Why skipped or failed. */
  reason?: string;
  /** Command that would make a skipped row available. */
  install?: string;
  url?: string;
  correctness: CorrectnessCell[];
  rounds: RoundResult[];
  median?: RowMedians;
  /** Latency at fixed rates (absent when the row was not measured that way). */
  fixedRate?: FixedRateResult[];
}

/** A whole run. */
export interface BenchResults {
  readonly date: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly os: string;
  };
  readonly options: {
    readonly durationS: number;
    readonly rounds: number;
    readonly connections: number;
    readonly rows: readonly string[] | null;
    /** Fixed rates of the latency measurement (absent in results of older runs). */
    readonly rates?: readonly number[];
    /** Where CPU profiles were written, when the run was profiled. */
    readonly cpuProfDir?: string | null;
  };
  readonly loadGenerator: string;
  /** CPU placement, e.g. `server under test: cpu 0; generator: cpu 1; upstream: cpu 1`. */
  readonly pinning: string;
  readonly issuerRequests: { jwks: number; discovery: number; introspection: number };
  readonly rows: RowResult[];
  micro: MicroBenchResult[];
}

/** The median of `values` (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Medians over `rounds`; undefined when there are none. */
export function mediansOf(rounds: readonly RoundResult[]): RowMedians | undefined {
  if (rounds.length === 0) return undefined;
  const upstream = rounds
    .map((r) => r.upstreamCpuUsPerRequest)
    .filter((v): v is number => v !== null);
  return {
    requestsPerSecond: median(rounds.map((r) => r.requestsPerSecond)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuUsPerRequest: median(rounds.map((r) => r.cpuUsPerRequest)),
    upstreamCpuUsPerRequest: upstream.length > 0 ? median(upstream) : null,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** Medians over fixed-rate `rounds` (errors summed); undefined when there are none. */
export function fixedRateMediansOf(
  rounds: readonly FixedRateRound[],
): FixedRateMedians | undefined {
  if (rounds.length === 0) return undefined;
  // A round without a single 2xx answer has no percentiles: the median is then n/a too.
  const of = (pick: (r: FixedRateRound) => number): number => {
    const values = rounds.map(pick);
    return values.some((v) => Number.isNaN(v)) ? Number.NaN : median(values);
  };
  return {
    achievedRate: of((r) => r.achievedRate),
    p50Ms: of((r) => r.p50Ms),
    p90Ms: of((r) => r.p90Ms),
    p99Ms: of((r) => r.p99Ms),
    maxMs: of((r) => r.maxMs),
    sendLagP99Ms: of((r) => r.sendLagP99Ms),
    cpuUsPerRequest: of((r) => r.cpuUsPerRequest),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** `a / b` when both rows were measured, else null. */
export function ratio(
  a: RowResult | undefined,
  b: RowResult | undefined,
  pick: (m: RowMedians) => number,
): number | null {
  if (!a?.median || !b?.median) return null;
  const denominator = pick(b.median);
  return denominator > 0 ? pick(a.median) / denominator : null;
}
