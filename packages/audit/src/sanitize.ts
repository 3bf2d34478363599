/**
 * The sink boundary's defensive pass over a record: required fields are checked, every string is
 * escaped and capped again (a no-op for values already sanitized at creation), and anything that
 * looks like a JWT is redacted so a token can never reach durable storage.
 */
import { isSanitizedAuditRecord, sanitizeAuditString, type AuditRecord } from '@mcp-iam/core';
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
 * - Unknown fields are dropped, so a record's shape is exactly {@link AuditRecord}, with its fields
 *   in the order `AuditRecord` declares them (the order `buildAuditRecord` uses).
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
    requestId: present(input.requestId) ? clean(input.requestId) : '',
  };
  const string = (field: keyof AuditRecord): void => {
    const value: unknown = input[field];
    if (present(value)) out[field] = clean(value);
  };
  const list = (field: 'actorChain' | 'scopesRequired' | 'scopesGranted'): void => {
    const value: unknown = input[field];
    if (!present(value)) return;
    if (!Array.isArray(value)) throw invalid(`record ${field} must be a list of strings`);
    out[field] = value.map(clean);
  };
  const number = (field: 'status' | 'upstreamStatus'): void => {
    const value: unknown = input[field];
    if (!present(value)) return;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalid(`record ${field} must be a finite number`);
    }
    out[field] = value;
  };
  string('route');
  out.outcome = input.outcome;
  out.reason = present(input.reason)
    ? clean(input.reason)
    : input.outcome === 'allow'
      ? 'allowed'
      : 'internal_error';
  string('issuer');
  string('subject');
  string('clientId');
  list('actorChain');
  string('acr');
  string('method');
  string('tool');
  string('resource');
  string('prompt');
  list('scopesRequired');
  list('scopesGranted');
  number('status');
  number('upstreamStatus');
  out.durationMs = input.durationMs;
  string('tokenFingerprint');
  string('detail');
  return { record: out as unknown as AuditRecord, redactions };
}

/** A record's JSON as the sink stores it, and how many token-shaped values it redacted. */
export interface PreparedJson {
  readonly json: string;
  readonly redactions: number;
}

/**
 * The JSON text the sink stores for a record: exactly `JSON.stringify(prepareAuditRecord(input)
 * .record)`. A record that `buildAuditRecord` made and nobody can have changed since
 * (`isSanitizedAuditRecord`) is already in that form, so unless its text contains `eyJ` (a
 * possible token to redact) it is serialised as is, without a second validation pass; anything
 * else gets the full pass. Throws as {@link prepareAuditRecord} does.
 *
 * @example
 * ```ts
 * const { json, redactions } = prepareAuditJson(record);
 * ```
 */
export function prepareAuditJson(input: AuditRecord): PreparedJson {
  if (isSanitizedAuditRecord(input)) {
    const json = JSON.stringify(input);
    if (!json.includes('eyJ')) return { json, redactions: 0 };
  }
  const prepared = prepareAuditRecord(input);
  return { json: JSON.stringify(prepared.record), redactions: prepared.redactions };
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function invalid(message: string): AuditError {
  return new AuditError('record_invalid', message);
}
