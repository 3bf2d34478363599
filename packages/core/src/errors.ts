/**
 * The root of every error class of the mcp-iam packages (`McpIamError`) and core's request reason
 * codes. Every failure carries a stable `code`, so callers branch on codes, never on messages.
 * Request-level errors carry a reason code (the audit record's); configuration and tooling errors
 * carry a code of their own. Messages are for operators and never contain a token.
 */

/**
 * Stable reason codes. They appear in audit records, metrics labels and logs; never rename one.
 *
 * - request level: `missing_token`, `invalid_request`, `token_too_large`
 * - token level (→ 401 invalid_token): `token_malformed`, `token_unknown_issuer`, `token_bad_header`,
 *   `token_bad_signature`, `token_unknown_key`, `token_expired`, `token_not_yet_valid`,
 *   `token_lifetime_exceeded`, `token_bad_audience`, `token_bad_issuer`, `token_bad_type`,
 *   `token_missing_claim`, `token_bad_claim`, `token_inactive`
 * - infrastructure (→ 503): `issuer_unavailable`, `introspection_unavailable`
 * - decision: `allowed`, `insufficient_scope` (403), `insufficient_user_authentication` (401),
 *   `forbidden` (403), `forbidden_client`, `forbidden_actor`, `delegation_too_deep`,
 *   `forbidden_claims`, `unknown_operation`, `operation_mismatch` (400)
 * - downstream: `token_exchange_failed` (502/503), `token_exchange_invalid` (502),
 *   `upstream_unavailable` (502), `upstream_timeout` (504), `upstream_error`
 * - other: `audit_unavailable` (503), `origin_forbidden` (403), `host_forbidden` (403),
 *   `body_too_large` (413), `unsupported_media_type` (415), `internal_error` (500)
 * - sessions (gateway): `session_unknown`, `session_not_owned` (404: an `Mcp-Session-Id` the
 *   gateway does not know, or one bound to another principal); `route_not_found` (404: no route
 *   at the path)
 */
export const REASON_CODES = [
  'allowed',
  'missing_token',
  'invalid_request',
  'token_too_large',
  'token_malformed',
  'token_unknown_issuer',
  'token_bad_header',
  'token_bad_signature',
  'token_unknown_key',
  'token_expired',
  'token_not_yet_valid',
  'token_lifetime_exceeded',
  'token_bad_audience',
  'token_bad_issuer',
  'token_bad_type',
  'token_missing_claim',
  'token_bad_claim',
  'token_inactive',
  'issuer_unavailable',
  'introspection_unavailable',
  'insufficient_scope',
  'insufficient_user_authentication',
  'forbidden',
  'forbidden_client',
  'forbidden_actor',
  'delegation_too_deep',
  'forbidden_claims',
  'unknown_operation',
  'operation_mismatch',
  'token_exchange_failed',
  'token_exchange_invalid',
  'upstream_unavailable',
  'upstream_timeout',
  'upstream_error',
  'audit_unavailable',
  'origin_forbidden',
  'host_forbidden',
  'body_too_large',
  'unsupported_media_type',
  'session_unknown',
  'session_not_owned',
  'route_not_found',
  'internal_error',
] as const;

/** One of {@link REASON_CODES}. */
export type ReasonCode = (typeof REASON_CODES)[number];

/** Whether `value` is one of the request reason codes. */
export function isReasonCode(value: unknown): value is ReasonCode {
  return typeof value === 'string' && (REASON_CODES as readonly string[]).includes(value);
}

/**
 * Base class of every error thrown by mcp-iam packages. `Code` is the type of its stable `code`:
 * a request reason code by default; configuration, audit and tooling errors name their own codes.
 *
 * @example
 * ```ts
 * try { await verifier.verify(token, ctx) } catch (e) {
 *   if (e instanceof McpIamError && e.code === 'token_expired') { ... }
 * }
 * ```
 */
export class McpIamError<Code extends string = ReasonCode> extends Error {
  /** Stable machine-readable code. */
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The token was presented but is not acceptable (→ 401 `invalid_token`). */
export class InvalidTokenError extends McpIamError {}

/** The request itself is malformed (→ 400 `invalid_request`). */
export class InvalidRequestError extends McpIamError {}

/**
 * A dependency (IdP discovery, key set, introspection endpoint) could not be reached in time
 * (→ 503 with `Retry-After`; never 401, never allow).
 */
export class UnavailableError extends McpIamError {
  /** Seconds the client should wait before retrying. */
  readonly retryAfter: number;

  constructor(
    code: ReasonCode,
    message: string,
    options?: { cause?: unknown; retryAfter?: number },
  ) {
    super(code, message, options);
    this.retryAfter = options?.retryAfter ?? 5;
  }
}
