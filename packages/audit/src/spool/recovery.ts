/**
 * Opening a spool directory for writing: find the last segment (or create the first), scan it, and
 * cut a torn or damaged tail left by a crash, so that appending continues after the last valid
 * line.
 */
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { SpoolFileSystem } from './file-system.js';
import type { SpoolSettings } from './options.js';
import { nextSegmentPath } from './preallocation.js';
import type { LiveSegment } from './segment-writer.js';
import { listSpoolSegments, nonZeroEnd, readSegmentLines, segmentPath } from './segments.js';

const ignore = (): void => undefined;

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

/** The live segment as recovery left it, with the end of its allocated space and the findings. */
export interface RecoveredSegment extends LiveSegment {
  /** End of the segment's allocated space: its data, and any zero tail kept after it. */
  readonly allocated: number;
  readonly recovery: SpoolRecovery;
}

/**
 * Opens the live segment of the spool in `settings.dir` (the caller holds its lock): the last
 * segment, recovered, or a new first segment when there is none. A prepared next segment left by
 * a crash is deleted.
 */
export async function openLiveSegment(settings: SpoolSettings): Promise<RecoveredSegment> {
  const { dir, fileSystem: fs } = settings;
  // A next segment prepared before a crash holds only zeros: start a fresh one when needed.
  await rm(nextSegmentPath(dir), { force: true });
  const segments = await listSpoolSegments(dir);
  const last = segments.at(-1);
  if (last === undefined) {
    const fd = await fs.open(segmentPath(dir, 1), 'wx+');
    await fs.syncDirectory(dir);
    const recovery = { segment: 1, records: 0, truncatedBytes: 0 };
    return { segment: 1, fd, offset: 0, allocated: 0, recovery };
  }
  return recoverSegment(settings, last);
}

// Scans the last segment: its data ends at the last valid line. What follows must be zeros (a
// preallocated tail, kept) or nothing; anything else is a torn or damaged write, cut off: zero-
// filled back when zeros follow it, truncated when it reaches the end of the file (or when
// preallocation is off, which also drops a zero tail).
async function recoverSegment(settings: SpoolSettings, last: number): Promise<RecoveredSegment> {
  const fs = settings.fileSystem;
  const path = segmentPath(settings.dir, last);
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
      const preallocating = settings.preallocateBytes > 0;
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
  return { segment: last, fd, offset, allocated, recovery };
}
