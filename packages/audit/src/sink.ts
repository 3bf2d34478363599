/**
 * The audit sink the gateway and protected servers write to: a spool (optionally shipped to a
 * store) behind one of three modes, with counters and a health flag so that no loss is ever silent.
 *
 * - `strict`: `write` resolves only once the record is durable in the spool; it rejects when the
 *   record cannot be made durable (the caller answers 503).
 * - `buffered`: `write` resolves once the record is accepted into a bounded in-memory queue; the
 *   queue is appended to the spool with group commit and retried with backoff while the disk fails.
 *   It rejects only when the queue is full. Accepted records can be lost only if the process dies
 *   before their batch is synced (one group-commit window) or the sink is closed while the spool
 *   still fails (counted as dropped).
 * - `best-effort`: `write` never blocks and never rejects; a record that cannot be queued or
 *   written is dropped and counted.
 */
import { performance } from 'node:perf_hooks';
import type { AuditRecord, AuditSink } from '@mcp-iam/core';
import { AuditError } from './errors.js';
import { prepareAuditJson } from './sanitize.js';
import { AuditShipper, type AuditShipperOptions, type RetryOptions } from './shipper.js';
import { Spool, type SpoolOptions } from './spool/spool.js';
import type { AuditStore } from './store/store.js';

/** How a sink trades latency for durability; see the module comment. */
export type AuditMode = 'strict' | 'buffered' | 'best-effort';

/** Options of {@link createAuditSink}. */
export interface AuditSinkOptions {
  /** Default `strict`. */
  readonly mode?: AuditMode;
  /** The local spool (`dir` is required). */
  readonly spool: SpoolOptions;
  /** When given, a shipper drains the spool into this store in the background. */
  readonly store?: AuditStore;
  /** Shipper tuning (cursor name, batch size, poll interval, retry). */
  readonly shipper?: Omit<AuditShipperOptions, 'spool' | 'store'>;
  /**
   * Most records accepted but not yet durable (strict: writes in flight). Beyond it, strict and
   * buffered writes reject with code `queue_full`, best-effort writes are dropped. Default 10 000.
   */
  readonly maxQueue?: number;
  /**
   * Strict mode: reject a write that is not durable after this many ms (code `write_timeout`), so a
   * hanging disk turns into 503s instead of hanging requests. The record may still become durable
   * later (a record for a refused request can exist; an acknowledged one is never missing).
   * Default 10 000; 0 disables.
   */
  readonly writeTimeoutMs?: number;
  /** Backoff of buffered-mode spool retries. Default 50 ms doubling to 5 000 ms. */
  readonly retry?: RetryOptions;
  /** How long a drop keeps health `degraded` with reason `records_dropped`. Default 60 000 ms. */
  readonly dropWindowMs?: number;
  /** Close the store when the sink closes. Default `true`. */
  readonly closeStore?: boolean;
}

/** Sink counters (monotonic except `queueDepth`). */
export interface AuditSinkCounters {
  /** Records made durable in the spool. */
  readonly written: number;
  /** Writes rejected to the caller (the caller knows the record is not stored). */
  readonly failed: number;
  /** Records lost without the caller being told (best-effort drops; buffered loss at close). */
  readonly dropped: number;
  /** Token-shaped values replaced at the sink boundary. */
  readonly redacted: number;
  /** Records accepted but not yet durable. */
  readonly queueDepth: number;
  /** Records committed to the store by the shipper. */
  readonly shipped: number;
  /** Failed shipper batch attempts. */
  readonly shipFailures: number;
}

/** Why a sink is degraded. */
export type AuditHealthReason =
  | 'spool_write_failing'
  | 'queue_high'
  | 'queue_full'
  | 'records_dropped'
  | 'ship_failing'
  | 'closed';

/** Health of a sink. */
export interface AuditSinkHealth {
  /** `ok` when no reason applies. */
  readonly status: 'ok' | 'degraded';
  /**
   * Whether writes currently succeed as the mode promises: `false` in strict mode while the spool
   * fails or the queue is full, in buffered mode while the queue is full, in any mode once closed.
   * The gateway's /readyz reports not ready when this is `false`.
   */
  readonly ready: boolean;
  readonly reasons: readonly AuditHealthReason[];
  /** Code of the last write or ship error. */
  readonly lastError: string | undefined;
}

/** An {@link AuditSink} with its mode, counters and health. */
export interface ManagedAuditSink extends AuditSink {
  readonly mode: AuditMode;
  /** The underlying spool (for in-process readers). */
  readonly spool: Spool;
  /** The background shipper, when a store was given. */
  readonly shipper: AuditShipper | undefined;
  counters(): AuditSinkCounters;
  health(): AuditSinkHealth;
  /** Flushes (buffered), stops the shipper, closes the spool and (by default) the store. */
  close(): Promise<void>;
}

/**
 * Opens the spool and returns a sink in the given mode.
 *
 * @example
 * ```ts
 * const sink = await createAuditSink({ mode: 'strict', spool: { dir: './data/audit' } });
 * try { await sink.write(record) } catch { return respond(503, 'audit_unavailable') }
 * sink.counters().written; sink.health().ready;
 * ```
 */
export async function createAuditSink(options: AuditSinkOptions): Promise<ManagedAuditSink> {
  const mode = options.mode ?? 'strict';
  if (mode !== 'strict' && mode !== 'buffered' && mode !== 'best-effort') {
    throw new AuditError('invalid_argument', `unknown audit mode ${JSON.stringify(mode)}`);
  }
  const spool = await Spool.open(options.spool);
  return new SpoolAuditSink(mode, spool, options);
}

const PROBE_INTERVAL_MS = 1000;
const PUMP_BATCH = 4096;

/** A strict write waiting to be durable, and the time it is refused with write_timeout. */
interface StrictWaiter {
  deadline: number;
  readonly reject: (error: AuditError) => void;
  settled: boolean;
}

class SpoolAuditSink implements ManagedAuditSink {
  readonly mode: AuditMode;
  readonly spool: Spool;
  readonly shipper: AuditShipper | undefined;
  readonly #store: AuditStore | undefined;
  readonly #closeStore: boolean;
  readonly #maxQueue: number;
  readonly #initialDelay: number;
  readonly #maxDelay: number;
  readonly #dropWindowMs: number;
  readonly #writeTimeoutMs: number;
  #written = 0;
  #failed = 0;
  #dropped = 0;
  #redacted = 0;
  #inFlight = 0;
  #queue: Buffer[] = [];
  #pumping: Promise<void> | undefined;
  #spoolFailing = false;
  #lastError: string | undefined;
  #lastDropAt = Number.NEGATIVE_INFINITY;
  #closing = false;
  #probe: NodeJS.Timeout | undefined;
  #retryTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  #waiters: StrictWaiter[] = [];
  #waitersHead = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;

  constructor(mode: AuditMode, spool: Spool, options: AuditSinkOptions) {
    this.mode = mode;
    this.spool = spool;
    this.#store = options.store;
    this.#closeStore = options.closeStore ?? true;
    this.#maxQueue = options.maxQueue ?? 10_000;
    this.#initialDelay = options.retry?.initialDelayMs ?? 50;
    this.#maxDelay = options.retry?.maxDelayMs ?? 5000;
    this.#dropWindowMs = options.dropWindowMs ?? 60_000;
    this.#writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
    if (options.store !== undefined) {
      this.shipper = new AuditShipper({ ...options.shipper, spool, store: options.store });
      this.shipper.start();
    }
  }

  write(record: AuditRecord): Promise<void> {
    if (this.mode === 'strict') return this.#writeStrict(record);
    if (this.mode === 'buffered') return this.#writeBuffered(record);
    this.#writeBestEffort(record);
    return Promise.resolve();
  }

  counters(): AuditSinkCounters {
    const ship = this.shipper?.stats();
    return {
      written: this.#written,
      failed: this.#failed,
      dropped: this.#dropped,
      redacted: this.#redacted,
      queueDepth: this.#depth(),
      shipped: ship?.shipped ?? 0,
      shipFailures: ship?.failures ?? 0,
    };
  }

  health(): AuditSinkHealth {
    const reasons: AuditHealthReason[] = [];
    const depth = this.#depth();
    if (this.#closing) reasons.push('closed');
    if (this.#spoolFailing) reasons.push('spool_write_failing');
    if (depth >= this.#maxQueue) reasons.push('queue_full');
    else if (depth >= this.#maxQueue * 0.8) reasons.push('queue_high');
    if (Date.now() - this.#lastDropAt < this.#dropWindowMs) reasons.push('records_dropped');
    const ship = this.shipper?.stats();
    if (ship !== undefined && ship.consecutiveFailures > 0) reasons.push('ship_failing');
    let ready = !this.#closing;
    if (this.mode === 'strict') ready &&= !this.#spoolFailing && depth < this.#maxQueue;
    if (this.mode === 'buffered') ready &&= depth < this.#maxQueue;
    return {
      status: reasons.length === 0 ? 'ok' : 'degraded',
      ready,
      reasons,
      lastError: this.#lastError ?? ship?.lastError,
    };
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#probe);
    if (this.#retryTimer !== undefined) {
      clearTimeout(this.#retryTimer.timer);
      this.#retryTimer.resolve();
    }
    await this.#pumping;
    try {
      await this.shipper?.stop();
      await this.spool.close();
    } finally {
      if (this.#closeStore) await this.#store?.close();
    }
  }

  #depth(): number {
    return this.#inFlight + this.#queue.length;
  }

  #prepare(record: AuditRecord): Buffer {
    const prepared = prepareAuditJson(record);
    this.#redacted += prepared.redactions;
    return this.spool.encodeJson(prepared.json);
  }

  #fail(error: unknown): AuditError {
    this.#failed += 1;
    const failure =
      error instanceof AuditError
        ? error
        : new AuditError('spool_write_failed', 'audit write failed', { cause: error });
    this.#lastError = failure.code;
    return failure;
  }

  #drop(count: number, error?: unknown): void {
    this.#dropped += count;
    this.#lastDropAt = Date.now();
    if (error instanceof AuditError) this.#lastError = error.code;
  }

  #writeStrict(record: AuditRecord): Promise<void> {
    let line: Buffer;
    try {
      if (this.#closing) throw new AuditError('spool_closed', 'audit sink is closed');
      line = this.#prepare(record);
      if (this.#inFlight >= this.#maxQueue) {
        throw new AuditError('queue_full', 'too many audit writes in flight');
      }
    } catch (error) {
      return Promise.reject(this.#fail(error));
    }
    this.#inFlight += 1;
    const append = this.spool.appendEncoded(line);
    return new Promise<void>((resolve, reject) => {
      const waiter: StrictWaiter = { deadline: 0, reject, settled: false };
      if (this.#writeTimeoutMs > 0) this.#watch(waiter);
      append.then(
        () => {
          if (waiter.settled) return; // already refused with write_timeout
          this.#settle(waiter);
          this.#written += 1;
          this.#spoolFailing = false;
          this.shipper?.notify();
          resolve();
        },
        (error: unknown) => {
          if (waiter.settled) return;
          this.#settle(waiter);
          reject(this.#strictFailure(error));
        },
      );
    });
  }

  #strictFailure(error: unknown): AuditError {
    this.#spoolFailing = true;
    this.#startProbe();
    return this.#fail(error);
  }

  // Strict write timeouts: every write has the same timeout, so deadlines come in append order and
  // one timer, armed for the oldest pending write, serves them all (rather than a timer per write).
  #watch(waiter: StrictWaiter): void {
    waiter.deadline = performance.now() + this.#writeTimeoutMs;
    this.#waiters.push(waiter);
    this.#deadlineTimer ??= setTimeout(this.#onDeadline, this.#writeTimeoutMs);
  }

  #settle(waiter: StrictWaiter): void {
    waiter.settled = true;
    this.#inFlight -= 1;
    if (waiter.deadline === 0) return; // not watched (no timeout)
    const waiters = this.#waiters;
    while (
      this.#waitersHead < waiters.length &&
      (waiters[this.#waitersHead] as StrictWaiter).settled
    ) {
      this.#waitersHead += 1;
    }
    if (this.#waitersHead === waiters.length) {
      this.#waiters = [];
      this.#waitersHead = 0;
      clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
    } else if (this.#waitersHead > 1024 && this.#waitersHead * 2 > waiters.length) {
      this.#waiters = waiters.slice(this.#waitersHead);
      this.#waitersHead = 0;
    }
  }

  readonly #onDeadline = (): void => {
    this.#deadlineTimer = undefined;
    const now = performance.now();
    for (;;) {
      const head = this.#waiters[this.#waitersHead];
      if (head === undefined) break;
      if (!head.settled) {
        if (head.deadline > now) {
          this.#deadlineTimer = setTimeout(this.#onDeadline, Math.ceil(head.deadline - now));
          return;
        }
        this.#settle(head); // a late success or failure of this append is ignored
        head.reject(
          this.#strictFailure(new AuditError('write_timeout', 'audit spool did not sync in time')),
        );
        continue; // #settle moved the head past it
      }
      this.#waitersHead += 1;
    }
    this.#waiters = [];
    this.#waitersHead = 0;
  };

  async #writeBuffered(record: AuditRecord): Promise<void> {
    let line: Buffer;
    try {
      if (this.#closing) throw new AuditError('spool_closed', 'audit sink is closed');
      line = this.#prepare(record);
      if (this.#depth() >= this.#maxQueue) {
        throw new AuditError('queue_full', 'audit queue is full');
      }
    } catch (error) {
      throw this.#fail(error);
    }
    this.#enqueue(line);
  }

  #writeBestEffort(record: AuditRecord): void {
    try {
      if (this.#closing) throw new AuditError('spool_closed', 'audit sink is closed');
      const line = this.#prepare(record);
      if (this.#depth() >= this.#maxQueue)
        throw new AuditError('queue_full', 'audit queue is full');
      this.#enqueue(line);
    } catch (error) {
      this.#drop(1, error);
    }
  }

  #enqueue(line: Buffer): void {
    this.#queue.push(line);
    this.#pumping ??= this.#pump().finally(() => {
      this.#pumping = undefined;
    });
  }

  // Moves queued lines into the spool. Failed lines go back to the head of the queue and are
  // retried with backoff (buffered), or are dropped and counted (best-effort, or while closing).
  async #pump(): Promise<void> {
    let delay = this.#initialDelay;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, PUMP_BATCH);
      this.#inFlight += batch.length;
      const results = await Promise.allSettled(batch.map((line) => this.spool.appendEncoded(line)));
      this.#inFlight -= batch.length;
      const failed: Buffer[] = [];
      let error: unknown;
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') this.#written += 1;
        else {
          failed.push(batch[i] as Buffer);
          error = result.reason;
        }
      });
      if (failed.length === 0) {
        this.#spoolFailing = false;
        delay = this.#initialDelay;
        this.shipper?.notify();
        continue;
      }
      this.#spoolFailing = true;
      this.#lastError = error instanceof AuditError ? error.code : 'spool_write_failed';
      if (this.mode === 'best-effort' || this.#closing) {
        this.#drop(failed.length, error);
        continue;
      }
      this.#queue.unshift(...failed);
      await new Promise<void>((resolve) => {
        this.#retryTimer = { timer: setTimeout(resolve, delay), resolve };
      });
      this.#retryTimer = undefined;
      delay = Math.min(delay * 2, this.#maxDelay);
    }
  }

  // In strict mode nothing else retries the spool; a timer probes it (and repairs the segment) so
  // readiness comes back on its own once the disk does.
  #startProbe(): void {
    if (this.#probe !== undefined || this.#closing) return;
    this.#probe = setInterval(() => {
      this.spool.sync().then(
        () => {
          this.#spoolFailing = false;
          clearInterval(this.#probe);
          this.#probe = undefined;
        },
        () => undefined,
      );
    }, PROBE_INTERVAL_MS);
    this.#probe.unref();
  }
}
