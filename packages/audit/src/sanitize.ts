/**
 * The sink boundary's defensive pass over a record: required fields are checked, every string is
 * escaped and capped again (a no-op for values already sanitized at creation), and anything that
 * looks like a JWT is redacted so a token can never reach durable storage.
 */
import { sanitizeAuditString, type AuditRecord } from '@mcp-iam/core';
import { AuditError } from './errors.js';

/**
 * Cap applied at the sink boundary. It is far above the creation cap (256 characters, up to six
 * times longer once control characters are escaped), so already-sanitized values pass unchanged.
 */
export const SINK_STRING_MAX = 4096;

/** Text that replaces a JWT-shaped substring. */
export const REDACTED_TOKEN = '[redacted-token]';

// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;
const OUTCOMES = new Set(['allow', 'deny', 'error']);
const STRING_FIELDS = [
  'requestId',
  'route',
  'reason',
  'issuer',
  'subject',
  'clientId',
  'acr',
  'method',
  'tool',
  'resource',
  'prompt',
  'tokenFingerprint',
  'detail',
] as const;
const LIST_FIELDS = ['actorChain', 'scopesRequired', 'scopesGranted'] as const;
const NUMBER_FIELDS = ['status', 'upstreamStatus'] as const;

/** A record after the boundary pass, and how many token-shaped values it redacted. */
export interface PreparedRecord {
  readonly record: AuditRecord;
  readonly redactions: number;
}

/**
 * Validates and defensively sanitizes a record at the sink boundary.
 *
 * - `id` must be 1–128 printable characters; `time` a parseable date; `outcome` allow|deny|error;
 *   `durationMs` a finite number; otherwise an {@link AuditError} with code `record_invalid`.
 * - Every other string goes through `sanitizeAuditString` with {@link SINK_STRING_MAX}.
 * - A JWT-shaped substring (`eyJ….….…`) is replaced by {@link REDACTED_TOKEN}: the record is kept
 *   (refusing it would let a caller suppress the audit of its own request) and the redaction counted.
 * - Unknown fields are dropped, so a record's shape is exactly {@link AuditRecord}.
 *
 * @example
 * ```ts
 * const { record, redactions } = prepareAuditRecord(input);
 * ```
 */
export function prepareAuditRecord(input: AuditRecord): PreparedRecord {
  let redactions = 0;
  const clean = (value: unknown): string => {
    // Fast path: an already-clean value is returned as is (the common case).
    if (
      typeof value === 'string' &&
      value.length <= SINK_STRING_MAX &&
      !NEEDS_ESCAPE.test(value) &&
      !value.includes('eyJ')
    ) {
      return value;
    }
    const text = sanitizeAuditString(value, SINK_STRING_MAX);
    if (!text.includes('eyJ')) return text;
    return text.replace(JWT_SHAPE, () => {
      redactions += 1;
      return REDACTED_TOKEN;
    });
  };
  if (typeof input !== 'object' || input === null) throw invalid('record is not an object');
  const id: unknown = input.id;
  // eslint-disable-next-line no-control-regex
  if (typeof id !== 'string' || !/^[^\u0000-\u001f\u007f-\u009f]{1,128}$/.test(id)) {
    throw invalid('record id must be 1-128 printable characters');
  }
  const time: unknown = input.time;
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time))) {
    throw invalid('record time must be an ISO-8601 date');
  }
  if (!OUTCOMES.has(input.outcome)) throw invalid('record outcome must be allow, deny or error');
  if (typeof input.durationMs !== 'number' || !Number.isFinite(input.durationMs)) {
    throw invalid('record durationMs must be a finite number');
  }
  const out: Record<string, unknown> = {
    id,
    time: clean(time),
    requestId: clean(input.requestId ?? ''),
    outcome: input.outcome,
  };
  for (const field of STRING_FIELDS) {
    const value: unknown = input[field];
    if (value !== undefined && value !== null) out[field] = clean(value);
  }
  out.requestId ??= '';
  out.reason ??= input.outcome === 'allow' ? 'allowed' : 'internal_error';
  for (const field of LIST_FIELDS) {
    const value: unknown = input[field];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) throw invalid(`record ${field} must be a list of strings`);
    out[field] = value.map(clean);
  }
  for (const field of NUMBER_FIELDS) {
    const value: unknown = input[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(`record ${field} must be a finite number`);
    }
    out[field] = value;
  }
  out.durationMs = input.durationMs;
  return { record: out as unknown as AuditRecord, redactions };
}

function invalid(message: string): AuditError {
  return new AuditError('record_invalid', message);
}
