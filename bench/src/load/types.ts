/**
 * What a load generator is asked to do and what it reports, whichever tool runs it.
 */

/** One bounded load run against one URL. */
export interface LoadSpec {
  readonly url: string;
  /** Tokens to cycle through, one per request; a single token is sent with every request. */
  readonly tokens: readonly string[];
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly connections: number;
  readonly durationS: number;
  /** CPU list for taskset, or null. */
  readonly cpus: string | null;
  /** Scratch dir for scripts and token files. */
  readonly workDir: string;
}

/** What one load run measured. */
export interface LoadResult {
  /** Completed responses. */
  readonly requests: number;
  /** Responses that were not 2xx, plus socket errors and timeouts. */
  readonly errors: number;
  /** Measured duration, seconds. */
  readonly durationS: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** A load generator. */
export interface LoadGenerator {
  /** e.g. `wrk 4.1.0` or `autocannon 8`. */
  readonly name: string;
  run(spec: LoadSpec): Promise<LoadResult>;
}
