/**
 * Reading a spool: iterate records from a position, in order, across segments. Shippers, `tail` and
 * spool queries use it; it never needs the writer's lock and works while a writer appends.
 */
import { existsSync } from 'node:fs';
import type { AuditRecord } from '@mcp-iam/core';
import { SpoolCorruptError } from '../errors.js';
import {
  listSpoolSegments,
  nonZeroEnd,
  readSegmentLines,
  segmentPath,
  type SpoolPosition,
} from './segments.js';

/** One record read from a spool, with where it starts and where the next one starts. */
export interface SpoolEntry {
  readonly record: AuditRecord;
  readonly position: SpoolPosition;
  readonly next: SpoolPosition;
}

/** Options of {@link readSpool}. */
export interface ReadSpoolOptions {
  /** Start here (a position returned as `next` or `position`). Default: the oldest record. */
  readonly from?: SpoolPosition;
  /**
   * Stop before this position. An in-process reader passes `spool.durablePosition` so it never
   * sees a record before it is durable. Default: everything complete on disk.
   */
  readonly until?: SpoolPosition;
  /** Records read from disk per step. Default 1000. */
  readonly batchSize?: number;
}

/**
 * Iterates the records of the spool in `dir` from `options.from`, in append order.
 *
 * A damaged line in a sealed segment (one followed by a newer segment) throws
 * {@link SpoolCorruptError}; in the newest segment an incomplete or damaged tail is where reading
 * stops, because a writer may still be completing it (recovery cuts it when the writer restarts).
 * A zero byte where a line should start is the end of the data (preallocated segments are filled
 * with zeros ahead of the writer): no more records yet in the newest segment, the end of a sealed
 * one (whose remaining bytes must then all be zero).
 *
 * @example
 * ```ts
 * for await (const { record, next } of readSpool('./data/audit', { from: cursor })) {
 *   console.log(record.id); cursor = next;
 * }
 * ```
 */
export async function* readSpool(
  dir: string,
  options: ReadSpoolOptions = {},
): AsyncGenerator<SpoolEntry, SpoolPosition, void> {
  const batchSize = options.batchSize ?? 1000;
  const until = options.until;
  const segments = await listSpoolSegments(dir);
  const first = segments[0];
  if (first === undefined) return options.from ?? { segment: 1, offset: 0 };
  let segment = options.from?.segment ?? first;
  let offset = options.from?.offset ?? 0;
  if (segment < first) {
    segment = first;
    offset = 0;
  }
  for (;;) {
    if (
      until !== undefined &&
      (segment > until.segment || (segment === until.segment && offset >= until.offset))
    ) {
      return { segment, offset };
    }
    const path = segmentPath(dir, segment);
    // Checked before reading: a writer seals segment N before creating N+1, so if N+1 exists now,
    // the read below sees all of N.
    const sealed = existsSync(segmentPath(dir, segment + 1));
    if (!existsSync(path)) {
      if (!sealed) return { segment, offset };
      segment += 1;
      offset = 0;
      continue;
    }
    const limit = until !== undefined && until.segment === segment ? until.offset : undefined;
    const read = await readSegmentLines(path, offset, { maxRecords: batchSize, until: limit });
    for (const line of read.lines) {
      yield {
        record: line.record,
        position: { segment, offset: line.start },
        next: { segment, offset: line.end },
      };
    }
    offset = read.end;
    if (read.stop === 'limit') continue;
    if (!sealed || limit !== undefined) return { segment, offset };
    // A sealed segment ends at its last line, or where its zero-filled tail starts (when it was
    // preallocated and not trimmed); anything else after the last good line is damage.
    if (read.stop === 'zero' ? (await nonZeroEnd(path, offset)) > offset : read.stop !== 'end') {
      throw new SpoolCorruptError(segment, offset);
    }
    segment += 1;
    offset = 0;
  }
}
