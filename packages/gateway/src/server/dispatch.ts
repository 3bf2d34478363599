/**
 * Request dispatch: the hygiene every request passes before the guard (Host, path, method, Origin,
 * media type, body size), the gateway's own endpoints, the route lookup and the guard's decision;
 * allowed requests go on to the `Forwarder`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { BodyTooLargeError, readBody } from '@mcp-iam/core';
import type { GatewayMetrics } from '../metrics/metrics.js';
import {
  stripClientIdentityHeaders,
  stripClientIdentityHeadersDistinct,
} from '../upstream/headers.js';
import { RequestContext, type ContextServices } from './context.js';
import {
  METADATA_PREFIX,
  serveHealth,
  serveMetadata,
  serveMetrics,
  serveReadiness,
  type ReadinessCheck,
} from './endpoints.js';
import type { Forwarder } from './forward.js';
import { isHostAllowed, isOriginAllowed } from './hosts.js';
import { safeError } from './logger.js';
import { normaliseTarget } from './path.js';
import type { RouteTable } from './routes.js';
import type { GuardRequest } from './seam.js';

const ROUTE_METHODS = new Set(['POST', 'GET', 'DELETE']);
const CORS_ALLOW_HEADERS =
  'Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name, traceparent, tracestate';
const CORS_EXPOSE_HEADERS = 'Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate';

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  if (value === 'application/json') return true; // what nearly every client sends
  const media = value.split(';')[0]?.trim().toLowerCase();
  return media === 'application/json';
}

/** Lines of header `name` (lower case) in node:http's `rawHeaders` ([name, value, name, value…]). */
function countHeaderLines(rawHeaders: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2)
    if ((rawHeaders[i] as string).toLowerCase() === name) n++;
  return n;
}

/** What a `Dispatcher` serves with; `readiness` is read on each `/readyz`, so it may grow. */
export interface DispatcherOptions {
  readonly services: ContextServices;
  readonly forwarder: Forwarder;
  readonly readiness: readonly ReadinessCheck[];
  /** Serve `/metrics` on the gateway's listener. */
  readonly exposeMetrics: boolean;
}

/** Serves each request of the gateway's listener; one per gateway. */
export class Dispatcher {
  /** Host header values accepted on every path but the probes. */
  allowedHosts: ReadonlySet<string> = new Set();
  /** Shutting down: answers close their connection, health and readiness answer 503. */
  draining = false;
  readonly #services: ContextServices;
  readonly #forwarder: Forwarder;
  readonly #readiness: readonly ReadinessCheck[];
  readonly #exposeMetrics: boolean;
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics;

  constructor(options: DispatcherOptions) {
    this.#services = options.services;
    this.#forwarder = options.forwarder;
    this.#readiness = options.readiness;
    this.#exposeMetrics = options.exposeMetrics;
    this.#logger = options.services.logger;
    this.#metrics = options.services.metrics;
  }

  /** Serves one request on the current route table; never rejects. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const table = this.#services.routes.acquire();
    const ctx = new RequestContext(req, res, table, this.#services);
    try {
      await this.#dispatch(ctx, table);
    } catch (error) {
      this.#logger.error(
        { requestId: ctx.trace.requestId, err: safeError(error) },
        'request failed',
      );
      if (!res.headersSent) await ctx.reject(500, 'internal_error', 'error');
      else res.destroy();
    }
  }

  async #dispatch(ctx: RequestContext, table: RouteTable): Promise<void> {
    const { req, res } = ctx;
    if (this.draining) res.setHeader('connection', 'close');
    const target = normaliseTarget(req.url ?? '');
    const method = req.method ?? 'GET';
    // Liveness and readiness answer any Host (probes use pod addresses) and reveal nothing.
    const probe = target.ok && (target.path === '/healthz' || target.path === '/readyz');
    // node:http keeps one value of most repeated headers in `req.headers` (it drops a second
    // Authorization or Host). One key per raw header line means no name was repeated.
    const headersRepeated = req.rawHeaders.length !== 2 * Object.keys(req.headers).length;
    // RFC 9112 §3.2: more than one Host line is a bad request (a second, hostile Host would
    // otherwise pass unseen). Counted only when some name repeats.
    if (headersRepeated && countHeaderLines(req.rawHeaders, 'host') > 1)
      return ctx.reject(400, 'invalid_request', 'deny');
    if (!probe && !isHostAllowed(req.headers.host, this.allowedHosts))
      return ctx.reject(403, 'host_forbidden', 'deny');
    if (!target.ok) return ctx.reject(400, 'invalid_request', 'deny');
    ctx.path = target.path;

    if (target.path === '/healthz' && (method === 'GET' || method === 'HEAD'))
      return serveHealth(ctx, this.draining);
    if (target.path === '/readyz' && (method === 'GET' || method === 'HEAD'))
      return serveReadiness(ctx, this.#readiness, this.draining);
    if (target.path === '/metrics' && method === 'GET' && this.#exposeMetrics)
      return serveMetrics(ctx, this.#metrics);
    if (target.path === METADATA_PREFIX || target.path.startsWith(`${METADATA_PREFIX}/`))
      return serveMetadata(ctx, table, target.path.slice(METADATA_PREFIX.length));

    const route = table.routes.get(target.path);
    // Audited like every refusal: a probe of unknown paths leaves its trace.
    if (!route) return ctx.reject(404, 'route_not_found', 'deny');
    ctx.route = route.config.name;
    ctx.countInFlight();

    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!isOriginAllowed(origin, table.allowedOrigins))
        return ctx.reject(403, 'origin_forbidden', 'deny');
      ctx.cors = {
        'access-control-allow-origin': origin,
        'access-control-expose-headers': CORS_EXPOSE_HEADERS,
        vary: 'Origin',
      };
    }
    if (method === 'OPTIONS') {
      return ctx.send(
        204,
        {
          ...ctx.cors,
          'access-control-allow-methods': 'POST, GET, DELETE',
          'access-control-allow-headers': CORS_ALLOW_HEADERS,
          'access-control-max-age': '600',
        },
        '',
      );
    }
    if (!ROUTE_METHODS.has(method)) {
      res.setHeader('allow', 'POST, GET, DELETE');
      return ctx.reject(405, 'invalid_request', 'deny');
    }
    // A stdio route has no SSE stream and no session to delete: refused here, not by the upstream
    // after an allow record.
    if (method !== 'POST' && route.upstream.kind === 'stdio') {
      res.setHeader('allow', 'POST');
      return ctx.reject(405, 'invalid_request', 'deny');
    }

    let body: Buffer | undefined;
    if (method === 'POST') {
      if (!isJsonContentType(req.headers['content-type']))
        return ctx.reject(415, 'unsupported_media_type', 'deny');
      try {
        body = await readBody(req, route.limits.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          ctx.closeAfterBody();
          return ctx.reject(413, 'body_too_large', 'deny');
        }
        throw error;
      }
    } else {
      req.resume();
    }

    const headers = stripClientIdentityHeaders(req.headers);
    let decision;
    try {
      decision = await route.guard.authorize(
        new IncomingGuardRequest(
          req,
          ctx.trace.requestId,
          method,
          target,
          headers,
          body,
          headersRepeated,
        ),
      );
    } catch (error) {
      this.#logger.error(
        { requestId: ctx.trace.requestId, route: ctx.route, err: safeError(error) },
        'guard failed',
      );
      return ctx.reject(500, 'internal_error', 'error');
    }
    if (decision.kind === 'deny') {
      ctx.outcome = 'deny';
      ctx.reason = decision.reason;
      return ctx.send(decision.status, { ...decision.headers, ...ctx.cors }, decision.body);
    }
    await this.#forwarder.forward(ctx, route, decision, method, target.query, body, headers);
  }
}

/**
 * What the guard sees of one request. `headersDistinct` is built on first read: node:http builds a
 * new object for `req.headersDistinct` on every access, and most requests repeat no header, so a
 * guard can read `headers` instead (`headersRepeated` is false).
 */
class IncomingGuardRequest implements GuardRequest {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer | undefined;
  readonly headersRepeated: boolean;
  readonly #req: IncomingMessage;
  #distinct: Readonly<Record<string, readonly string[]>> | undefined;

  constructor(
    req: IncomingMessage,
    requestId: string,
    method: string,
    target: { readonly path: string; readonly query: string },
    headers: IncomingMessage['headers'],
    body: Buffer | undefined,
    headersRepeated: boolean,
  ) {
    this.#req = req;
    this.requestId = requestId;
    this.method = method;
    this.path = target.path;
    this.query = target.query;
    this.headers = headers;
    this.body = body;
    this.headersRepeated = headersRepeated;
  }

  get headersDistinct(): Readonly<Record<string, readonly string[]>> {
    this.#distinct ??= stripClientIdentityHeadersDistinct(this.#req.headersDistinct);
    return this.#distinct;
  }
}
