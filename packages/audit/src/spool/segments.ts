/**
 * Segment files of a spool directory: naming, listing, and reading checksummed lines from a segment
 * in bounded chunks (shared by recovery, readers and queries).
 */
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { scanSpoolLines, type ScannedLine } from './format.js';

const SEGMENT_NAME = /^segment-(\d{12})\.log$/;
const CHUNK_BYTES = 1 << 20;
const FIRST_CHUNK_BYTES = 64 * 1024;
let zeros: Buffer | undefined;

/** A place in a spool: segment number and byte offset within that segment. */
export interface SpoolPosition {
  readonly segment: number;
  readonly offset: number;
}

/** File name of segment `n` (`segment-000000000001.log`). */
export function segmentFileName(n: number): string {
  return `segment-${String(n).padStart(12, '0')}.log`;
}

/** Path of segment `n` in `dir`. */
export function segmentPath(dir: string, n: number): string {
  return join(dir, segmentFileName(n));
}

/**
 * Segment numbers present in a spool directory, ascending. A missing directory has none.
 *
 * @example
 * ```ts
 * const [first] = await listSpoolSegments('./data/audit');
 * ```
 */
export async function listSpoolSegments(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const numbers: number[] = [];
  for (const name of names) {
    const match = SEGMENT_NAME.exec(name);
    if (match?.[1] !== undefined) numbers.push(Number(match[1]));
  }
  return numbers.sort((a, b) => a - b);
}

/** Result of {@link readSegmentLines}. Offsets are absolute within the segment. */
export interface SegmentRead {
  readonly lines: ScannedLine[];
  /** Offset just past the last returned line. */
  readonly end: number;
  /**
   * `end`: reached the end of the file or `until`; `limit`: `maxRecords` lines returned;
   * `partial`: an unterminated line follows `end`; `bad`: a damaged line starts at `end`; `zero`:
   * a zero byte comes before the next line ends (the zero-filled tail of a preallocated segment
   * starts at `end`, or a torn line followed by it).
   */
  readonly stop: 'end' | 'limit' | 'partial' | 'bad' | 'zero';
}

/** Options of {@link readSegmentLines}. */
export interface SegmentReadOptions {
  /** Do not read at or past this offset. Default: end of file. */
  readonly until?: number;
  /** Return at most this many lines. Default: unlimited. */
  readonly maxRecords?: number;
}

/**
 * Reads checksummed lines from `path` starting at `offset` (which must be a line boundary), in
 * chunks of 64 KiB growing to 1 MiB, stopping at the first partial or damaged line or zero byte.
 */
export async function readSegmentLines(
  path: string,
  offset: number,
  options: SegmentReadOptions = {},
): Promise<SegmentRead> {
  const maxRecords = options.maxRecords ?? Number.POSITIVE_INFINITY;
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const limit = Math.min(size, options.until ?? size);
    const lines: ScannedLine[] = [];
    let base = offset;
    let carry = Buffer.alloc(0);
    let pos = offset;
    let chunkBytes = FIRST_CHUNK_BYTES; // a reader that is caught up reads little of a zero tail
    while (pos < limit) {
      const want = Math.min(chunkBytes, limit - pos);
      chunkBytes = Math.min(chunkBytes * 2, CHUNK_BYTES);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(chunk, 0, want, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const buffer = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk;
      const view = carry.length ? buffer : buffer.subarray(0, bytesRead);
      const scan = scanSpoolLines(view);
      for (const line of scan.lines) {
        lines.push({ record: line.record, start: base + line.start, end: base + line.end });
        if (lines.length >= maxRecords) return { lines, end: base + line.end, stop: 'limit' };
      }
      if (scan.stop === 'bad' || scan.stop === 'zero') {
        return { lines, end: base + scan.goodEnd, stop: scan.stop };
      }
      carry = Buffer.from(view.subarray(scan.goodEnd));
      base += scan.goodEnd;
    }
    return { lines, end: base, stop: carry.length > 0 ? 'partial' : 'end' };
  } finally {
    await handle.close();
  }
}

/**
 * Offset just past the last non-zero byte of `path` at or after `from`; `from` when every byte from
 * there to the end of the file is zero (the unused tail of a preallocated segment, or nothing).
 */
export async function nonZeroEnd(path: string, from: number): Promise<number> {
  zeros ??= Buffer.alloc(CHUNK_BYTES);
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let end = from;
    for (let pos = from; pos < size;) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK_BYTES, size - pos), pos);
      if (bytesRead === 0) break;
      if (!chunk.subarray(0, bytesRead).equals(zeros.subarray(0, bytesRead))) {
        let last = bytesRead - 1;
        while (chunk[last] === 0) last -= 1;
        end = pos + last + 1;
      }
      pos += bytesRead;
    }
    return end;
  } finally {
    await handle.close();
  }
}

/**
 * Deletes the segments wholly before `position` (those numbered below `position.segment`), e.g.
 * once a shipper's cursor has passed them. Returns the numbers removed. Only for spools whose
 * records are kept elsewhere: a spool used as the only store must never be pruned.
 *
 * @example
 * ```ts
 * const cursor = await readSpoolCursor(dir, 'store');
 * if (cursor) await pruneSpoolSegments(dir, cursor);
 * ```
 */
export async function pruneSpoolSegments(dir: string, position: SpoolPosition): Promise<number[]> {
  const removed: number[] = [];
  for (const n of await listSpoolSegments(dir)) {
    if (n >= position.segment) break;
    await rm(segmentPath(dir, n), { force: true });
    removed.push(n);
  }
  return removed;
}
