/**
 * Errors of @mcp-iam/audit. Every failure carries a stable `code`, so callers (the gateway turning a
 * failed strict write into a 503, a shipper deciding to retry) branch on codes, never on messages.
 */
import { McpIamError } from '@mcp-iam/core';

/**
 * Stable error codes of the audit package.
 *
 * - `spool_locked`: another live process holds the spool directory's lock file.
 * - `spool_closed`: the spool or sink was closed before the operation.
 * - `spool_write_failed`: the record could not be written and synced to disk.
 * - `spool_corrupt`: a sealed segment holds a line that fails its checksum (disk damage).
 * - `spool_not_found`: the spool directory to read does not exist.
 * - `record_invalid`: the record lacks a required field or has a wrong type.
 * - `record_too_large`: the encoded record exceeds the configured maximum line size.
 * - `queue_full`: the sink's bound on records not yet durable is reached.
 * - `write_timeout`: a strict write was not durable within `writeTimeoutMs` (slow disk).
 * - `store_failed`: a SQLite or PostgreSQL operation failed.
 * - `invalid_argument`: a bad option or command-line argument.
 */
export type AuditErrorCode =
  | 'spool_locked'
  | 'spool_closed'
  | 'spool_write_failed'
  | 'spool_corrupt'
  | 'spool_not_found'
  | 'record_invalid'
  | 'record_too_large'
  | 'queue_full'
  | 'write_timeout'
  | 'store_failed'
  | 'invalid_argument';

/**
 * Base class of every error thrown by @mcp-iam/audit.
 *
 * @example
 * ```ts
 * try { await sink.write(record) } catch (e) {
 *   if (e instanceof AuditError) respond503('audit_unavailable');
 * }
 * ```
 */
export class AuditError extends McpIamError<AuditErrorCode> {
  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AuditError';
  }
}

/** Thrown when a second writer opens a spool directory whose lock is held by a live process. */
export class SpoolLockedError extends AuditError {
  /** Process id recorded in the lock file. */
  readonly pid: number;

  constructor(dir: string, pid: number) {
    super(
      'spool_locked',
      `audit spool ${dir} is locked by process ${pid}; only one writer per spool directory is allowed` +
        ' (if that process is gone, delete the LOCK file)',
    );
    this.name = 'SpoolLockedError';
    this.pid = pid;
  }
}

/** Thrown when a record cannot be made durable (write or sync failed). */
export class SpoolWriteError extends AuditError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('spool_write_failed', message, options);
    this.name = 'SpoolWriteError';
  }
}

/** Thrown when a sealed segment holds a damaged line. */
export class SpoolCorruptError extends AuditError {
  /** Segment number and byte offset of the damaged line. */
  readonly segment: number;
  readonly offset: number;

  constructor(segment: number, offset: number) {
    super('spool_corrupt', `audit spool segment ${segment} is damaged at byte ${offset}`);
    this.name = 'SpoolCorruptError';
    this.segment = segment;
    this.offset = offset;
  }
}

/** Every error class @mcp-iam/audit throws, as one union; each extends core's `McpIamError`. */
export type AuditErrors = AuditError | SpoolLockedError | SpoolWriteError | SpoolCorruptError;
