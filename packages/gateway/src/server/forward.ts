/**
 * Serving an allowed request: the session check (an upstream session serves only the principal
 * that created it), the upstream token, the call to the upstream and its answer streamed back,
 * each ending audited before the client sees it.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import {
  isReasonCode,
  McpIamError,
  principalKey,
  UnavailableError,
  type ReasonCode,
} from '@mcp-iam/core';
import { isListMethod } from '../lists/filter.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { UpstreamError, type UpstreamResponse } from '../upstream/types.js';
import type { RequestContext } from './context.js';
import { safeError } from './logger.js';
import { stripAccessToken } from './path.js';
import type { ActiveRoute } from './routes.js';
import type { GuardAllow } from './seam.js';
import type { SessionBindings } from './sessions.js';

function statusOfExchangeError(error: unknown): {
  status: number;
  reason: ReasonCode;
  retryAfter?: number;
} {
  if (error instanceof UnavailableError)
    return { status: 503, reason: error.code, retryAfter: error.retryAfter };
  // The IdP answered but refused (or answered nonsense): retrying will not help, so 502 without
  // Retry-After. Only an unreachable IdP (UnavailableError above) is a 503.
  if (error instanceof McpIamError)
    return { status: 502, reason: isReasonCode(error.code) ? error.code : 'token_exchange_failed' };
  return { status: 500, reason: 'internal_error' };
}

/** The request's `Mcp-Session-Id` (several lines count as one value, which no session has). */
function sessionIdOf(req: IncomingMessage): string | undefined {
  const value = req.headers['mcp-session-id'];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Forwards allowed requests to their route's upstream; one per gateway. */
export class Forwarder {
  readonly #sessions: SessionBindings;
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics;

  /** `sessions`: which principal owns each upstream session (HTTP routes). */
  constructor(sessions: SessionBindings, logger: Logger, metrics: GatewayMetrics) {
    this.#sessions = sessions;
    this.#logger = logger;
    this.#metrics = metrics;
  }

  /**
   * Serves a request the guard allowed: `headers` is the request's own copy (client identity
   * headers stripped), which is sent on to the upstream.
   */
  async forward(
    ctx: RequestContext,
    route: ActiveRoute,
    allow: GuardAllow,
    method: string,
    query: string,
    body: Buffer | undefined,
    headers: IncomingMessage['headers'],
  ): Promise<void> {
    ctx.outcome = 'allow';
    ctx.reason = 'allowed';
    ctx.jsonRpcMethod = allow.operation.method;
    const owner = principalKey(allow.principal);
    // Row 82: an upstream session serves only the principal that created it.
    const sessionId = route.upstream.kind === 'http' ? sessionIdOf(ctx.req) : undefined;
    if (sessionId !== undefined) {
      const use = this.#sessions.use(route.config.name, sessionId, owner);
      if (use !== 'owned') return ctx.refuseSession(allow, use);
    }
    let token: string | undefined;
    try {
      token = await allow.upstreamToken();
    } catch (error) {
      const failure = statusOfExchangeError(error);
      this.#logger.warn(
        { requestId: ctx.trace.requestId, route: ctx.route, err: safeError(error) },
        'upstream token failed',
      );
      return ctx.failAfterAllow(
        allow,
        failure.status,
        failure.reason,
        undefined,
        failure.retryAfter,
      );
    }

    const controller = ctx.abortOnClose();
    // Only list answers are read and rewritten; other answers stream untouched. A GET stream may
    // replay list answers (resumption), recognised there by their shape.
    const filtering =
      allow.filterList !== undefined &&
      (method === 'GET' || (method === 'POST' && isListMethod(allow.operation.method)));
    const list =
      filtering && allow.filterList
        ? {
            filter: allow.filterList,
            method: method === 'POST' ? allow.operation.method : undefined,
          }
        : undefined;
    // `headers` is this request's own copy (stripClientIdentityHeaders): set, don't copy again.
    headers.traceparent = ctx.trace.traceparent;
    const upstreamStarted = process.hrtime.bigint();
    let answer: UpstreamResponse;
    try {
      answer = await route.upstream.forward({
        method,
        query: stripAccessToken(query),
        headers,
        body,
        token,
        principalKey: owner,
        requestId: ctx.trace.requestId,
        list,
        forwarded: route.config.upstream.x_forwarded ? ctx.forwardedFor() : undefined,
        signal: controller,
      });
    } catch (error) {
      if (controller.aborted) {
        // The client went away before the upstream answered: still one record for the request
        // (499, as in common proxy logs); nobody is left to answer.
        await allow.complete({ status: 499 }).catch(() => undefined);
        return;
      }
      const seconds = Number(process.hrtime.bigint() - upstreamStarted) / 1e9;
      this.#metrics.observeUpstream(route.config.name, 'error', seconds);
      if (error instanceof UpstreamError) {
        this.#logger.warn(
          {
            requestId: ctx.trace.requestId,
            route: ctx.route,
            reason: error.code,
            detail: error.message,
          },
          'upstream failed',
        );
        return ctx.failAfterAllow(allow, error.status, error.code);
      }
      throw error;
    }
    this.#metrics.observeUpstream(
      route.config.name,
      answer.status,
      Number(process.hrtime.bigint() - upstreamStarted) / 1e9,
    );

    if (answer.status === 401) {
      // The upstream refused the gateway's own credentials: not the caller's fault, and its
      // challenge must not send the client to another authorization server.
      answer.discard();
      return ctx.failAfterAllow(allow, 502, 'upstream_error', 401);
    }
    if (
      route.upstream.kind === 'http' &&
      !this.#trackSession(route, method, sessionId, owner, answer)
    ) {
      answer.discard();
      this.#logger.warn(
        { requestId: ctx.trace.requestId, route: ctx.route },
        'upstream issued a session id bound to another principal (or too long); refused',
      );
      return ctx.failAfterAllow(allow, 502, 'upstream_error', answer.status);
    }
    const reason: ReasonCode | undefined = answer.status >= 500 ? 'upstream_error' : undefined;
    try {
      await allow.complete({ status: answer.status, upstreamStatus: answer.status, reason });
    } catch (error) {
      answer.discard();
      this.#logger.error(
        { requestId: ctx.trace.requestId, route: ctx.route, err: safeError(error) },
        'audit write failed',
      );
      ctx.outcome = 'error';
      ctx.reason = 'audit_unavailable';
      return ctx.sendError(503, 'audit_unavailable', 'audit_unavailable', { 'retry-after': '5' });
    }
    if (reason) {
      ctx.outcome = 'error';
      ctx.reason = reason;
    }
    ctx.stream(answer, allow.principal.expiresAt);
  }

  /**
   * Binds a session id the upstream issued to `owner`, and forgets a session the upstream no longer
   * knows (404) or that its owner deleted. False when the issued id cannot be bound to `owner`.
   */
  #trackSession(
    route: ActiveRoute,
    method: string,
    sessionId: string | undefined,
    owner: string,
    answer: UpstreamResponse,
  ): boolean {
    const name = route.config.name;
    if (sessionId !== undefined) {
      if (answer.status === 404 || (method === 'DELETE' && answer.status < 300)) {
        this.#sessions.release(name, sessionId);
        return true;
      }
    }
    const issued = answer.headers['mcp-session-id'];
    if (typeof issued !== 'string' || issued === sessionId || answer.status >= 300) return true;
    return this.#sessions.bind(name, issued, owner);
  }
}
