/**
 * Group commit: appended lines are queued and written as batches, one batch at a time and in
 * append order, so that many concurrent writers share one `fdatasync`; each append is acknowledged
 * only once its batch is durable. A batch starts in the event loop's check phase (`setImmediate`),
 * so every line produced by the I/O callbacks of one poll phase joins it; `commitDelayMs` can hold
 * it a little longer while writers are concurrent.
 */
import { AuditError, SpoolWriteError } from '../errors.js';
import type { SpoolSettings } from './options.js';
import type { SpoolPosition } from './segments.js';

/** An appended line waiting for its batch, with the callbacks that settle its append. */
export interface PendingLine {
  readonly line: Buffer;
  readonly resolve: (position: SpoolPosition) => void;
  readonly reject: (error: Error) => void;
}

/** Where batches go: writes and syncs one batch at a time. */
export interface BatchWriter {
  /** Resolves with the position of each line of `batch` once all of it is durable. */
  writeBatch(batch: readonly PendingLine[]): Promise<SpoolPosition[]>;
}

/**
 * Queues appended lines and hands them to a {@link BatchWriter} in batches of at most
 * `maxBatchBytes` (a single larger line forms a batch of its own). Records appended while a batch
 * is being written and synced form the next batch.
 */
export class GroupCommit {
  readonly #writer: BatchWriter;
  readonly #maxBatchBytes: number;
  readonly #commitDelayMs: number;
  #queue: PendingLine[] = [];
  #queuedBytes = 0;
  #lastBatchSize = 0;
  #flushing = false;
  #scheduled = false;
  #delayTimer: NodeJS.Timeout | undefined;
  #closed = false;
  // Resolves close() once the queue is empty and no batch is being written or scheduled.
  #idle: (() => void) | undefined;

  constructor(settings: SpoolSettings, writer: BatchWriter) {
    this.#writer = writer;
    this.#maxBatchBytes = settings.maxBatchBytes;
    this.#commitDelayMs = settings.commitDelayMs;
  }

  /** Lines appended but not yet durable (nor refused). */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Queues `line` and resolves with its position once the batch holding it is durable. Rejects
   * with {@link SpoolWriteError} when that batch's write or sync fails, and with `spool_closed`
   * after {@link GroupCommit.close}.
   */
  append(line: Buffer): Promise<SpoolPosition> {
    if (this.#closed)
      return Promise.reject(new AuditError('spool_closed', 'audit spool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ line, resolve, reject });
      this.#queuedBytes += line.length;
      if (this.#delayTimer !== undefined && this.#queuedBytes >= this.#maxBatchBytes) {
        this.#startNow(); // a full batch does not wait for the commit delay
      } else {
        this.#schedule();
      }
    });
  }

  /**
   * Refuses appends from here on and resolves once every line appended before is written and
   * synced (or refused). A batch held by the commit delay starts at once.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#flushing || this.#scheduled || this.#queue.length > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        if (this.#delayTimer !== undefined)
          this.#startNow(); // closing does not wait for the delay
        else if (!this.#flushing && !this.#scheduled) void this.#flush();
      });
    }
  }

  // Starts the next batch once the event loop's current phase is done (so that every record the
  // phase's callbacks produce joins it), or after the commit delay while writers are concurrent.
  #schedule(): void {
    if (this.#flushing || this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    if (this.#commitDelayMs > 0 && this.#lastBatchSize > 1 && !this.#closed) {
      this.#delayTimer = setTimeout(this.#onScheduled, this.#commitDelayMs);
    } else {
      setImmediate(this.#onScheduled);
    }
  }

  #startNow(): void {
    clearTimeout(this.#delayTimer);
    this.#delayTimer = undefined;
    setImmediate(this.#onScheduled);
  }

  // One callback for every timer and immediate: scheduling a batch allocates no closure.
  readonly #onScheduled = (): void => {
    if (!this.#scheduled) return;
    this.#scheduled = false;
    clearTimeout(this.#delayTimer);
    this.#delayTimer = undefined;
    void this.#flush();
  };

  // Writes and syncs one batch, then schedules the next one (records appended meanwhile): one
  // batch at a time, in append order.
  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      if (this.#queue.length > 0) {
        const batch = this.#takeBatch();
        this.#lastBatchSize = batch.length;
        try {
          const positions = await this.#writer.writeBatch(batch);
          for (let i = 0; i < batch.length; i += 1) {
            (batch[i] as PendingLine).resolve(positions[i] as SpoolPosition);
          }
        } catch (error) {
          const failure = new SpoolWriteError('audit spool write failed', { cause: error });
          for (const item of batch) item.reject(failure);
        }
      }
    } finally {
      this.#flushing = false;
      if (this.#queue.length > 0) {
        this.#schedule();
      } else if (!this.#scheduled) {
        const idle = this.#idle;
        this.#idle = undefined;
        idle?.();
      }
    }
  }

  #takeBatch(): PendingLine[] {
    let bytes = 0;
    let count = 0;
    for (const item of this.#queue) {
      if (count > 0 && bytes + item.line.length > this.#maxBatchBytes) break;
      bytes += item.line.length;
      count += 1;
    }
    this.#queuedBytes -= bytes;
    if (count === this.#queue.length) {
      const batch = this.#queue;
      this.#queue = [];
      return batch;
    }
    return this.#queue.splice(0, count);
  }
}
