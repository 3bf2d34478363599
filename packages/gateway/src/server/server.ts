/**
 * The gateway's HTTP server: request hygiene (Host/Origin allowlists, path normalisation, body size
 * and content type), routing, the guard seam, forwarding to the upstream and streaming the answer,
 * plus health, readiness, metrics and RFC 9728 metadata endpoints, atomic route-table swaps on
 * reload, and graceful shutdown.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import {
  isReasonCode,
  McpIamError,
  principalKey,
  UnavailableError,
  type ReasonCode,
} from '@mcp-iam/core';
import {
  resolveLimits,
  type GatewayConfig,
  type ResolvedLimits,
  type RouteConfig,
} from '../config/schema.js';
import { isListMethod } from '../lists/filter.js';
import { GatewayMetrics } from '../metrics/metrics.js';
import { createUpstream } from '../upstream/factory.js';
import {
  stripClientIdentityHeaders,
  stripClientIdentityHeadersDistinct,
} from '../upstream/headers.js';
import {
  UpstreamAbort,
  UpstreamError,
  type Upstream,
  type UpstreamResponse,
} from '../upstream/types.js';
import {
  defaultAllowedHosts,
  defaultAllowedOrigins,
  isHostAllowed,
  isOriginAllowed,
} from './hosts.js';
import { createGatewayLogger } from './logger.js';
import { normaliseTarget, stripAccessToken } from './path.js';
import type { GuardAllow, GuardRequest, RouteGuard } from './seam.js';
import { SessionBindings, type SessionUse } from './sessions.js';
import { startTrace, type RequestTrace } from './trace.js';

/** Builds the guard of one route (the lead connects this to @mcp-iam/core's pipeline). */
export type GuardFactory = (route: RouteConfig, config: GatewayConfig) => RouteGuard;

/** Builds the upstream of one route; default `createUpstream`. */
export type UpstreamFactory = (route: RouteConfig, config: GatewayConfig) => Upstream;

/** One readiness condition reported by `/readyz` (e.g. "issuer keys loaded", "audit sink open"). */
export interface ReadinessCheck {
  readonly name: string;
  check(): boolean | Promise<boolean>;
}

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

/** Options of `Gateway`. */
export interface GatewayOptions {
  /** A configuration that passed `loadConfig`. */
  readonly config: GatewayConfig;
  /** Builds each route's guard. */
  readonly guards: GuardFactory;
  /** Builds each route's upstream (default: HTTP or stdio from the route's `upstream`). */
  readonly upstreams?: UpstreamFactory;
  /** Logger (default: pino on stdout at `config.log_level`). */
  readonly logger?: Logger;
  /** Metrics (default: a new `GatewayMetrics`). */
  readonly metrics?: GatewayMetrics;
  /** Conditions for `/readyz` (default none: ready once listening). */
  readonly readiness?: readonly ReadinessCheck[];
  /**
   * Writes the audit record of a request refused outside the guard. When it rejects (strict audit
   * unavailable) the client gets 503 `audit_unavailable`. Default: not recorded, only logged.
   */
  readonly recordRejection?: (rejection: Rejection) => Promise<void>;
  /** How long `close()` waits for in-flight requests before cutting them, in ms (default 10000). */
  readonly shutdownTimeoutMs?: number;
  /** Serve `/metrics` on the gateway's listener (default true). */
  readonly exposeMetrics?: boolean;
}

/** One route with everything needed to serve it. */
interface ActiveRoute {
  readonly config: RouteConfig;
  readonly guard: RouteGuard;
  readonly upstream: Upstream;
  readonly limits: ResolvedLimits;
}

/** An immutable route table; swapped as a whole on reload. */
interface RouteTable {
  readonly config: GatewayConfig;
  readonly routes: ReadonlyMap<string, ActiveRoute>;
  readonly allowedOrigins: ReadonlySet<string>;
  inFlight: number;
  retired: boolean;
  /** Upstreams to close once this table has no request in flight. */
  closeWhenDrained: Upstream[];
}

const METADATA_PREFIX = '/.well-known/oauth-protected-resource';
const ROUTE_METHODS = new Set(['POST', 'GET', 'DELETE']);
const CORS_ALLOW_HEADERS =
  'Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name, traceparent, tracestate';
const CORS_EXPOSE_HEADERS = 'Mcp-Session-Id, MCP-Protocol-Version, WWW-Authenticate';

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

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  if (value === 'application/json') return true; // what nearly every client sends
  const media = value.split(';')[0]?.trim().toLowerCase();
  return media === 'application/json';
}

class BodyTooLarge extends Error {}

/** Lines of header `name` (lower case) in node:http's `rawHeaders` ([name, value, name, value…]). */
function countHeaderLines(rawHeaders: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2)
    if ((rawHeaders[i] as string).toLowerCase() === name) n++;
  return n;
}

/** The shared "no CORS headers" value (requests without Origin); never mutated. */
const NO_CORS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * The gateway: an identity-aware reverse proxy in front of MCP servers.
 *
 * @example
 * ```ts
 * const gateway = new Gateway({ config, guards: (route, config) => buildGuard(route, config) });
 * const { url } = await gateway.listen();
 * process.on('SIGTERM', () => void gateway.close());
 * ```
 */
export class Gateway {
  readonly #options: GatewayOptions;
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics;
  readonly #server: Server;
  readonly #readiness: ReadinessCheck[];
  /** Which principal owns each upstream session (HTTP routes). */
  readonly #sessions: SessionBindings;
  /** Responses not yet closed (in-flight requests), for graceful shutdown. */
  #active = 0;
  #table: RouteTable;
  #allowedHosts: ReadonlySet<string> = new Set();
  #bound: AddressInfo | undefined;
  #draining = false;
  #closed: Promise<void> | undefined;

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#logger = options.logger ?? createGatewayLogger({ level: options.config.log_level });
    this.#metrics = options.metrics ?? new GatewayMetrics();
    this.#readiness = [...(options.readiness ?? [])];
    this.#sessions = new SessionBindings({
      ...sessionLimits(options.config),
      onSize: (size) => this.#metrics.setSessionBindings(size),
    });
    this.#table = this.#buildTable(options.config, undefined);
    this.#allowedHosts = this.#hostsFor(options.config);
    this.#server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000 }, (req, res) => {
      void this.#handle(req, res);
    });
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      void this.#clientError(error, socket);
    });
  }

  /**
   * Requests node:http refuses before the gateway sees them (headers over its 16 KiB limit, bytes
   * that are not HTTP) are answered here, as node:http would (431 / 400), but audited first: every
   * refused request has its record. Nothing of the request (its headers may hold a token) is kept.
   */
  readonly #refusedSockets = new WeakSet<Duplex>();

  async #clientError(error: NodeJS.ErrnoException, socket: Duplex): Promise<void> {
    // One answer and one record per connection: the parser can report more errors on the same
    // socket while the rest of an oversized request is still arriving.
    if (this.#refusedSockets.has(socket)) return;
    this.#refusedSockets.add(socket);
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    let answer = status === 431 ? '431 Request Header Fields Too Large' : '400 Bad Request';
    try {
      await this.#options.recordRejection?.({
        time: new Date().toISOString(),
        requestId: startTrace(undefined).requestId,
        outcome: 'deny',
        reason: 'invalid_request',
        status,
        method: '(unparsed)',
        path: '(invalid)',
        durationMs: 0,
      });
    } catch (recordError) {
      this.#logger.error({ err: safeError(recordError) }, 'audit write failed');
      answer = '503 Service Unavailable';
    }
    if (socket.writable)
      socket.end(`HTTP/1.1 ${answer}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  }

  /** The metrics this gateway feeds (and serves on `/metrics`). */
  get metrics(): GatewayMetrics {
    return this.#metrics;
  }

  /** The configuration in force. */
  get config(): GatewayConfig {
    return this.#table.config;
  }

  /** The underlying node:http server (for tests and embedding). */
  get server(): Server {
    return this.#server;
  }

  /** Starts listening on `config.listen` (default 127.0.0.1:8080); resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const listen = this.#table.config.listen ?? {};
    const host = listen.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(listen.port ?? 8080, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#bound = this.#server.address() as AddressInfo;
    this.#allowedHosts = this.#hostsFor(this.#table.config);
    const shown = this.#bound.family === 'IPv6' ? `[${this.#bound.address}]` : this.#bound.address;
    const url = `http://${shown}:${this.#bound.port}`;
    this.#logger.info({ url }, 'gateway listening');
    return { host: this.#bound.address, port: this.#bound.port, url };
  }

  /** Adds a condition to `/readyz`. */
  addReadinessCheck(check: ReadinessCheck): void {
    this.#readiness.push(check);
  }

  /**
   * Swaps in a new configuration atomically: every guard and upstream is built first; if any fails
   * the old table stays and the error is thrown. Upstreams whose settings did not change are kept
   * (stdio processes survive); replaced ones are closed once their last request finished. A changed
   * `listen` needs a restart and is ignored with a warning.
   */
  async reload(config: GatewayConfig): Promise<void> {
    const old = this.#table;
    const next = this.#buildTable(config, old);
    if (!isDeepStrictEqual(config.listen, old.config.listen))
      this.#logger.warn('listen changed; it takes effect after a restart');
    const kept = new Set([...next.routes.values()].map((r) => r.upstream));
    old.closeWhenDrained = [...old.routes.values()]
      .map((r) => r.upstream)
      .filter((u) => !kept.has(u));
    this.#table = next;
    this.#allowedHosts = this.#hostsFor(config);
    this.#sessions.configure(sessionLimits(config));
    old.retired = true;
    this.#maybeCloseRetired(old);
    this.#logger.info(
      { routes: [...next.routes.values()].map((r) => r.config.name) },
      'configuration reloaded',
    );
  }

  /**
   * Stops accepting requests, lets in-flight requests finish (up to `shutdownTimeoutMs`), then cuts
   * the rest and closes every upstream. Long SSE streams are cut at the deadline.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#draining = true;
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const deadline = Date.now() + (this.#options.shutdownTimeoutMs ?? 10_000);
    while (this.#active > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (this.#active > 0)
      this.#logger.warn({ cut: this.#active }, 'shutdown deadline reached; closing connections');
    this.#server.closeAllConnections();
    await stopped;
    const table = this.#table;
    await Promise.allSettled([...table.routes.values()].map((r) => r.upstream.close()));
    this.#logger.info('gateway stopped');
  }

  #hostsFor(config: GatewayConfig): ReadonlySet<string> {
    if (config.allowed_hosts) return new Set(config.allowed_hosts.map((h) => h.toLowerCase()));
    const listen = this.#bound
      ? { host: this.#bound.address, port: this.#bound.port }
      : config.listen
        ? { host: config.listen.host ?? '127.0.0.1', port: config.listen.port ?? 8080 }
        : undefined;
    return new Set(defaultAllowedHosts(config.public_url, listen));
  }

  #buildTable(config: GatewayConfig, previous: RouteTable | undefined): RouteTable {
    const makeUpstream =
      this.#options.upstreams ??
      ((route: RouteConfig, cfg: GatewayConfig) =>
        createUpstream(route, cfg, { logger: this.#logger, metrics: this.#metrics }));
    const created: Upstream[] = [];
    const routes = new Map<string, ActiveRoute>();
    try {
      for (const route of config.routes) {
        const limits = resolveLimits(config, route);
        const before = previous
          ? [...previous.routes.values()].find((r) => r.config.name === route.name)
          : undefined;
        const reusable =
          before &&
          isDeepStrictEqual(before.config.upstream, route.upstream) &&
          before.limits.upstreamTimeoutMs === limits.upstreamTimeoutMs;
        const guard = this.#options.guards(route, config);
        let upstream: Upstream;
        if (reusable) upstream = before.upstream;
        else {
          upstream = makeUpstream(route, config);
          created.push(upstream);
        }
        routes.set(route.path, { config: route, guard, upstream, limits });
      }
    } catch (error) {
      for (const u of created) void u.close();
      throw error;
    }
    const origins = config.allowed_origins ?? defaultAllowedOrigins(config.public_url);
    return {
      config,
      routes,
      allowedOrigins: new Set(origins),
      inFlight: 0,
      retired: false,
      closeWhenDrained: [],
    };
  }

  #maybeCloseRetired(table: RouteTable): void {
    if (!table.retired || table.inFlight > 0 || table.closeWhenDrained.length === 0) return;
    const closing = table.closeWhenDrained;
    table.closeWhenDrained = [];
    for (const u of closing) void u.close();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const table = this.#table;
    table.inFlight++;
    this.#active++;
    const ctx = new RequestContext(
      req,
      res,
      table,
      this.#release,
      this.#logger,
      this.#metrics,
      this.#options.recordRejection,
    );
    // One 'close' listener per request does all the cleanup (in-flight gauge, upstream abort,
    // stream teardown); it is shared by every request and finds the request through `res`.
    (res as ContextResponse)[CONTEXT] = ctx;
    res.on('close', onResponseClose);
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

  /** A response closed: the request no longer counts as in flight. */
  readonly #release = (table: RouteTable): void => {
    this.#active--;
    table.inFlight--;
    this.#maybeCloseRetired(table);
  };

  async #dispatch(ctx: RequestContext, table: RouteTable): Promise<void> {
    const { req, res } = ctx;
    if (this.#draining) res.setHeader('connection', 'close');
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
    if (!probe && !isHostAllowed(req.headers.host, this.#allowedHosts))
      return ctx.reject(403, 'host_forbidden', 'deny');
    if (!target.ok) return ctx.reject(400, 'invalid_request', 'deny');
    ctx.path = target.path;

    if (target.path === '/healthz' && (method === 'GET' || method === 'HEAD'))
      return ctx.sendJson(this.#draining ? 503 : 200, {
        status: this.#draining ? 'stopping' : 'ok',
      });
    if (target.path === '/readyz' && (method === 'GET' || method === 'HEAD'))
      return this.#ready(ctx);
    if (target.path === '/metrics' && method === 'GET' && (this.#options.exposeMetrics ?? true)) {
      const text = await this.#metrics.render();
      return ctx.send(200, { 'content-type': this.#metrics.contentType }, text);
    }
    if (target.path === METADATA_PREFIX || target.path.startsWith(`${METADATA_PREFIX}/`))
      return this.#metadata(ctx, table, target.path.slice(METADATA_PREFIX.length));

    const route = table.routes.get(target.path);
    if (!route) return ctx.sendJson(404, { error: 'not_found' });
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

    let body: Buffer | undefined;
    if (method === 'POST') {
      if (!isJsonContentType(req.headers['content-type']))
        return ctx.reject(415, 'unsupported_media_type', 'deny');
      try {
        body = await readBody(req, route.limits.maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          res.setHeader('connection', 'close');
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
    await this.#forward(ctx, route, decision, method, target.query, body, headers);
  }

  async #forward(
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
      return ctx.sendJson(503, { error: 'audit_unavailable' }, { 'retry-after': '5' });
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

  async #ready(ctx: RequestContext): Promise<void> {
    if (this.#draining) return ctx.sendJson(503, { status: 'stopping' });
    const failing: string[] = [];
    for (const check of this.#readiness) {
      let ok = false;
      try {
        ok = await check.check();
      } catch {
        ok = false;
      }
      if (!ok) failing.push(check.name);
    }
    return failing.length === 0
      ? ctx.sendJson(200, { status: 'ready' })
      : ctx.sendJson(503, { status: 'not_ready', failing });
  }

  #metadata(ctx: RequestContext, table: RouteTable, rest: string): void {
    const route =
      rest === ''
        ? table.routes.size === 1
          ? [...table.routes.values()][0]
          : undefined
        : table.routes.get(rest);
    const cors = {
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'GET, OPTIONS',
      'access-control-allow-headers': 'MCP-Protocol-Version, Content-Type',
    };
    if (!route) return ctx.sendJson(404, { error: 'not_found' }, cors);
    const method = ctx.req.method ?? 'GET';
    if (method === 'OPTIONS')
      return ctx.send(204, { ...cors, 'access-control-max-age': '600' }, '');
    if (method !== 'GET' && method !== 'HEAD')
      return ctx.sendJson(405, { error: 'method_not_allowed' }, { ...cors, allow: 'GET, OPTIONS' });
    return ctx.sendJson(200, route.guard.metadata(), { ...cors, 'cache-control': 'max-age=300' });
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

/** Per-request state and answer helpers. */
class RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly trace: RequestTrace;
  readonly #started = process.hrtime.bigint();
  // Epoch ms; formatted only when a rejection record needs it.
  readonly #arrivedAt = Date.now();
  readonly #table: RouteTable;
  readonly #release: (table: RouteTable) => void;
  readonly #logger: Logger;
  readonly #metrics: GatewayMetrics;
  readonly #record: ((r: Rejection) => Promise<void>) | undefined;
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

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    table: RouteTable,
    release: (table: RouteTable) => void,
    logger: Logger,
    metrics: GatewayMetrics,
    record: ((r: Rejection) => Promise<void>) | undefined,
  ) {
    this.req = req;
    this.res = res;
    this.trace = startTrace(req.headers.traceparent);
    this.#table = table;
    this.#release = release;
    this.#logger = logger;
    this.#metrics = metrics;
    this.#record = record;
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

  /** A controller aborted when the client goes away before the answer is complete. */
  abortOnClose(): UpstreamAbort {
    this.#controller ??= new UpstreamAbort();
    return this.#controller;
  }

  /** The response closed (finished or cut): releases what this request holds. */
  closed(): void {
    this.#release(this.#table);
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
    const record = this.#record;
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
    this.sendJson(
      answer.status,
      { error: answer.reason },
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
    this.sendJson(answer.status, { error: answer.reason }, headers);
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
      return this.sendJson(503, { error: answer.reason }, { ...this.cors, 'retry-after': '5' });
    this.sendJson(404, { error: 'session_not_found' }, this.cors);
  }

  sendJson(status: number, value: unknown, headers: Record<string, string> = {}): void {
    this.send(status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
  }

  send(status: number, headers: Record<string, string>, body: string): void {
    const bytes = Buffer.from(body);
    this.res.writeHead(status, {
      'x-request-id': this.trace.requestId,
      ...headers,
      'content-length': String(bytes.length),
    });
    this.res.end(this.req.method === 'HEAD' ? undefined : bytes);
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

/** The state of one body being read (see `readBody`). */
interface BodyReading {
  readonly limit: number;
  readonly chunks: Buffer[];
  size: number;
  resolve: ((body: Buffer) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

const READING = Symbol('mcp-iam.body');

/** A request whose body is being read. */
interface ReadingRequest extends IncomingMessage {
  [READING]?: BodyReading;
}

function settleBody(req: ReadingRequest, error: Error | undefined): void {
  const reading = req[READING];
  if (!reading?.resolve) return;
  const { resolve, reject } = reading;
  reading.resolve = undefined;
  reading.reject = undefined;
  req[READING] = undefined;
  if (error) reject?.(error);
  else {
    const { chunks, size } = reading;
    resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  }
}

function onBodyData(this: ReadingRequest, chunk: Buffer): void {
  const reading = this[READING];
  if (!reading) return;
  reading.size += chunk.length;
  if (reading.size <= reading.limit) {
    reading.chunks.push(chunk);
    return;
  }
  settleBody(this, new BodyTooLarge());
  this.destroy();
}

function onBodyEnd(this: ReadingRequest): void {
  settleBody(this, undefined);
}

function onBodyError(this: ReadingRequest, error: Error): void {
  settleBody(this, error);
}

function onBodyClose(this: ReadingRequest): void {
  // Every request closes; only one whose body is still being read broke off (and an Error, with
  // its stack, is only built then).
  if (this[READING]?.resolve) settleBody(this, new Error('request body broke off'));
}

/**
 * Reads a request body up to `limit` bytes; rejects with `BodyTooLarge` beyond it (the request is
 * then destroyed) and with an error when the body breaks off. Plain stream events rather than
 * async iteration, and listeners shared by every request (the state hangs on the request): no
 * iterator, no promise per chunk and no closures per request. The listeners stay until the
 * request is gone; once the body is settled they do nothing.
 */
function readBody(req: ReadingRequest, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    req[READING] = { limit, chunks: [], size: 0, resolve, reject };
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
    req.on('error', onBodyError);
    req.on('close', onBodyClose);
  });
}

/** The request's `Mcp-Session-Id` (several lines count as one value, which no session has). */
function sessionIdOf(req: IncomingMessage): string | undefined {
  const value = req.headers['mcp-session-id'];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The session binding limits of a configuration (`sessions`). */
function sessionLimits(config: GatewayConfig): { idleTimeoutMs?: number; maxBindings?: number } {
  const sessions = config.sessions;
  return {
    ...(sessions?.idle_timeout_s !== undefined
      ? { idleTimeoutMs: sessions.idle_timeout_s * 1000 }
      : {}),
    ...(sessions?.max_bindings !== undefined ? { maxBindings: sessions.max_bindings } : {}),
  };
}

/** What may be logged of an error: its name, code and message (never a cause chain or a request). */
function safeError(error: unknown): { name?: string; code?: string; message?: string } {
  if (error instanceof Error)
    return {
      name: error.name,
      code: (error as { code?: string }).code,
      message: error.message.slice(0, 500),
    };
  return { message: String(error).slice(0, 200) };
}
