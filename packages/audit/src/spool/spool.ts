/**
 * The spool writer: an append-only, checksummed, line-delimited JSON file set with group commit.
 * Records appended while a sync is running are written and synced together in the next batch, so
 * many concurrent writers share one `fdatasync`. `append` resolves only once its batch is durable.
 * A batch starts in the event loop's check phase (`setImmediate`), so every record produced by the
 * I/O callbacks of one poll phase joins it; `commitDelayMs` can hold it a little longer under load.
 */
import { mkdirSync, statSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditRecord } from '@mcp-iam/core';
import { AuditError, SpoolWriteError } from '../errors.js';
import { encodeSpoolJson } from './format.js';
import { nodeSpoolFileSystem, type SpoolFileSystem } from './file-system.js';
import { acquireSpoolLock } from './lock.js';
import {
  listSpoolSegments,
  nonZeroEnd,
  readSegmentLines,
  segmentPath,
  type SpoolPosition,
} from './segments.js';

/** Options of {@link Spool.open}. */
export interface SpoolOptions {
  /** Spool directory; created if missing. One writer per directory. */
  readonly dir: string;
  /** A new segment starts once the current one would exceed this size. Default 64 MiB. */
  readonly maxSegmentBytes?: number;
  /** Largest encoded record accepted. Default 256 KiB. */
  readonly maxRecordBytes?: number;
  /** Most bytes written and synced as one batch. Default 4 MiB. */
  readonly maxBatchBytes?: number;
  /**
   * Sync each batch with `fdatasync` before acknowledging it. Default `true`. `false` gives up
   * durability and exists only to measure the cost of syncing.
   */
  readonly sync?: boolean;
  /**
   * Group-commit delay in ms, in the spirit of PostgreSQL's `commit_delay`: while writers are
   * concurrent (the previous batch held more than one record), a batch waits this long before it
   * is written, so that more records share one `fdatasync` (less CPU per record, more latency per
   * acknowledgement). A lone writer is never held. Records are still acknowledged only once
   * durable. Default 0 (a batch starts as soon as the event loop's current phase is done); at most
   * 100.
   */
  readonly commitDelayMs?: number;
  /**
   * Zero-filled, synced space kept ahead of the writer, in bytes: the current segment is filled
   * with zeros this far past its last record (in the background, 1 MiB per sync), and the next
   * segment is prepared the same way before it is needed, so that a batch overwrites blocks that
   * are already allocated and durable and its `fdatasync` has no file size or extent metadata to
   * commit (about half the sync cost on ext4). The end of a segment's data is then the end of its
   * last valid line, not the file size. Costs up to twice this much disk space beyond the records
   * (trimmed from a segment when it is sealed and on close). Default 16 MiB, at most
   * `maxSegmentBytes`; 0 disables it (a segment ends at its last record, as before). Needs a
   * `fileSystem` with `zeroFill` (the default has it).
   */
  readonly preallocateBytes?: number;
  /** File operations; default the real file system. Tests pass a fault-injecting wrapper. */
  readonly fileSystem?: SpoolFileSystem;
}

/** Name of the zero-filled file prepared to become the next segment (renamed at rotation). */
export const NEXT_SEGMENT_FILE = 'segment-next.prealloc';

const DEFAULT_PREALLOCATE_BYTES = 16 * 1024 * 1024;
/** After a failed zero-fill, preallocation waits this long before trying again. */
const PREALLOCATE_RETRY_MS = 1000;

/** What recovery found when the spool was opened. */
export interface SpoolRecovery {
  /** Segment that was scanned (the last one). */
  readonly segment: number;
  /** Valid records found in it. */
  readonly records: number;
  /**
   * Bytes cut from its tail (a torn or damaged last write), or zero-filled back when a
   * preallocated zero tail follows them; 0 after a clean shutdown.
   */
  readonly truncatedBytes: number;
}

const EMPTY = Buffer.alloc(0);
const ignore = (): void => undefined;

function preallocationBytes(options: SpoolOptions, fs: SpoolFileSystem): number {
  if (fs.zeroFill === undefined) return 0;
  const max = options.maxSegmentBytes ?? 64 * 1024 * 1024;
  const wanted = Number(options.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES);
  return Number.isSafeInteger(wanted) && wanted > 0 ? Math.min(wanted, max) : 0;
}

interface Pending {
  readonly line: Buffer;
  readonly resolve: (position: SpoolPosition) => void;
  readonly reject: (error: Error) => void;
}

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
  readonly #fs: SpoolFileSystem;
  readonly #maxSegmentBytes: number;
  readonly #maxRecordBytes: number;
  readonly #maxBatchBytes: number;
  readonly #sync: boolean;
  readonly #commitDelayMs: number;
  readonly #preallocate: number;
  readonly #releaseLock: () => void;
  readonly #recovery: SpoolRecovery;
  #segment: number;
  #fd: number;
  #durable: number;
  // Preallocation (when #preallocate > 0): [#durable, #allocated) of the live segment holds durable
  // zeros; a failed write may have left bytes in [#durable, #dirtyEnd). One background zero-fill
  // at a time: of [#fillFrom, …) in the live segment, or of the prepared next segment (#fillFrom
  // is then Infinity); batches never write into a range being filled.
  #allocated: number;
  #dirtyEnd: number;
  #background: Promise<void> | undefined;
  #fillFrom = Number.POSITIVE_INFINITY;
  #next: { readonly fd: number; readonly size: number } | undefined;
  #preallocateAfter = 0;
  #retiring: Promise<void> = Promise.resolve();
  #queue: Pending[] = [];
  #queuedBytes = 0;
  #lastBatchSize = 0;
  #flushing = false;
  #scheduled = false;
  #delayTimer: NodeJS.Timeout | undefined;
  #needsRepair = false;
  // A segment sealed after a failed batch whose refused lines are still to be cut from its end.
  #sealing: { readonly segment: number; readonly end: number } | undefined;
  #dirSyncPending = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  private constructor(
    options: SpoolOptions,
    state: {
      segment: number;
      fd: number;
      offset: number;
      allocated: number;
      recovery: SpoolRecovery;
    },
    releaseLock: () => void,
  ) {
    this.#dir = options.dir;
    this.#fs = options.fileSystem ?? nodeSpoolFileSystem;
    this.#maxSegmentBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
    this.#maxRecordBytes = options.maxRecordBytes ?? 256 * 1024;
    this.#maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.#sync = options.sync ?? true;
    this.#commitDelayMs = Math.min(Math.max(Number(options.commitDelayMs ?? 0) || 0, 0), 100);
    this.#preallocate = preallocationBytes(options, this.#fs);
    this.#segment = state.segment;
    this.#fd = state.fd;
    this.#durable = state.offset;
    this.#allocated = state.allocated;
    this.#dirtyEnd = state.offset;
    this.#recovery = state.recovery;
    this.#releaseLock = releaseLock;
  }

  /**
   * Opens (or creates) the spool in `options.dir`, taking its lock and recovering the last segment.
   * Throws {@link SpoolLockedError} when another live process holds the lock.
   */
  static async open(options: SpoolOptions): Promise<Spool> {
    const fs = options.fileSystem ?? nodeSpoolFileSystem;
    mkdirSync(options.dir, { recursive: true });
    const release = acquireSpoolLock(options.dir);
    let spool: Spool;
    try {
      // A next segment prepared before a crash holds only zeros: start a fresh one when needed.
      await rm(join(options.dir, NEXT_SEGMENT_FILE), { force: true });
      const segments = await listSpoolSegments(options.dir);
      const last = segments.at(-1);
      if (last === undefined) {
        const fd = await fs.open(segmentPath(options.dir, 1), 'wx+');
        await fs.syncDirectory(options.dir);
        const recovery = { segment: 1, records: 0, truncatedBytes: 0 };
        spool = new Spool(options, { segment: 1, fd, offset: 0, allocated: 0, recovery }, release);
      } else {
        spool = await Spool.#recover(options, fs, last, release);
      }
    } catch (error) {
      release();
      throw error;
    }
    // Zero-filling starts in the background after the first batch (open leaves the files as
    // recovery left them).
    return spool;
  }

  // Scans the last segment: its data ends at the last valid line. What follows must be zeros (a
  // preallocated tail, kept) or nothing; anything else is a torn or damaged write, cut off: zero-
  // filled back when zeros follow it, truncated when it reaches the end of the file (or when
  // preallocation is off, which also drops a zero tail).
  static async #recover(
    options: SpoolOptions,
    fs: SpoolFileSystem,
    last: number,
    release: () => void,
  ): Promise<Spool> {
    const path = segmentPath(options.dir, last);
    let offset = 0;
    let records = 0;
    for (;;) {
      const read = await readSegmentLines(path, offset, { maxRecords: 10_000 });
      records += read.lines.length;
      offset = read.end;
      if (read.stop !== 'limit') break;
    }
    const size = statSync(path).size;
    const fd = await fs.open(path, 'r+');
    let allocated = size;
    let truncatedBytes = 0;
    try {
      if (size > offset) {
        const dirtyEnd = await nonZeroEnd(path, offset);
        const preallocating = preallocationBytes(options, fs) > 0;
        if (dirtyEnd === size || !preallocating) {
          await fs.truncate(fd, offset);
          await fs.datasync(fd);
          truncatedBytes = size - offset;
          allocated = offset;
        } else if (dirtyEnd > offset) {
          await (fs.zeroFill as NonNullable<SpoolFileSystem['zeroFill']>)(
            fd,
            offset,
            dirtyEnd - offset,
          );
          truncatedBytes = dirtyEnd - offset;
        }
      }
    } catch (error) {
      await fs.close(fd).catch(ignore);
      throw error;
    }
    const recovery = { segment: last, records, truncatedBytes };
    return new Spool(options, { segment: last, fd, offset, allocated, recovery }, release);
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
    // While a segment sealed after a failed batch still holds the refused lines, it ends here.
    const sealing = this.#sealing;
    if (sealing !== undefined) return { segment: sealing.segment, offset: sealing.end };
    return { segment: this.#segment, offset: this.#durable };
  }

  /** Records appended but not yet durable. */
  get pending(): number {
    return this.#queue.length;
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

  readonly #onScheduled = (): void => {
    if (!this.#scheduled) return;
    this.#scheduled = false;
    clearTimeout(this.#delayTimer);
    this.#delayTimer = undefined;
    void this.#flush();
  };

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
    this.#closed = true;
    if (this.#flushing || this.#scheduled || this.#queue.length > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        if (this.#delayTimer !== undefined)
          this.#startNow(); // closing does not wait for the delay
        else if (!this.#flushing && !this.#scheduled) void this.#flush();
      });
    }
    try {
      await this.#background;
      // A last failed batch is repaired as the next batch would be (its complete lines may have
      // been read from another process: their offsets are not reused). If that fails too, the
      // segment is left as it is and recovery cuts it on the next open.
      if (this.#needsRepair) {
        await this.#repair().then(() => (this.#needsRepair = false), ignore);
      }
      await this.#retiring;
      if (this.#preallocate > 0) {
        // A closed spool has the plain layout: the segment ends at its last durable record, and no
        // prepared next segment is left behind.
        if (!this.#needsRepair) await this.#fs.truncate(this.#fd, this.#durable).catch(ignore);
        const next = this.#next;
        this.#next = undefined;
        if (next !== undefined) {
          await this.#fs.close(next.fd).catch(ignore);
          await rm(join(this.#dir, NEXT_SEGMENT_FILE), { force: true }).catch(ignore);
        }
      }
      await this.#fs.close(this.#fd);
    } finally {
      this.#releaseLock();
    }
  }

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
          const positions = await this.#writeBatch(batch);
          for (let i = 0; i < batch.length; i += 1) {
            (batch[i] as Pending).resolve(positions[i] as SpoolPosition);
          }
          if (this.#preallocate > 0) this.#preallocateAhead();
        } catch (error) {
          this.#needsRepair = true;
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

  #takeBatch(): Pending[] {
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

  async #writeBatch(batch: Pending[]): Promise<SpoolPosition[]> {
    if (this.#needsRepair) {
      await this.#repair();
      this.#needsRepair = false;
    }
    if (this.#dirSyncPending && this.#sync) {
      await this.#fs.syncDirectory(this.#dir);
      this.#dirSyncPending = false;
    }
    const data =
      batch.length === 1 ? (batch[0] as Pending).line : Buffer.concat(batch.map((b) => b.line));
    if (this.#durable > 0 && this.#durable + data.length > this.#maxSegmentBytes) {
      await this.#rotate();
      if (this.#sync) await this.#fs.syncDirectory(this.#dir);
      this.#dirSyncPending = false;
    }
    const end = this.#durable + data.length;
    if (end > this.#fillFrom) await this.#background; // never write where zeros are being written
    this.#dirtyEnd = end;
    await this.#fs.write(this.#fd, data, this.#durable);
    if (this.#sync) await this.#fs.datasync(this.#fd);
    const positions: SpoolPosition[] = [];
    let offset = this.#durable;
    for (const item of batch) {
      positions.push({ segment: this.#segment, offset });
      offset += item.line.length;
    }
    this.#durable = offset;
    if (offset > this.#allocated) this.#allocated = offset;
    return positions;
  }

  // Removes what a failed write or sync left after the durable data, without ever writing
  // acknowledged records where a reader in another process may already have read refused ones:
  // such a reader cannot know the durable offset and reads every complete, valid line, so if the
  // refused batch left any, the segment is sealed at the durable offset and writing continues in a
  // new segment (a reader past the sealed end moves on to it). Each step is crash-safe:
  // 1. Bytes after the refused batch's complete lines (a torn line: no reader can pass it) are cut:
  //    zero-filled back inside the preallocated tail, truncated otherwise. A crash from here on
  //    leaves the segment ending in complete lines; recovery keeps them and appends after them.
  // 2. When complete lines remain, the next segment is created (or the prepared one renamed) and
  //    the directory synced. A crash from here on: the writer continues in the new segment.
  // 3. Only then are the refused lines cut from the sealed segment (truncate + sync), before
  //    anything is acknowledged in the new one, so an in-process reader never reads them.
  // Without complete lines (nothing a reader can have read), the writer continues in place.
  async #repair(): Promise<void> {
    if (this.#dirtyEnd > this.#durable) {
      const path = segmentPath(this.#dir, this.#segment);
      const lines = (await readSegmentLines(path, this.#durable, { until: this.#dirtyEnd })).end;
      await this.#cutBack(lines);
      if (lines > this.#durable) {
        this.#sealing = { segment: this.#segment, end: this.#durable };
        await this.#rotate();
      }
    }
    const sealing = this.#sealing;
    if (sealing !== undefined) {
      if (this.#sync) await this.#fs.syncDirectory(this.#dir);
      this.#dirSyncPending = false;
      const fd = await this.#fs.open(segmentPath(this.#dir, sealing.segment), 'r+');
      try {
        await this.#fs.truncate(fd, sealing.end);
        if (this.#sync) await this.#fs.datasync(fd);
      } finally {
        await this.#fs.close(fd).catch(ignore);
      }
      this.#sealing = undefined;
    }
  }

  // Cuts [from, #dirtyEnd) of the live segment: zero-filled back inside the preallocated tail
  // (which stays), truncated otherwise.
  async #cutBack(from: number): Promise<void> {
    const zeroFill = this.#fs.zeroFill;
    if (this.#preallocate > 0 && zeroFill !== undefined && this.#dirtyEnd <= this.#allocated) {
      if (this.#dirtyEnd > from) await zeroFill(this.#fd, from, this.#dirtyEnd - from);
    } else {
      await this.#background; // a zero-fill of this segment must not land after the cut
      await this.#fs.truncate(this.#fd, from);
      if (this.#sync) await this.#fs.datasync(this.#fd);
      this.#allocated = from;
    }
    this.#dirtyEnd = from;
  }

  // The previous segment is already durable (every batch is synced before it is acknowledged), so
  // a reader that sees segment N+1 may treat segment N as sealed (after a failed batch, #repair
  // cuts the refused lines from N before anything is acknowledged in N+1). The new segment is the prepared
  // zero-filled file when there is one (renamed), else a new file: 'w+' because a file left by an
  // earlier failed rotation can only be empty (or zero-filled).
  async #rotate(): Promise<void> {
    const next = this.#segment + 1;
    const path = segmentPath(this.#dir, next);
    const prepared = this.#next;
    this.#next = undefined;
    let fd: number | undefined;
    let allocated = 0;
    if (prepared !== undefined) {
      try {
        await rename(join(this.#dir, NEXT_SEGMENT_FILE), path);
        fd = prepared.fd;
        allocated = prepared.size;
      } catch {
        await this.#fs.close(prepared.fd).catch(ignore);
      }
    }
    fd ??= await this.#fs.open(path, 'w+');
    const old = this.#fd;
    const oldEnd = this.#durable;
    this.#fd = fd;
    this.#segment = next;
    this.#durable = 0;
    this.#dirtyEnd = 0;
    this.#allocated = allocated;
    this.#fillFrom = Number.POSITIVE_INFINITY; // a fill still running is on the old segment
    this.#dirSyncPending = true;
    // Off the request path: once no zero-fill uses the old descriptor, trim the sealed segment's
    // unused zero tail (readers also stop at it, so a crash before the trim is harmless) and close.
    const background = this.#background;
    const trim = this.#preallocate > 0;
    this.#retiring = this.#retiring.then(async () => {
      await background;
      if (trim) await this.#fs.truncate(old, oldEnd).catch(ignore);
      await this.#fs.close(old).catch(ignore);
    });
  }

  // Where the live segment should be zero-filled next: from the end of its zero tail up to
  // #preallocate past the data (not beyond the segment size), once that is worth a fill. A
  // background fill of a segment without a zero tail starts a little past the data, so batches
  // go on (appending) meanwhile instead of waiting for it; the gap left is a hole, which reads as
  // zeros like the rest of the tail.
  #fillRange(): [number, number] | undefined {
    if (this.#preallocate === 0) return undefined;
    const gap = this.#allocated <= this.#durable ? this.#preallocate >> 4 : 0;
    const from = Math.max(this.#allocated, this.#durable + gap);
    const to = Math.min(this.#durable + this.#preallocate, this.#maxSegmentBytes);
    if (to <= from) return undefined;
    return to - from >= this.#preallocate / 2 || to === this.#maxSegmentBytes
      ? [from, to]
      : undefined;
  }

  // The fill runs on a descriptor of its own. Linux reports a failed writeback once per open file
  // description, to the first fsync/fdatasync that looks: a fill sharing the writer's descriptor
  // could take the error of a batch's pages (flushed by its own fdatasync) and the batch's
  // fdatasync would then succeed for data that never reached the disk.
  async #fill(from: number, to: number): Promise<void> {
    const segment = this.#segment;
    const fd = await this.#fs.open(segmentPath(this.#dir, segment), 'r+');
    try {
      await (this.#fs.zeroFill as NonNullable<SpoolFileSystem['zeroFill']>)(fd, from, to - from);
    } finally {
      await this.#fs.close(fd).catch(ignore);
    }
    if (segment === this.#segment && to > this.#allocated) this.#allocated = to;
  }

  // Zero-fills [from, to) of a new file and leaves it, synced, as the next segment.
  async #prepareNext(): Promise<void> {
    const size = this.#preallocate;
    const fd = await this.#fs.open(join(this.#dir, NEXT_SEGMENT_FILE), 'w+');
    try {
      await (this.#fs.zeroFill as NonNullable<SpoolFileSystem['zeroFill']>)(fd, 0, size);
    } catch (error) {
      await this.#fs.close(fd).catch(ignore);
      throw error;
    }
    if (this.#closed) {
      await this.#fs.close(fd).catch(ignore);
      await rm(join(this.#dir, NEXT_SEGMENT_FILE), { force: true });
    } else {
      this.#next = { fd, size };
    }
  }

  // After a batch: starts the next background zero-fill when one is due (the live segment's tail
  // first, then the next segment once the live one has less than #preallocate bytes left).
  #preallocateAhead(): void {
    if (this.#background !== undefined || this.#closed || this.#needsRepair) return;
    if (this.#preallocateAfter > 0 && Date.now() < this.#preallocateAfter) return;
    let work: Promise<void>;
    const range = this.#fillRange();
    if (range !== undefined) {
      this.#fillFrom = range[0];
      work = this.#fill(range[0], range[1]);
    } else if (
      this.#next === undefined &&
      this.#maxSegmentBytes - this.#durable <= this.#preallocate
    ) {
      work = this.#prepareNext();
    } else {
      return;
    }
    this.#background = work.then(
      () => {
        this.#background = undefined;
        this.#fillFrom = Number.POSITIVE_INFINITY;
        this.#preallocateAfter = 0;
      },
      () => {
        this.#background = undefined;
        this.#fillFrom = Number.POSITIVE_INFINITY;
        this.#preallocateAfter = Date.now() + PREALLOCATE_RETRY_MS;
      },
    );
  }
}
