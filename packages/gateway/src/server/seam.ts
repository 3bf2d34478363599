/**
 * The seam between the gateway's plumbing (HTTP hygiene, routing, upstreams, streaming) and the
 * authentication/authorization decision. The gateway calls one `RouteGuard` per route; the guard
 * (built from @mcp-iam/core's pipeline) verifies the bearer token, decides on the JSON-RPC operation,
 * obtains the upstream token and writes the audit record. The gateway never decides on identity.
 *
 * Order per request, after Host/Origin/path/body checks:
 * 1. `authorize(request)` → `GuardDeny` (answered verbatim; the guard has already audited it) or
 *    `GuardAllow`.
 * 2. `allow.upstreamToken()` → the token for the upstream (never the caller's), or undefined.
 * 3. The upstream is called; once its status is known (before any byte of the answer is sent),
 *    `allow.complete(outcome)` writes the allow/error record. If it rejects, the client gets 503
 *    `audit_unavailable` and the upstream response is discarded.
 * 4. The answer is streamed; `allow.filterList` rewrites list results on the way when given.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Principal, ReasonCode } from '@mcp-iam/core';

/** What the guard sees of one request. Headers are already stripped of client identity headers. */
export interface GuardRequest {
  /** Request id (the trace id of the W3C traceparent, incoming or generated). */
  readonly requestId: string;
  /** HTTP method (`POST`, `GET`, `DELETE`). */
  readonly method: string;
  /** Normalised path; the same path is routed and forwarded. */
  readonly path: string;
  /** Raw query string without `?` (may carry a forbidden `access_token`; the guard decides). */
  readonly query: string;
  /** Request headers, without `X-Forwarded-*`, `Forwarded`, `X-Auth-Request-*`, `X-Mcp-Iam-*`. */
  readonly headers: IncomingHttpHeaders;
  /**
   * The same headers with every value of repeated headers kept (Node's `headersDistinct`): use
   * these to detect two `Authorization` headers, which `headers` silently collapses to one.
   */
  readonly headersDistinct: Readonly<Record<string, readonly string[]>>;
  /**
   * `false` when no header name occurs more than once in the request: `headers` then holds every
   * value there is, and a guard may read it instead of `headersDistinct` (which the gateway builds
   * only when it is read). `true` or absent: read `headersDistinct`.
   */
  readonly headersRepeated?: boolean;
  /** The complete body of a POST (size-capped, `application/json`); undefined otherwise. */
  readonly body: Buffer | undefined;
}

/** The operation the guard decided on (for logs, metrics and list filtering). */
export interface GuardOperation {
  /** JSON-RPC method, or the HTTP method for requests without a JSON-RPC body (GET, DELETE). */
  readonly method: string;
  readonly tool?: string;
  readonly resource?: string;
  readonly prompt?: string;
}

/** Outcome handed to `GuardAllow.complete` (the audit record's status fields). */
export interface GuardOutcome {
  /** HTTP status the client receives. */
  readonly status: number;
  /** Status the upstream answered with, when it answered. */
  readonly upstreamStatus?: number;
  /** Set when the request failed after the allow decision (outcome `error`). */
  readonly reason?: ReasonCode;
  /**
   * The record's outcome when it is not what `reason` implies (`allow` without a reason, `error`
   * with one): `deny` for a refusal after the allow decision, such as another principal's session.
   */
  readonly outcome?: 'allow' | 'deny' | 'error';
}

/** The request is refused: the gateway answers exactly this. */
export interface GuardDeny {
  readonly kind: 'deny';
  readonly status: number;
  /** Headers of the answer, e.g. `WWW-Authenticate`, `Retry-After`, `Content-Type`. */
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly reason: ReasonCode;
}

/** The request may proceed to the upstream. */
export interface GuardAllow {
  readonly kind: 'allow';
  readonly principal: Principal;
  readonly operation: GuardOperation;
  /**
   * Token for the upstream, or undefined for downstream mode `none`. Rejects with an `McpIamError`
   * (`token_exchange_failed` → 503, `token_exchange_invalid` → 502) when the exchange fails.
   */
  upstreamToken(): Promise<string | undefined>;
  /**
   * Rewrites a list result (`tools/list`, `resources/list`, `prompts/list`,
   * `resources/templates/list`) to what the caller may use. Absent when nothing is filtered.
   */
  readonly filterList?: (method: string, result: unknown) => unknown;
  /** Completes and durably writes the allow/error audit record; resolves before the answer starts. */
  complete(outcome: GuardOutcome): Promise<void>;
}

/** The decision of a `RouteGuard`. */
export type GuardDecision = GuardAllow | GuardDeny;

/** Authentication, authorization and audit of one route. */
export interface RouteGuard {
  /** Decides on one request. Deny results are already audited by the guard. */
  authorize(request: GuardRequest): Promise<GuardDecision>;
  /** The RFC 9728 protected resource metadata of this route, served without auth. */
  metadata(): unknown;
  /** Names of the steps the guard runs, in order (for the start-up log of the route's pipeline). */
  readonly steps?: readonly string[];
}
