/**
 * Preallocation: zero-filled, synced space kept ahead of the spool writer, so that a batch
 * overwrites blocks that are already allocated and durable and its `fdatasync` has no file size or
 * extent metadata to commit. One background task at a time either extends the live segment's zero
 * tail or prepares the next segment as a zero-filled file that rotation renames in.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpoolFileSystem } from './file-system.js';
import type { SpoolSettings } from './options.js';
import { segmentPath } from './segments.js';

/** Name of the zero-filled file prepared to become the next segment (renamed at rotation). */
export const NEXT_SEGMENT_FILE = 'segment-next.prealloc';

/** After a failed zero-fill, preallocation waits this long before trying again. */
const PREALLOCATE_RETRY_MS = 1000;

const ignore = (): void => undefined;

/** Path of the prepared next segment in the spool directory `dir`. */
export function nextSegmentPath(dir: string): string {
  return join(dir, NEXT_SEGMENT_FILE);
}

/** A zero-filled, synced file ready to become the next segment: its open descriptor and size. */
export interface PreparedSegment {
  readonly fd: number;
  readonly size: number;
}

/**
 * Keeps the live segment zero-filled ahead of the writer and the next segment prepared. With
 * `preallocateBytes` 0 it never fills anything and only tracks the live segment's data end.
 *
 * It tracks the live segment's number and `allocated`: the live segment's durable data ends at
 * or before `allocated`, and [end of the data, `allocated`) holds durable zeros. The segment writer
 * reports what moves it (a batch, a truncating cut, a rotation); a finished fill of the live
 * segment extends it. Batches never write into a range being filled.
 */
export class Preallocator {
  readonly #dir: string;
  readonly #fs: SpoolFileSystem;
  readonly #bytes: number;
  readonly #maxSegmentBytes: number;
  #segment: number;
  #allocated: number;
  #background: Promise<void> | undefined;
  // Start of the live segment's range being zero-filled; Infinity while no fill of the live
  // segment runs (none at all, the next segment being prepared, or a fill of a sealed segment).
  #fillFrom = Number.POSITIVE_INFINITY;
  #prepared: PreparedSegment | undefined;
  // After a failed zero-fill: no background work starts before this time (0: none failed).
  #retryAfter = 0;
  #stopped = false;

  constructor(settings: SpoolSettings, segment: number, allocated: number) {
    this.#dir = settings.dir;
    this.#fs = settings.fileSystem;
    this.#bytes = settings.preallocateBytes;
    this.#maxSegmentBytes = settings.maxSegmentBytes;
    this.#segment = segment;
    this.#allocated = allocated;
  }

  /** Whether segments are preallocated at all (`preallocateBytes` > 0). */
  get enabled(): boolean {
    return this.#bytes > 0;
  }

  /** End of the live segment's durable, allocated space (data and zero tail). */
  get allocated(): number {
    return this.#allocated;
  }

  /** The background zero-fill or preparation in progress, if any; it never rejects. */
  get running(): Promise<void> | undefined {
    return this.#background;
  }

  /** Whether a write to the live segment ending at `end` would reach the range being filled. */
  overlapsFill(end: number): boolean {
    return end > this.#fillFrom;
  }

  /**
   * After a durable batch that ends the live segment's data at `durable`: starts the next
   * background zero-fill when one is due (the live segment's tail first, then the next segment
   * once the live one has less than `preallocateBytes` left).
   */
  batchWritten(durable: number): void {
    if (durable > this.#allocated) this.#allocated = durable;
    if (this.#bytes === 0 || this.#background !== undefined || this.#stopped) return;
    if (this.#retryAfter > 0 && Date.now() < this.#retryAfter) return;
    let work: Promise<void>;
    const range = this.#fillRange(durable);
    if (range !== undefined) {
      this.#fillFrom = range[0];
      work = this.#fill(range[0], range[1]);
    } else if (this.#prepared === undefined && this.#maxSegmentBytes - durable <= this.#bytes) {
      work = this.#prepareNext();
    } else {
      return;
    }
    this.#background = work.then(
      () => {
        this.#background = undefined;
        this.#fillFrom = Number.POSITIVE_INFINITY;
        this.#retryAfter = 0;
      },
      () => {
        this.#background = undefined;
        this.#fillFrom = Number.POSITIVE_INFINITY;
        this.#retryAfter = Date.now() + PREALLOCATE_RETRY_MS;
      },
    );
  }

  /** The live segment was truncated to `length`: its zero tail is gone. */
  truncated(length: number): void {
    this.#allocated = length;
  }

  /**
   * Hands over the prepared next segment, if there is one, for rotation to rename in; the caller
   * then owns (and closes) its descriptor.
   */
  takePrepared(): PreparedSegment | undefined {
    const prepared = this.#prepared;
    this.#prepared = undefined;
    return prepared;
  }

  /**
   * The writer continues in `segment`, whose first `allocated` bytes are durable zeros (a renamed
   * prepared segment) or which is empty (0). A fill still running is on the previous segment.
   */
  segmentStarted(segment: number, allocated: number): void {
    this.#segment = segment;
    this.#allocated = allocated;
    this.#fillFrom = Number.POSITIVE_INFINITY;
  }

  /** Starts no more background work, and drops a next segment whose preparation ends later. */
  stop(): void {
    this.#stopped = true;
  }

  /** Closes and deletes the prepared next segment, if any (a closed spool leaves none behind). */
  async discardPrepared(): Promise<void> {
    const next = this.#prepared;
    this.#prepared = undefined;
    if (next !== undefined) {
      await this.#fs.close(next.fd).catch(ignore);
      await rm(nextSegmentPath(this.#dir), { force: true }).catch(ignore);
    }
  }

  // Where the live segment should be zero-filled next: from the end of its zero tail up to
  // preallocateBytes past the data (not beyond the segment size), once that is worth a fill. A
  // background fill of a segment without a zero tail starts a little past the data, so batches
  // go on (appending) meanwhile instead of waiting for it; the gap left is a hole, which reads as
  // zeros like the rest of the tail.
  #fillRange(durable: number): [number, number] | undefined {
    const gap = this.#allocated <= durable ? this.#bytes >> 4 : 0;
    const from = Math.max(this.#allocated, durable + gap);
    const to = Math.min(durable + this.#bytes, this.#maxSegmentBytes);
    if (to <= from) return undefined;
    return to - from >= this.#bytes / 2 || to === this.#maxSegmentBytes ? [from, to] : undefined;
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

  // Zero-fills a new file and leaves it, synced, as the next segment.
  async #prepareNext(): Promise<void> {
    const size = this.#bytes;
    const fd = await this.#fs.open(nextSegmentPath(this.#dir), 'w+');
    try {
      await (this.#fs.zeroFill as NonNullable<SpoolFileSystem['zeroFill']>)(fd, 0, size);
    } catch (error) {
      await this.#fs.close(fd).catch(ignore);
      throw error;
    }
    if (this.#stopped) {
      await this.#fs.close(fd).catch(ignore);
      await rm(nextSegmentPath(this.#dir), { force: true });
    } else {
      this.#prepared = { fd, size };
    }
  }
}
