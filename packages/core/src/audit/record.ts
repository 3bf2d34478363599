/**
 * The audit record (one per request, allow or deny) and the sink interface that stores it.
 * Records never contain a token: only a keyed fingerprint. Attacker-controlled strings are escaped
 * and length-capped by `sanitizeAuditString` before they enter a record.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { ReasonCode } from '../errors.js';

export { isSanitizedAuditRecord } from './trusted.js';

/** Outcome of one request. `error` means infrastructure failed (IdP, upstream, audit), not the caller. */
export type AuditOutcome = 'allow' | 'deny' | 'error';

/** One audit record. Field names are stable: stores and queries rely on them. */
export interface AuditRecord {
  /** Unique record id (UUID); stores use it to make replays idempotent. */
  readonly id: string;
  /** ISO-8601 UTC time the request arrived. */
  readonly time: string;
  /** Request id (from the incoming request id / traceparent, or generated). */
  readonly requestId: string;
  /** Route or server name. */
  readonly route?: string;
  readonly outcome: AuditOutcome;
  /** Stable reason code (`allowed` for allow). */
  readonly reason: ReasonCode;
  readonly issuer?: string;
  readonly subject?: string;
  readonly clientId?: string;
  /** Actor chain, current actor first (from nested `act`). */
  readonly actorChain?: readonly string[];
  readonly acr?: string;
  /** JSON-RPC method (e.g. `tools/call`), or the HTTP method for non-JSON-RPC requests. */
  readonly method?: string;
  /** Tool name for `tools/call`. */
  readonly tool?: string;
  /** Resource URI for `resources/read`. */
  readonly resource?: string;
  /** Prompt name for `prompts/get`. */
  readonly prompt?: string;
  readonly scopesRequired?: readonly string[];
  readonly scopesGranted?: readonly string[];
  /** HTTP status the client received. */
  readonly status?: number;
  /** HTTP status from the upstream, when one was called. */
  readonly upstreamStatus?: number;
  readonly durationMs: number;
  /** Keyed hash (HMAC-SHA-256, base64url, first 22 chars) of the presented token; never the token. */
  readonly tokenFingerprint?: string;
  /** Short, sanitized detail for operators (never a token, never a secret). */
  readonly detail?: string;
}

/**
 * Where audit records go. `write` resolves only when the record is as durable as the sink promises
 * (for a strict spool: fsynced). A rejected write means the record was not stored.
 */
export interface AuditSink {
  write(record: AuditRecord): Promise<void>;
  /** Flushes and releases resources. */
  close?(): Promise<void>;
}

/** Default maximum length of an attacker-controlled string in a record. */
export const AUDIT_STRING_MAX = 256;

// eslint-disable-next-line no-control-regex
const MAY_NEED_ESCAPE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ud800-\udfff]/;

/**
 * Escapes control characters (C0, DEL, C1, including NUL, CR, LF and ANSI ESC) and lone surrogates
 * as `\uXXXX` and caps the length (never splitting a surrogate pair), appending `…[+N]` when cut. Use on every string that came from a request or token.
 */
export function sanitizeAuditString(value: unknown, max = AUDIT_STRING_MAX): string {
  const text = typeof value === 'string' ? value : String(value);
  // Fast path (the common case): nothing to cut and nothing to escape. Any surrogate, paired or
  // not, takes the full path below.
  if (text.length <= max && !MAY_NEED_ESCAPE.test(text)) return text;
  let cut = text.length > max ? text.slice(0, max) : text;
  // Never split a surrogate pair at the cap (a lone surrogate is not well-formed Unicode).
  if (cut.length < text.length && /[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  const escaped = cut.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return cut.length < text.length ? `${escaped}…[+${text.length - cut.length}]` : escaped;
}

/**
 * Keyed fingerprint of a token for correlation without disclosure: HMAC-SHA-256 with a deployment
 * secret, base64url, first 22 characters (132 bits).
 */
export function tokenFingerprint(token: string, key: string | Buffer): string {
  return createHmac('sha256', key).update(token).digest('base64url').slice(0, 22);
}

/** A fresh record id. */
export function newRecordId(): string {
  return randomUUID();
}
