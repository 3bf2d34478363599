/**
 * The gateway's route table: each route's guard, upstream and limits, built from a configuration
 * and swapped as a whole on reload. Every request counts against the table it started on, so a
 * retired table closes the upstreams its successor did not keep only once its last request ended.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import {
  resolveLimits,
  type GatewayConfig,
  type ResolvedLimits,
  type RouteConfig,
} from '../config/schema.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { createUpstream } from '../upstream/factory.js';
import type { Upstream } from '../upstream/types.js';
import { defaultAllowedOrigins } from './hosts.js';
import type { RouteGuard } from './seam.js';

/** Builds the guard of one route (the lead connects this to @mcp-iam/core's pipeline). */
export type GuardFactory = (route: RouteConfig, config: GatewayConfig) => RouteGuard;

/** Builds the upstream of one route; default `createUpstream`. */
export type UpstreamFactory = (route: RouteConfig, config: GatewayConfig) => Upstream;

/** One route with everything needed to serve it. */
export interface ActiveRoute {
  readonly config: RouteConfig;
  readonly guard: RouteGuard;
  readonly upstream: Upstream;
  readonly limits: ResolvedLimits;
}

/** An immutable route table; swapped as a whole on reload. */
export interface RouteTable {
  readonly config: GatewayConfig;
  /** Routes by path. */
  readonly routes: ReadonlyMap<string, ActiveRoute>;
  readonly allowedOrigins: ReadonlySet<string>;
  inFlight: number;
  retired: boolean;
  /** Upstreams to close once this table has no request in flight. */
  closeWhenDrained: Upstream[];
}

/** What `RouteTables` builds routes with. */
export interface RouteTablesOptions {
  readonly guards: GuardFactory;
  /** Default: HTTP or stdio from the route's `upstream` (`createUpstream`). */
  readonly upstreams?: UpstreamFactory;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
}

/** The route table in force, its atomic replacement, and the requests in flight on each table. */
export class RouteTables {
  readonly #options: RouteTablesOptions;
  #current: RouteTable;
  /** Requests in flight over every table (graceful shutdown waits for them). */
  #inFlight = 0;

  /** Builds the table of `config`; throws when a guard or upstream cannot be built. */
  constructor(options: RouteTablesOptions, config: GatewayConfig) {
    this.#options = options;
    this.#current = this.#build(config, undefined);
  }

  /** The table new requests are served from. */
  get current(): RouteTable {
    return this.#current;
  }

  /** Requests not yet released, over every table. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Counts a request against the current table, which it must hand back to `release`. */
  acquire(): RouteTable {
    const table = this.#current;
    table.inFlight++;
    this.#inFlight++;
    return table;
  }

  /** A request on `table` finished: a retired table with no request left closes its upstreams. */
  release(table: RouteTable): void {
    this.#inFlight--;
    table.inFlight--;
    closeIfDrained(table);
  }

  /**
   * Makes the table of `config` current. Every guard and upstream is built first; if any fails the
   * current table stays and the error is thrown. Upstreams whose settings did not change are kept
   * (stdio processes survive); replaced ones are closed once their last request finished.
   */
  swap(config: GatewayConfig): RouteTable {
    const old = this.#current;
    const next = this.#build(config, old);
    const kept = new Set([...next.routes.values()].map((r) => r.upstream));
    old.closeWhenDrained = [...old.routes.values()]
      .map((r) => r.upstream)
      .filter((u) => !kept.has(u));
    this.#current = next;
    old.retired = true;
    closeIfDrained(old);
    return next;
  }

  /** Closes every upstream of the current table (shutdown, once no request is left). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.#current.routes.values()].map((r) => r.upstream.close()));
  }

  #build(config: GatewayConfig, previous: RouteTable | undefined): RouteTable {
    const options = this.#options;
    const makeUpstream =
      options.upstreams ??
      ((route: RouteConfig, cfg: GatewayConfig) =>
        createUpstream(route, cfg, { logger: options.logger, metrics: options.metrics }));
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
        const guard = options.guards(route, config);
        let upstream: Upstream;
        if (reusable) upstream = before.upstream;
        else {
          upstream = makeUpstream(route, config);
          created.push(upstream);
        }
        routes.set(route.path, { config: route, guard, upstream, limits });
        options.logger.debug(
          { route: route.name, steps: routePipeline(route, guard) },
          'route pipeline',
        );
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
}

function closeIfDrained(table: RouteTable): void {
  if (!table.retired || table.inFlight > 0 || table.closeWhenDrained.length === 0) return;
  const closing = table.closeWhenDrained;
  table.closeWhenDrained = [];
  for (const u of closing) void u.close();
}

/**
 * Every step one request of `route` goes through, in order: the gateway's own checks, the guard's
 * steps, then what follows an allow. One list a reader can hold against the code (see
 * docs/architecture.md).
 */
export function routePipeline(route: RouteConfig, guard: RouteGuard): string[] {
  const http = route.upstream.url !== undefined;
  const exchanging = route.downstream?.mode === 'token-exchange';
  return [
    'request-id',
    'host',
    'path',
    'route',
    'origin',
    'method',
    'media-type',
    'body-limit',
    ...(guard.steps ?? ['guard']),
    ...(http ? ['session'] : []),
    ...(exchanging ? ['upstream-token'] : []),
    'forward',
    'audit',
    'stream',
  ];
}
