/**
 * The state of one request while the gateway serves it, and every way it ends: the upstream's answer
 * streamed back, the gateway's own answers, and refusals, each audited before it is sent. Its
 * response's 'close' releases what the request holds (route table, in-flight gauge, upstream).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { endAfterBody, errorBody, type ReasonCode } from '@mcp-iam/core';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { UpstreamAbort, type UpstreamResponse } from '../upstream/types.js';
import { safeError } from './logger.js';
import type { RouteTable, RouteTables } from './routes.js';
import type { GuardAllow } from './seam.js';
import type { SessionUse } from './sessions.js';
import { startTrace, type RequestTrace } from './trace.js';

/**
 * A request refused by the gateway before the guard (Host, Origin, path, method, size, content
 * type) or because the guard failed; the lead writes it as a `deny`/`error` audit record.
 */
export interface Rejection {
  /** ISO-8601 time the request arrived. */
  readonly time: string;
  readonly requestId: string;
  readonly route?: string;
  readonly outcome: 'deny' | 'error';
  readonly reason: ReasonCode;
  readonly status: number;
  /** HTTP method (no JSON-RPC parsing happens before the guard). */
  readonly method: string;
  /** Normalised path, or `(invalid)` when the path itself was refused. */
  readonly path: string;
  readonly durationMs: number;
}

/** The shared "no CORS headers" value (requests without Origin); never mutated. */
export const NO_CORS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** Where a response keeps its request's context (see `onResponseClose`). */
const CONTEXT = Symbol('mcp-iam.request');

/** A response that knows its request's context. */
interface ContextResponse extends ServerResponse {
  [CONTEXT]?: RequestContext;
}

/** The 'close' listener of every response (one function for all, no closure per request). */
function onResponseClose(this: ContextResponse): void {
  const ctx = this[CONTEXT];
  this[CONTEXT] = undefined;
  ctx?.closed();
}

/** What every request's context shares: made once per gateway. */
export interface ContextServices {
  readonly routes: RouteTables;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  /** Writes the audit record of a request refused outside the guard. */
  readonly recordRejection: ((rejection: Rejection) => Promise<void>) | undefined;
}

/**
 * Per-request state and answer helpers. The request counts against `table` until its response
 * closes; one 'close' listener, shared by every response, then releases everything it holds
 * (route table, in-flight gauge, upstream abort, stream teardown).
 */
export class RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly trace: RequestTrace;
  readonly #started = process.hrtime.bigint();
  // Epoch ms; formatted only when a rejection record needs it.
  readonly #arrivedAt = Date.now();
  readonly #table: RouteTable;
  readonly #services: ContextServices;
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics;
  path = '(invalid)';
  route: string | undefined;
  outcome: 'allow' | 'deny' | 'error' | undefined;
  reason: ReasonCode | undefined;
  jsonRpcMethod: string | undefined;
  cors: Record<string, string> = NO_CORS;
  #inFlightRoute: string | undefined;
  #controller: UpstreamAbort | undefined;
  #answer: UpstreamResponse | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #endAfterBody = false;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    table: RouteTable,
    services: ContextServices,
  ) {
    this.req = req;
    this.res = res;
    this.trace = startTrace(req.headers.traceparent);
    this.#table = table;
    this.#services = services;
    this.#logger = services.logger;
    this.#metrics = services.metrics;
    // The response finds its context through CONTEXT, so 'close' needs no closure per request.
    (res as ContextResponse)[CONTEXT] = this;
    res.on('close', onResponseClose);
    // X-Request-Id goes into each answer's writeHead() headers (send, stream) rather than through
    // res.setHeader(): a header set beforehand sends writeHead() down node:http's slow path, which
    // validates and stores every answer header one by one.
  }

  get #ms(): number {
    return Number(process.hrtime.bigint() - this.#started) / 1e6;
  }

  /** Counts the request in its route's in-flight gauge until the response closes. */
  countInFlight(): void {
    if (this.route === undefined || this.#inFlightRoute !== undefined) return;
    this.#inFlightRoute = this.route;
    this.#metrics.addInFlight(this.route, 1);
  }

  /**
   * The answer closes the connection, but only once the client has sent its whole body: for a body
   * refused as too large, which `readBody` drains (bounded) meanwhile. A client that sends the
   * whole body before reading would otherwise see the connection reset instead of the answer.
   */
  closeAfterBody(): void {
    this.res.setHeader('connection', 'close');
    this.#endAfterBody = true;
  }

  /** A controller aborted when the client goes away before the answer is complete. */
  abortOnClose(): UpstreamAbort {
    this.#controller ??= new UpstreamAbort();
    return this.#controller;
  }

  /** The response closed (finished or cut): releases what this request holds. */
  closed(): void {
    this.#services.routes.release(this.#table);
    if (this.#inFlightRoute !== undefined) this.#metrics.addInFlight(this.#inFlightRoute, -1);
    if (this.#controller && !this.res.writableFinished) this.#controller.abort();
    this.#releaseStream();
  }

  #releaseStream(): void {
    const answer = this.#answer;
    if (!answer) return;
    this.#answer = undefined;
    if (this.#expiry) clearTimeout(this.#expiry);
    // An answer sent through sendTo ignores discard() once its body is complete.
    if (answer.sendTo) answer.discard();
    else if (!answer.body.readableEnded && !answer.body.destroyed) answer.discard();
  }

  /** The gateway's own X-Forwarded-* values for this request. */
  forwardedFor(): { for: string; proto: string; host: string } {
    const encrypted = (this.req.socket as { encrypted?: boolean }).encrypted === true;
    return {
      for: this.req.socket.remoteAddress ?? 'unknown',
      proto: encrypted ? 'https' : 'http',
      host: this.req.headers.host ?? '',
    };
  }

  /**
   * Writes the request's audit record; when that fails the answer becomes 503 `audit_unavailable`
   * (no answer without its record). Returns the status and reason to send.
   */
  async #recordOr503(
    write: () => Promise<void>,
    status: number,
    reason: ReasonCode,
  ): Promise<{ status: number; reason: ReasonCode }> {
    try {
      await write();
      return { status, reason };
    } catch (error) {
      this.#logger.error(
        { requestId: this.trace.requestId, err: safeError(error) },
        'audit write failed',
      );
      this.outcome = 'error';
      this.reason = 'audit_unavailable';
      return { status: 503, reason: 'audit_unavailable' };
    }
  }

  /** Refuses a request outside the guard, writing its audit record first. */
  async reject(status: number, reason: ReasonCode, outcome: 'deny' | 'error'): Promise<void> {
    this.outcome = outcome;
    this.reason = reason;
    const record = this.#services.recordRejection;
    const answer = record
      ? await this.#recordOr503(
          () =>
            record({
              time: new Date(this.#arrivedAt).toISOString(),
              requestId: this.trace.requestId,
              route: this.route,
              outcome,
              reason,
              status,
              method: this.req.method ?? '',
              path: this.path,
              durationMs: this.#ms,
            }),
          status,
          reason,
        )
      : { status, reason };
    this.sendError(
      answer.status,
      answer.reason,
      answer.reason,
      answer.status === 503 ? { 'retry-after': '5' } : {},
    );
  }

  /** Ends an allowed request with a failure (exchange, upstream), audited as `error` first. */
  async failAfterAllow(
    allow: GuardAllow,
    status: number,
    reason: ReasonCode,
    upstreamStatus?: number,
    retryAfter?: number,
  ): Promise<void> {
    this.outcome = 'error';
    this.reason = reason;
    const answer = await this.#recordOr503(
      () => allow.complete({ status, reason, upstreamStatus }),
      status,
      reason,
    );
    const headers: Record<string, string> = { ...this.cors };
    if (answer.status === 503) headers['retry-after'] = String(retryAfter ?? 5);
    this.sendError(answer.status, answer.reason, answer.reason, headers);
  }

  /**
   * Refuses an `Mcp-Session-Id` the caller does not own: 404, as the Streamable HTTP transport
   * answers an unknown session, so the client starts a new one. The record says whether the id was
   * unknown or another principal's; the answer says neither.
   */
  async refuseSession(allow: GuardAllow, use: Exclude<SessionUse, 'owned'>): Promise<void> {
    const reason: ReasonCode = use === 'unknown' ? 'session_unknown' : 'session_not_owned';
    this.outcome = 'deny';
    this.reason = reason;
    const answer = await this.#recordOr503(
      () => allow.complete({ status: 404, reason, outcome: 'deny' }),
      404,
      reason,
    );
    if (answer.status === 503)
      return this.sendError(503, answer.reason, answer.reason, {
        ...this.cors,
        'retry-after': '5',
      });
    this.sendError(404, 'session_not_found', undefined, this.cors, 'Session not found.');
  }

  /**
   * Answers with the one JSON error body of mcp-iam (`errorBody`): `error` (here the gateway's
   * code), `error_description`, and `reason` when it says nothing the caller should not learn.
   */
  sendError(
    status: number,
    error: string,
    reason: ReasonCode | undefined,
    headers: Record<string, string> = {},
    description?: string,
  ): void {
    this.send(
      status,
      { 'content-type': 'application/json', ...headers },
      errorBody(error, reason, description),
    );
  }

  /** Answers with `value` as JSON (see `send`). */
  sendJson(status: number, value: unknown, headers: Record<string, string> = {}): void {
    this.send(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
  }

  /**
   * Answers with one of the gateway's own answers (no body for HEAD) and logs and counts it; after
   * `closeAfterBody` the answer ends only once the request body has.
   */
  send(status: number, headers: Record<string, string>, body: string): void {
    const bytes = Buffer.from(body);
    this.res.writeHead(status, {
      'x-request-id': this.trace.requestId,
      ...headers,
      'content-length': String(bytes.length),
    });
    const chunk = this.req.method === 'HEAD' ? undefined : bytes;
    if (this.#endAfterBody) endAfterBody(this.req, this.res, chunk);
    else this.res.end(chunk);
    this.#done(status);
  }

  /**
   * Streams the upstream's answer to the client without buffering. An SSE stream ends cleanly when
   * the caller's token expires (`expiresAt`, seconds): the client reconnects with a fresh token and
   * resumes with `Last-Event-ID`, so no stream outlives the authorization it was opened with.
   */
  stream(answer: UpstreamResponse, expiresAt?: number): void {
    const res = this.res;
    res.writeHead(
      answer.status,
      this.cors === NO_CORS
        ? { 'x-request-id': this.trace.requestId, ...answer.headers }
        : { 'x-request-id': this.trace.requestId, ...answer.headers, ...this.cors },
    );
    // String(): an upstream that repeats Content-Type gives an array, which must still count as a
    // stream here (the expiry cut-off below must not be skipped).
    const type = String(answer.headers['content-type'] ?? '').toLowerCase();
    let expiry: NodeJS.Timeout | undefined;
    if (type.startsWith('text/event-stream')) {
      res.flushHeaders();
      if (expiresAt !== undefined) {
        const ms = Math.max(0, expiresAt * 1000 - Date.now());
        expiry = setTimeout(
          () => {
            this.#logger.info(
              { requestId: this.trace.requestId, route: this.route },
              'token expired; ending stream',
            );
            if (answer.sendTo) {
              answer.discard();
              res.end();
            } else {
              answer.body.unpipe(res);
              res.end();
              answer.discard();
            }
          },
          Math.min(ms, 2 ** 31 - 1),
        );
        expiry.unref();
      }
    }
    this.#done(answer.status);
    this.#answer = answer;
    this.#expiry = expiry;
    if (res.closed) {
      this.#releaseStream();
      return;
    }
    if (answer.sendTo) {
      answer.sendTo(res);
      return;
    }
    const body = answer.body;
    body.on('error', () => {
      if (!res.writableEnded) res.destroy();
    });
    body.pipe(res);
  }

  #done(status: number): void {
    const outcome = this.outcome ?? (status < 400 ? 'allow' : 'deny');
    const reason = this.reason ?? (status < 400 ? 'allowed' : 'invalid_request');
    const durationMs = this.#ms;
    if (this.route)
      this.#metrics.observeRequest(this.route, outcome, reason, status, durationMs / 1000);
    // The line is built only when it will be written: at `warn` or quieter it costs nothing.
    if (!this.#logger.isLevelEnabled('info')) return;
    this.#logger.info(
      {
        requestId: this.trace.requestId,
        method: this.req.method,
        path: this.path,
        route: this.route,
        rpcMethod: this.jsonRpcMethod,
        status,
        outcome: this.route ? outcome : undefined,
        reason: this.route || status >= 400 ? reason : undefined,
        durationMs: Math.round(durationMs * 10) / 10,
      },
      'request',
    );
  }
}
