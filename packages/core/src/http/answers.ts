/**
 * The error model as HTTP answers: status, headers and a JSON body for each denial (see the table
 * in the design). Challenges name only the configured canonical resource and metadata URLs;
 * bodies carry a fixed description per reason and never an internal message.
 */
import type { ReasonCode } from '../errors.js';
import { formatChallenge } from './challenge.js';

/** A ready-made HTTP answer. Header names are lower-case. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What every challenge names: fixed at configuration time, never taken from the request. */
export interface ChallengeContext {
  /** Absolute RFC 9728 metadata URL of the resource. */
  readonly resourceMetadataUrl: string;
  /** Scopes to name in a 401 without a token (default: the resource's `scopesSupported`). */
  readonly defaultScopes: readonly string[];
}

const DESCRIPTIONS: Partial<Record<ReasonCode, string>> = {
  missing_token: 'Authentication required.',
  invalid_request: 'The request is malformed.',
  operation_mismatch: 'Mcp-Method or Mcp-Name does not match the request body.',
  token_too_large: 'The access token is too large.',
  insufficient_scope: 'The access token lacks a required scope.',
  insufficient_user_authentication: 'A stronger or more recent authentication is required.',
  forbidden: 'This operation is not allowed.',
  forbidden_client: 'This client may not perform this operation.',
  forbidden_actor: 'This delegated caller may not perform this operation.',
  delegation_too_deep: 'The delegation chain is too long for this operation.',
  forbidden_claims: 'The caller does not meet this operation’s requirements.',
  unknown_operation: 'This operation is not allowed.',
  origin_forbidden: 'Origin not allowed.',
  host_forbidden: 'Host not allowed.',
  body_too_large: 'The request body is too large.',
  unsupported_media_type: 'The request body must be application/json.',
  audit_unavailable: 'Service temporarily unavailable.',
  issuer_unavailable: 'Service temporarily unavailable.',
  introspection_unavailable: 'Service temporarily unavailable.',
  token_exchange_failed: 'Service temporarily unavailable.',
  token_exchange_invalid: 'The identity provider returned an unusable token for the upstream.',
  upstream_unavailable: 'The upstream MCP server is unreachable.',
  upstream_timeout: 'The upstream MCP server did not answer in time.',
  upstream_error: 'The upstream MCP server answered with an error or an unusable answer.',
  route_not_found: 'No MCP endpoint at this path.',
  session_unknown: 'Session not found.',
  session_not_owned: 'Session not found.',
  internal_error: 'Internal error.',
};

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' };

/**
 * The one JSON error body of mcp-iam, from core and the gateway alike:
 * `{"error": code, "error_description": sentence, "reason": reason code}`. `error` is the OAuth
 * error code (or the gateway's own code for its own failures); `reason` is left out where it
 * would tell a caller more than the answer should (which check an invalid token failed, an
 * internal error).
 *
 * @example
 * ```ts
 * errorBody('insufficient_scope', 'insufficient_scope');
 * // '{"error":"insufficient_scope","error_description":"The access token lacks a required scope.","reason":"insufficient_scope"}'
 * ```
 */
export function errorBody(
  error: string,
  reason: ReasonCode | undefined,
  description: string = (reason && DESCRIPTIONS[reason]) ?? 'The request was refused.',
): string {
  return JSON.stringify(
    reason === undefined
      ? { error, error_description: description }
      : { error, error_description: description, reason },
  );
}

function oauthBody(error: string, reason: ReasonCode): string {
  // Which token check failed, or what broke inside, stays in the audit record.
  const shown = error === 'invalid_token' || error === 'server_error' ? undefined : reason;
  return errorBody(error, shown, DESCRIPTIONS[reason] ?? 'The access token is invalid.');
}

/** 401 without `error`: the caller sent no usable credentials (RFC 6750 §3.1). */
export function missingTokenAnswer(ctx: ChallengeContext): HttpAnswer {
  return {
    status: 401,
    headers: {
      ...JSON_HEADERS,
      'www-authenticate': formatChallenge('Bearer', [
        ['resource_metadata', ctx.resourceMetadataUrl],
        ['scope', ctx.defaultScopes.length > 0 ? ctx.defaultScopes.join(' ') : undefined],
      ]),
    },
    body: oauthBody('unauthorized', 'missing_token'),
  };
}

/** 400 `invalid_request` (malformed Authorization, two tokens). */
export function invalidRequestAnswer(
  ctx: ChallengeContext,
  reason: ReasonCode = 'invalid_request',
): HttpAnswer {
  return {
    status: 400,
    headers: {
      ...JSON_HEADERS,
      'www-authenticate': formatChallenge('Bearer', [
        ['error', 'invalid_request'],
        ['resource_metadata', ctx.resourceMetadataUrl],
      ]),
    },
    body: oauthBody('invalid_request', reason),
  };
}

/** 401 `invalid_token` (bad, expired, wrong audience or issuer, too large). */
export function invalidTokenAnswer(ctx: ChallengeContext, reason: ReasonCode): HttpAnswer {
  return {
    status: 401,
    headers: {
      ...JSON_HEADERS,
      'www-authenticate': formatChallenge('Bearer', [
        ['error', 'invalid_token'],
        ['resource_metadata', ctx.resourceMetadataUrl],
      ]),
    },
    body: oauthBody('invalid_token', reason),
  };
}

/** 403 `insufficient_scope` naming every scope the operation needs. */
export function insufficientScopeAnswer(
  ctx: ChallengeContext,
  scopes: readonly string[],
): HttpAnswer {
  return {
    status: 403,
    headers: {
      ...JSON_HEADERS,
      'www-authenticate': formatChallenge('Bearer', [
        ['error', 'insufficient_scope'],
        ['scope', scopes.join(' ')],
        ['resource_metadata', ctx.resourceMetadataUrl],
      ]),
    },
    body: oauthBody('insufficient_scope', 'insufficient_scope'),
  };
}

/** 401 `insufficient_user_authentication` (RFC 9470) with `acr_values` and/or `max_age`. */
export function stepUpAnswer(
  ctx: ChallengeContext,
  step: { acrValues?: readonly string[]; maxAge?: number },
): HttpAnswer {
  return {
    status: 401,
    headers: {
      ...JSON_HEADERS,
      'www-authenticate': formatChallenge('Bearer', [
        ['error', 'insufficient_user_authentication'],
        [
          'acr_values',
          step.acrValues && step.acrValues.length > 0 ? step.acrValues.join(' ') : undefined,
        ],
        ['max_age', step.maxAge],
        ['resource_metadata', ctx.resourceMetadataUrl],
      ]),
    },
    body: oauthBody('insufficient_user_authentication', 'insufficient_user_authentication'),
  };
}

/** 403 without a challenge: the caller is known but may not do this (no token would help). */
export function forbiddenAnswer(reason: ReasonCode): HttpAnswer {
  return { status: 403, headers: { ...JSON_HEADERS }, body: oauthBody('forbidden', reason) };
}

/** 503 with `Retry-After` and no challenge: a dependency is unavailable; the token is not judged. */
export function unavailableAnswer(reason: ReasonCode, retryAfter: number): HttpAnswer {
  return {
    status: 503,
    headers: { ...JSON_HEADERS, 'retry-after': String(Math.max(1, Math.ceil(retryAfter))) },
    body: oauthBody('temporarily_unavailable', reason),
  };
}

/** 500 with a generic body. */
export function internalErrorAnswer(): HttpAnswer {
  return {
    status: 500,
    headers: { ...JSON_HEADERS },
    body: oauthBody('server_error', 'internal_error'),
  };
}

/** A JSON-RPC error answer (malformed body, batch, mismatch): status 400, 413 or 415. */
export function jsonRpcErrorAnswer(
  status: number,
  rpcCode: number,
  reason: ReasonCode,
  id: string | number | null = null,
): HttpAnswer {
  return {
    status,
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id,
      error: { code: rpcCode, message: DESCRIPTIONS[reason] ?? 'Invalid request.' },
    }),
  };
}
