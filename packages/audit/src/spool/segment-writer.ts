/**
 * Writing batches to the spool's live segment: one positional write and one `fdatasync` per batch,
 * rotation to a new segment past `maxSegmentBytes`, and the repair of what a failed batch left
 * (cut back, or the segment sealed at its durable end) before the next batch is written.
 */
import { rename } from 'node:fs/promises';
import type { SpoolFileSystem } from './file-system.js';
import type { BatchWriter, PendingLine } from './group-commit.js';
import type { SpoolSettings } from './options.js';
import { nextSegmentPath, type Preallocator } from './preallocation.js';
import { readSegmentLines, segmentPath, type SpoolPosition } from './segments.js';

const ignore = (): void => undefined;

/** The live segment as opening the spool left it: its number, descriptor and durable data end. */
export interface LiveSegment {
  readonly segment: number;
  readonly fd: number;
  /** End of the durable data (recovery cut anything after it). */
  readonly offset: number;
}

/**
 * Writes batches to the live segment, rotates and seals segments, and repairs after a failed
 * batch. One batch at a time: the caller (the group commit) never overlaps calls.
 *
 * After a failed write or sync, the next batch first cuts what the failed batch left, so a failure
 * never leaves half a batch behind; when it left complete lines (which a reader in another process
 * may have read), the segment is sealed at the last durable offset and appending continues in a
 * new segment, so acknowledged records are never written at offsets such a reader has already
 * passed.
 */
export class SegmentWriter implements BatchWriter {
  readonly #dir: string;
  readonly #fs: SpoolFileSystem;
  readonly #sync: boolean;
  readonly #maxSegmentBytes: number;
  readonly #preallocator: Preallocator;
  #segment: number;
  #fd: number;
  #durable: number;
  // A failed write may have left bytes in [#durable, #dirtyEnd) of the live segment.
  #dirtyEnd: number;
  #needsRepair = false;
  // A segment sealed after a failed batch whose refused lines are still to be cut from its end.
  #sealing: { readonly segment: number; readonly end: number } | undefined;
  #dirSyncPending = false;
  // Sealed segments being trimmed and closed once no zero-fill uses their descriptor.
  #retiring: Promise<void> = Promise.resolve();

  constructor(settings: SpoolSettings, live: LiveSegment, preallocator: Preallocator) {
    this.#dir = settings.dir;
    this.#fs = settings.fileSystem;
    this.#sync = settings.sync;
    this.#maxSegmentBytes = settings.maxSegmentBytes;
    this.#preallocator = preallocator;
    this.#segment = live.segment;
    this.#fd = live.fd;
    this.#durable = live.offset;
    this.#dirtyEnd = live.offset;
  }

  /** End of the durable data: readers in this process may read up to here. */
  get durablePosition(): SpoolPosition {
    // While a segment sealed after a failed batch still holds the refused lines, it ends here.
    const sealing = this.#sealing;
    if (sealing !== undefined) return { segment: sealing.segment, offset: sealing.end };
    return { segment: this.#segment, offset: this.#durable };
  }

  /**
   * Writes and syncs `batch` after the durable data (repairing first after a failed batch, and
   * rotating first when the segment would exceed `maxSegmentBytes`); resolves with each line's
   * position once all of it is durable. When it rejects, nothing of the batch counts as written
   * and the next batch (or `close`) repairs the segment first.
   */
  async writeBatch(batch: readonly PendingLine[]): Promise<SpoolPosition[]> {
    try {
      if (this.#needsRepair) {
        await this.#repair();
        this.#needsRepair = false;
      }
      if (this.#dirSyncPending && this.#sync) {
        await this.#fs.syncDirectory(this.#dir);
        this.#dirSyncPending = false;
      }
      const data =
        batch.length === 1
          ? (batch[0] as PendingLine).line
          : Buffer.concat(batch.map((b) => b.line));
      if (this.#durable > 0 && this.#durable + data.length > this.#maxSegmentBytes) {
        await this.#rotate();
        if (this.#sync) await this.#fs.syncDirectory(this.#dir);
        this.#dirSyncPending = false;
      }
      const end = this.#durable + data.length;
      // Never write where zeros are being written.
      if (this.#preallocator.overlapsFill(end)) await this.#preallocator.running;
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
      this.#preallocator.batchWritten(offset);
      return positions;
    } catch (error) {
      this.#needsRepair = true;
      throw error;
    }
  }

  /**
   * Closes the live segment once the background work is done. A last failed batch is repaired as
   * the next batch would be (its complete lines may have been read from another process: their
   * offsets are not reused); if that fails too, the segment is left as it is and recovery cuts it
   * on the next open. With preallocation, a closed spool has the plain layout: the segment ends at
   * its last durable record, and no prepared next segment is left behind.
   */
  async close(): Promise<void> {
    await this.#preallocator.running;
    if (this.#needsRepair) {
      await this.#repair().then(() => (this.#needsRepair = false), ignore);
    }
    await this.#retiring;
    if (this.#preallocator.enabled) {
      if (!this.#needsRepair) await this.#fs.truncate(this.#fd, this.#durable).catch(ignore);
      await this.#preallocator.discardPrepared();
    }
    await this.#fs.close(this.#fd);
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
    const preallocator = this.#preallocator;
    if (
      preallocator.enabled &&
      zeroFill !== undefined &&
      this.#dirtyEnd <= preallocator.allocated
    ) {
      if (this.#dirtyEnd > from) await zeroFill(this.#fd, from, this.#dirtyEnd - from);
    } else {
      await preallocator.running; // a zero-fill of this segment must not land after the cut
      await this.#fs.truncate(this.#fd, from);
      if (this.#sync) await this.#fs.datasync(this.#fd);
      preallocator.truncated(from);
    }
    this.#dirtyEnd = from;
  }

  // The previous segment is already durable (every batch is synced before it is acknowledged), so
  // a reader that sees segment N+1 may treat segment N as sealed (after a failed batch, #repair
  // cuts the refused lines from N before anything is acknowledged in N+1). The new segment is the
  // prepared zero-filled file when there is one (renamed), else a new file: 'w+' because a file
  // left by an earlier failed rotation can only be empty (or zero-filled).
  async #rotate(): Promise<void> {
    const next = this.#segment + 1;
    const path = segmentPath(this.#dir, next);
    const prepared = this.#preallocator.takePrepared();
    let fd: number | undefined;
    let allocated = 0;
    if (prepared !== undefined) {
      try {
        await rename(nextSegmentPath(this.#dir), path);
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
    this.#preallocator.segmentStarted(next, allocated);
    this.#dirSyncPending = true;
    // Off the request path: once no zero-fill uses the old descriptor, trim the sealed segment's
    // unused zero tail (readers also stop at it, so a crash before the trim is harmless) and close.
    const background = this.#preallocator.running;
    const trim = this.#preallocator.enabled;
    this.#retiring = this.#retiring.then(async () => {
      await background;
      if (trim) await this.#fs.truncate(old, oldEnd).catch(ignore);
      await this.#fs.close(old).catch(ignore);
    });
  }
}
