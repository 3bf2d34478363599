/**
 * The spool writer's options ({@link SpoolOptions}) and the settings they resolve to: defaults
 * filled in, limits applied, preallocation turned off when the file system cannot zero-fill.
 */
import { nodeSpoolFileSystem, type SpoolFileSystem } from './file-system.js';

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
   * `maxSegmentBytes`; 0 disables it (a segment then ends at its last record). Needs a
   * `fileSystem` with `zeroFill` (the default has it).
   */
  readonly preallocateBytes?: number;
  /** File operations; default the real file system. Tests pass a fault-injecting wrapper. */
  readonly fileSystem?: SpoolFileSystem;
}

/** {@link SpoolOptions} with every default filled in and every limit applied. */
export interface SpoolSettings {
  readonly dir: string;
  readonly fileSystem: SpoolFileSystem;
  readonly maxSegmentBytes: number;
  readonly maxRecordBytes: number;
  readonly maxBatchBytes: number;
  readonly sync: boolean;
  readonly commitDelayMs: number;
  /** Zero-filled space kept ahead of the writer; 0 when preallocation is off. */
  readonly preallocateBytes: number;
}

const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_RECORD_BYTES = 256 * 1024;
const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
const DEFAULT_PREALLOCATE_BYTES = 16 * 1024 * 1024;
const MAX_COMMIT_DELAY_MS = 100;

/**
 * Resolves `options` to the settings the writer runs with. Preallocation needs a file system with
 * `zeroFill`, and is off (0) without one, or when `preallocateBytes` is not a positive integer.
 */
export function resolveSpoolSettings(options: SpoolOptions): SpoolSettings {
  const fileSystem = options.fileSystem ?? nodeSpoolFileSystem;
  const maxSegmentBytes = options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
  return {
    dir: options.dir,
    fileSystem,
    maxSegmentBytes,
    maxRecordBytes: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    maxBatchBytes: options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
    sync: options.sync ?? true,
    commitDelayMs: Math.min(
      Math.max(Number(options.commitDelayMs ?? 0) || 0, 0),
      MAX_COMMIT_DELAY_MS,
    ),
    preallocateBytes: preallocationBytes(options, fileSystem, maxSegmentBytes),
  };
}

function preallocationBytes(
  options: SpoolOptions,
  fileSystem: SpoolFileSystem,
  maxSegmentBytes: number,
): number {
  if (fileSystem.zeroFill === undefined) return 0;
  const wanted = Number(options.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES);
  return Number.isSafeInteger(wanted) && wanted > 0 ? Math.min(wanted, maxSegmentBytes) : 0;
}
