/**
 * The spool writer: an append-only, checksummed, line-delimited JSON file set with group commit.
 * Records appended while a sync is running are written and synced together in the next batch, so
 * many concurrent writers share one `fdatasync`. `append` resolves only once its batch is durable.
 * This module is the public face of the writer; it puts together the group commit
 * (`group-commit.ts`), the segment writer with its repair and rotation (`segment-writer.ts`), the
 * preallocation kept ahead of it (`preallocation.ts`) and the recovery run on open (`recovery.ts`).
 */
import { mkdirSync } from 'node:fs';
import type { AuditRecord } from '@mcp-iam/core';
import { AuditError } from '../errors.js';
import { encodeSpoolJson } from './format.js';
import { GroupCommit } from './group-commit.js';
import { acquireSpoolLock } from './lock.js';
import { resolveSpoolSettings, type SpoolOptions, type SpoolSettings } from './options.js';
import { Preallocator } from './preallocation.js';
import { openLiveSegment, type RecoveredSegment, type SpoolRecovery } from './recovery.js';
import { SegmentWriter } from './segment-writer.js';
import type { SpoolPosition } from './segments.js';

export type { SpoolOptions } from './options.js';
export { NEXT_SEGMENT_FILE } from './preallocation.js';
export type { SpoolRecovery } from './recovery.js';

const EMPTY = Buffer.alloc(0);

/**
 * Single-writer append-only spool with group commit, size-based rotation and crash recovery.
 *
 * On open it takes the directory's lock, scans the last segment and cuts it at the first torn or
 * damaged line, then continues appending there. After a failed write or sync, the next batch first
 * cuts what the failed batch left, so a failure never leaves half a batch behind; when it left
 * complete lines (which a reader in another process may have read), the segment is sealed at the
 * last durable offset and appending continues in a new segment, so acknowledged records are never
 * written at offsets such a reader has already passed.
 * With `preallocateBytes`, segments are zero-filled ahead of the writer; a zero byte where a line
 * should start is the end of the data, and a cut is zero-filled back instead of truncated when the
 * zero tail follows it.
 *
 * @example
 * ```ts
 * const spool = await Spool.open({ dir: './data/audit' });
 * await spool.append(record); // durable once this resolves
 * await spool.close();
 * ```
 */
export class Spool {
  readonly #dir: string;
  readonly #maxRecordBytes: number;
  readonly #recovery: SpoolRecovery;
  readonly #releaseLock: () => void;
  readonly #preallocator: Preallocator;
  readonly #segmentWriter: SegmentWriter;
  readonly #groupCommit: GroupCommit;
  #closing: Promise<void> | undefined;

  private constructor(settings: SpoolSettings, live: RecoveredSegment, releaseLock: () => void) {
    this.#dir = settings.dir;
    this.#maxRecordBytes = settings.maxRecordBytes;
    this.#recovery = live.recovery;
    this.#releaseLock = releaseLock;
    this.#preallocator = new Preallocator(settings, live.segment, live.allocated);
    this.#segmentWriter = new SegmentWriter(settings, live, this.#preallocator);
    this.#groupCommit = new GroupCommit(settings, this.#segmentWriter);
  }

  /**
   * Opens (or creates) the spool in `options.dir`, taking its lock and recovering the last segment.
   * Throws {@link SpoolLockedError} when another live process holds the lock.
   */
  static async open(options: SpoolOptions): Promise<Spool> {
    const settings = resolveSpoolSettings(options);
    mkdirSync(settings.dir, { recursive: true });
    const release = acquireSpoolLock(settings.dir);
    let spool: Spool;
    try {
      spool = new Spool(settings, await openLiveSegment(settings), release);
    } catch (error) {
      release();
      throw error;
    }
    // Zero-filling starts in the background after the first batch (open leaves the files as
    // recovery left them).
    return spool;
  }

  /** The spool directory. */
  get dir(): string {
    return this.#dir;
  }

  /** What recovery found on open. */
  get recovery(): SpoolRecovery {
    return this.#recovery;
  }

  /** End of the durable data: readers in this process may read up to here. */
  get durablePosition(): SpoolPosition {
    return this.#segmentWriter.durablePosition;
  }

  /** Records appended but not yet durable. */
  get pending(): number {
    return this.#groupCommit.pending;
  }

  /**
   * Appends a record and resolves with its position once the batch holding it is durable. Rejects
   * with {@link SpoolWriteError} when the write or sync fails (the record is then not in the spool),
   * with code `record_too_large` when it exceeds `maxRecordBytes`, and `spool_closed` after close.
   * The record is stored as given: validate and sanitize it first (the sink does).
   */
  append(record: AuditRecord): Promise<SpoolPosition> {
    let line: Buffer;
    try {
      line = this.encode(record);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.appendEncoded(line);
  }

  /**
   * Encodes a record as a spool line, throwing {@link AuditError} `record_too_large` (or
   * `record_invalid` when it cannot be serialized). Lets a queue check a record before accepting it.
   */
  encode(record: AuditRecord): Buffer {
    let json: string;
    try {
      json = JSON.stringify(record);
    } catch (error) {
      throw new AuditError('record_invalid', 'record is not serializable', { cause: error });
    }
    return this.encodeJson(json);
  }

  /**
   * Encodes a record's JSON text (`JSON.stringify` of the record) as a spool line, throwing
   * {@link AuditError} `record_too_large` as {@link Spool.encode} does, and `record_invalid` for
   * text that is not a JSON object on one line (a reader would take its line for damage).
   */
  encodeJson(json: string): Buffer {
    if (typeof json !== 'string' || json[0] !== '{' || json.includes('\n')) {
      throw new AuditError('record_invalid', 'record is not a JSON object on one line');
    }
    const line = encodeSpoolJson(json);
    if (line.length > this.#maxRecordBytes) {
      throw new AuditError(
        'record_too_large',
        `record of ${line.length} bytes exceeds the spool limit`,
      );
    }
    return line;
  }

  /** Appends a line made by {@link Spool.encode}; resolves as {@link Spool.append} does. */
  appendEncoded(line: Buffer): Promise<SpoolPosition> {
    return this.#groupCommit.append(line);
  }

  /**
   * Resolves once everything appended before the call is durable. After a failed write it also
   * repairs the segment (cut back to the last durable offset), so it doubles as a health probe.
   */
  async sync(): Promise<void> {
    await this.appendEncoded(EMPTY);
  }

  /** Waits for pending appends, then closes the segment and releases the lock. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // No zero-fill starts once closing begins: the batches still to come are the last ones.
    this.#preallocator.stop();
    await this.#groupCommit.close();
    try {
      await this.#segmentWriter.close();
    } finally {
      this.#releaseLock();
    }
  }
}
