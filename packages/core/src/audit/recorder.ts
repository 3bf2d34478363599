/**
 * The one place that writes a request's audit record before its answer goes out, and decides what
 * a failed write means for that answer. Two notions stay apart: the sink's durability (what a
 * resolved `write` promises, e.g. fsynced for a strict spool) and the recorder's failure policy
 * (whether an answer may leave without its record).
 */
import type { AuditRecord, AuditSink } from './record.js';

/**
 * What a failed audit write does to the answer: `refuse` (default) turns it into 503
 * `audit_unavailable`, so no answer leaves without its record; `answer` lets it go out and only
 * reports the failure.
 */
export type AuditFailurePolicy = 'refuse' | 'answer';

/** Options of {@link AuditRecorder}. */
export interface AuditRecorderOptions {
  readonly sink: AuditSink;
  /** Default `refuse`. */
  readonly onFailure?: AuditFailurePolicy;
  /** Told of every failed write, under both policies (never given a token). */
  readonly onError?: (error: unknown, record: AuditRecord) => void;
}

/**
 * Writes audit records under a failure policy.
 *
 * @example
 * ```ts
 * const recorder = new AuditRecorder({ sink, onFailure: 'refuse' });
 * if (!(await recorder.record(record))) return answer503('audit_unavailable');
 * ```
 */
export class AuditRecorder {
  readonly #sink: AuditSink;
  readonly #refuse: boolean;
  readonly #onError: ((error: unknown, record: AuditRecord) => void) | undefined;

  constructor(options: AuditRecorderOptions) {
    this.#sink = options.sink;
    this.#refuse = (options.onFailure ?? 'refuse') === 'refuse';
    this.#onError = options.onError;
  }

  /** The failure policy in force. */
  get onFailure(): AuditFailurePolicy {
    return this.#refuse ? 'refuse' : 'answer';
  }

  /**
   * Writes `record`. Resolves true when the answer may go out as it is: the record was stored, or
   * the policy is `answer`; false when the write failed and the answer must become 503
   * `audit_unavailable`.
   */
  async record(record: AuditRecord): Promise<boolean> {
    try {
      await this.#sink.write(record);
      return true;
    } catch (error) {
      this.#onError?.(error, record);
      return !this.#refuse;
    }
  }
}
