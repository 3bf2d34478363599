/**
 * The gateway: its node:http listener and lifecycle. Listening, reloading the configuration
 * (an atomic route-table swap), readiness conditions, requests node:http refuses before parsing
 * them, and graceful shutdown. Serving each request is the `Dispatcher`'s job.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/schema.js';
import { GatewayMetrics } from '../metrics/metrics.js';
import type { ContextServices, Rejection } from './context.js';
import { Dispatcher } from './dispatch.js';
import type { ReadinessCheck } from './endpoints.js';
import { Forwarder } from './forward.js';
import { defaultAllowedHosts } from './hosts.js';
import { createGatewayLogger, safeError } from './logger.js';
import { RouteTables, type GuardFactory, type UpstreamFactory } from './routes.js';
import { SessionBindings } from './sessions.js';
import { startTrace } from './trace.js';

export type { Rejection } from './context.js';
export type { ReadinessCheck } from './endpoints.js';
export type { GuardFactory, UpstreamFactory } from './routes.js';

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
  readonly #routes: RouteTables;
  readonly #dispatcher: Dispatcher;
  #bound: AddressInfo | undefined;
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
    this.#routes = new RouteTables(
      {
        guards: options.guards,
        upstreams: options.upstreams,
        logger: this.#logger,
        metrics: this.#metrics,
      },
      options.config,
    );
    const services: ContextServices = {
      routes: this.#routes,
      logger: this.#logger,
      metrics: this.#metrics,
      recordRejection: options.recordRejection,
    };
    this.#dispatcher = new Dispatcher({
      services,
      forwarder: new Forwarder(this.#sessions, this.#logger, this.#metrics),
      readiness: this.#readiness,
      exposeMetrics: options.exposeMetrics ?? true,
    });
    this.#dispatcher.allowedHosts = this.#hostsFor(options.config);
    const dispatcher = this.#dispatcher;
    this.#server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000 }, (req, res) => {
      void dispatcher.handle(req, res);
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
    return this.#routes.current.config;
  }

  /** The underlying node:http server (for tests and embedding). */
  get server(): Server {
    return this.#server;
  }

  /** Starts listening on `config.listen` (default 127.0.0.1:8080); resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number; url: string }> {
    const listen = this.#routes.current.config.listen ?? {};
    const host = listen.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(listen.port ?? 8080, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#bound = this.#server.address() as AddressInfo;
    this.#dispatcher.allowedHosts = this.#hostsFor(this.#routes.current.config);
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
    const previous = this.#routes.current.config;
    const next = this.#routes.swap(config);
    if (!isDeepStrictEqual(config.listen, previous.listen))
      this.#logger.warn('listen changed; it takes effect after a restart');
    this.#dispatcher.allowedHosts = this.#hostsFor(config);
    this.#sessions.configure(sessionLimits(config));
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
    this.#dispatcher.draining = true;
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const deadline = Date.now() + (this.#options.shutdownTimeoutMs ?? 10_000);
    while (this.#routes.inFlight > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    if (this.#routes.inFlight > 0)
      this.#logger.warn(
        { cut: this.#routes.inFlight },
        'shutdown deadline reached; closing connections',
      );
    this.#server.closeAllConnections();
    await stopped;
    await this.#routes.closeAll();
    this.#logger.info('gateway stopped');
  }

  /** Host header values accepted: `allowed_hosts`, else those of `public_url` and the listener. */
  #hostsFor(config: GatewayConfig): ReadonlySet<string> {
    if (config.allowed_hosts) return new Set(config.allowed_hosts.map((h) => h.toLowerCase()));
    const listen = this.#bound
      ? { host: this.#bound.address, port: this.#bound.port }
      : config.listen
        ? { host: config.listen.host ?? '127.0.0.1', port: config.listen.port ?? 8080 }
        : undefined;
    return new Set(defaultAllowedHosts(config.public_url, listen));
  }
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
