/**
 * The shipper drains a spool into a store. Effect is exactly once: a batch is inserted in one store
 * transaction (a replayed record id is skipped), and only after the commit does the durable cursor
 * move past it. A crash between the two re-ships the batch, which the store ignores.
 */
import type { AuditRecord } from '@mcp-iam/core';
import { AuditError } from './errors.js';
import { readSpoolCursor, writeSpoolCursor } from './spool/cursor.js';
import { readSpool } from './spool/reader.js';
import { pruneSpoolSegments, type SpoolPosition } from './spool/segments.js';
import type { Spool } from './spool/spool.js';
import type { AuditStore } from './store/store.js';

/** Retry policy: exponential backoff, `initialDelayMs` doubling up to `maxDelayMs`. */
export interface RetryOptions {
  /** First delay after a failure. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Longest delay between attempts. Default 10 000 ms. */
  readonly maxDelayMs?: number;
}

/** Options of {@link AuditShipper}. */
export interface AuditShipperOptions {
  /**
   * The spool to drain: a live {@link Spool} of this process (reads stop at its durable position),
   * or a spool directory written by another process (reads stop at the last complete line).
   */
  readonly spool: Spool | string;
  readonly store: AuditStore;
  /** Cursor name (one per destination). Default `store`. */
  readonly name?: string;
  /** Records per store transaction. Default 500. */
  readonly batchSize?: number;
  /** Wait between polls once caught up. Default 200 ms. */
  readonly pollIntervalMs?: number;
  /** Backoff after a failed batch; attempts continue (the records are safe in the spool). */
  readonly retry?: RetryOptions;
  /**
   * Delete spool segments the cursor has passed. Default `false`: keep them (the spool stays a
   * complete local copy). Enable only when the store is the system of record.
   */
  readonly pruneShipped?: boolean;
  /** Called with each failure (for logging). */
  readonly onError?: (error: unknown) => void;
}

/** Shipper counters. */
export interface AuditShipperStats {
  /** Records read from the spool and committed to the store (replays included). */
  readonly shipped: number;
  /** Failed batch attempts. */
  readonly failures: number;
  /** Failures since the last success; > 0 means the store is currently unreachable. */
  readonly consecutiveFailures: number;
  /** Code or message of the last failure. */
  readonly lastError: string | undefined;
  /** Position up to which records are shipped. */
  readonly cursor: SpoolPosition | undefined;
}

/**
 * Ships records from a spool to a store, in order, with bounded exponential backoff.
 *
 * @example
 * ```ts
 * const shipper = new AuditShipper({ spool, store });
 * shipper.start();
 * // ...
 * await shipper.stop();
 * ```
 */
export class AuditShipper {
  readonly #spool: Spool | undefined;
  readonly #dir: string;
  readonly #store: AuditStore;
  readonly #name: string;
  readonly #batchSize: number;
  readonly #pollMs: number;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #prune: boolean;
  #cursor: SpoolPosition | undefined;
  #cursorLoaded = false;
  #shipped = 0;
  #failures = 0;
  #consecutive = 0;
  #lastError: string | undefined;
  #running: Promise<void> | undefined;
  #stopping = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #polling = false;

  constructor(options: AuditShipperOptions) {
    this.#spool = typeof options.spool === 'string' ? undefined : options.spool;
    this.#dir = typeof options.spool === 'string' ? options.spool : options.spool.dir;
    this.#store = options.store;
    this.#name = options.name ?? 'store';
    this.#batchSize = options.batchSize ?? 500;
    this.#pollMs = options.pollIntervalMs ?? 200;
    this.#initialDelay = options.retry?.initialDelayMs ?? 100;
    this.#maxDelay = options.retry?.maxDelayMs ?? 10_000;
    this.#onError = options.onError;
    this.#prune = options.pruneShipped ?? false;
  }

  /** Current counters. */
  stats(): AuditShipperStats {
    return {
      shipped: this.#shipped,
      failures: this.#failures,
      consecutiveFailures: this.#consecutive,
      lastError: this.#lastError,
      cursor: this.#cursor,
    };
  }

  /**
   * Ships one batch (up to `batchSize` records after the cursor). Resolves with the number of
   * records shipped (0 when caught up); rejects when the store fails (the cursor does not move).
   */
  async shipOnce(): Promise<number> {
    if (!this.#cursorLoaded) {
      this.#cursor = await readSpoolCursor(this.#dir, this.#name);
      this.#cursorLoaded = true;
    }
    const records: AuditRecord[] = [];
    let next: SpoolPosition | undefined;
    const reader = readSpool(this.#dir, {
      from: this.#cursor,
      until: this.#spool?.durablePosition,
      batchSize: this.#batchSize,
    });
    for await (const entry of reader) {
      records.push(entry.record);
      next = entry.next;
      if (records.length >= this.#batchSize) break;
    }
    if (next === undefined) return 0;
    await this.#store.insert(records);
    await writeSpoolCursor(this.#dir, this.#name, next);
    if (this.#prune && next.segment !== this.#cursor?.segment) {
      await pruneSpoolSegments(this.#dir, next);
    }
    this.#cursor = next;
    this.#shipped += records.length;
    return records.length;
  }

  /** Ships until caught up; rejects on the first failure. Resolves with the records shipped. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.shipOnce();
      total += n;
      if (n === 0) return total;
    }
  }

  /** Starts shipping in the background (no-op when running). */
  start(): void {
    if (this.#running !== undefined) return;
    this.#stopping = false;
    this.#running = this.#loop();
  }

  /** Asks a sleeping background loop to look for new records now. */
  notify(): void {
    if (this.#polling) this.#wake?.();
  }

  /** Stops the background loop after the batch in progress. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#running;
    this.#running = undefined;
  }

  async #loop(): Promise<void> {
    let delay = this.#initialDelay;
    while (!this.#stopping) {
      try {
        const n = await this.shipOnce();
        this.#consecutive = 0;
        delay = this.#initialDelay;
        if (n === 0) await this.#sleep(this.#pollMs, true);
      } catch (error) {
        this.#failures += 1;
        this.#consecutive += 1;
        this.#lastError = error instanceof AuditError ? error.code : String(error);
        this.#onError?.(error);
        await this.#sleep(delay, false);
        delay = Math.min(delay * 2, this.#maxDelay);
      }
    }
  }

  // A poll sleep ends early on notify(); a backoff sleep only on stop().
  #sleep(ms: number, poll: boolean): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.#polling = poll;
      this.#wake = () => {
        clearTimeout(this.#timer);
        this.#wake = undefined;
        this.#polling = false;
        resolve();
      };
      this.#timer = setTimeout(() => this.#wake?.(), ms);
    });
  }
}
