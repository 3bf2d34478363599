/**
 * Prometheus metrics of the gateway: requests by route, outcome and reason, latencies, requests in
 * flight, and gauges/counters that the verification, exchange and audit parts feed through small
 * setter functions. Each `GatewayMetrics` owns its registry, so several gateways can share a process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Options of `GatewayMetrics`. */
export interface GatewayMetricsOptions {
  /** Also collect Node.js process metrics (default true). */
  readonly processMetrics?: boolean;
  /** Metric name prefix (default `mcp_iam_`). */
  readonly prefix?: string;
}

/** Key-set state of an issuer, as a gauge value: 0 unknown, 1 fresh, 2 stale (last good), 3 failed. */
export type KeySetState = 'unknown' | 'fresh' | 'stale' | 'failed';

const KEY_SET_STATE: Record<KeySetState, number> = { unknown: 0, fresh: 1, stale: 2, failed: 3 };
const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/**
 * The gateway's metrics registry.
 *
 * @example
 * ```ts
 * const metrics = new GatewayMetrics();
 * metrics.setAuditQueueDepth(3);
 * const text = await metrics.render();
 * ```
 */
export class GatewayMetrics {
  /** The prom-client registry holding every metric below. */
  readonly registry = new Registry();
  readonly #beforeRender: Array<() => void> = [];
  readonly #requests: Counter<'route' | 'outcome' | 'reason' | 'status'>;
  readonly #duration: Histogram<'route' | 'outcome'>;
  readonly #upstream: Histogram<'route' | 'status'>;
  readonly #inFlight: Gauge<'route'>;
  // In-flight counts per route, copied into the gauge when it is scraped: two gauge updates per
  // request (label hashing each time) become two map updates.
  readonly #inFlightByRoute = new Map<string, number>();
  readonly #keySet: Gauge<'issuer'>;
  readonly #introspection: Counter<'result'>;
  readonly #exchange: Counter<'result'>;
  readonly #auditQueue: Gauge;
  readonly #stdio: Gauge<'route'>;
  readonly #reloads: Counter<'result'>;

  constructor(options: GatewayMetricsOptions = {}) {
    const p = options.prefix ?? 'mcp_iam_';
    const registers = [this.registry];
    this.#requests = new Counter({
      name: `${p}requests_total`,
      help: 'Requests by route, outcome (allow|deny|error), reason code and status.',
      labelNames: ['route', 'outcome', 'reason', 'status'],
      registers,
    });
    this.#duration = new Histogram({
      name: `${p}request_duration_seconds`,
      help: 'Time from request arrival to the start of the answer.',
      labelNames: ['route', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#upstream = new Histogram({
      name: `${p}upstream_duration_seconds`,
      help: 'Time until the upstream answered with headers.',
      labelNames: ['route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#inFlight = new Gauge({
      name: `${p}requests_in_flight`,
      help: 'Requests being handled, by route.',
      labelNames: ['route'],
      registers,
      collect: () => {
        for (const [route, count] of this.#inFlightByRoute) this.#inFlight.set({ route }, count);
      },
    });
    this.#keySet = new Gauge({
      name: `${p}issuer_key_set_state`,
      help: 'Key set state per issuer: 0 unknown, 1 fresh, 2 stale, 3 failed.',
      labelNames: ['issuer'],
      registers,
    });
    this.#introspection = new Counter({
      name: `${p}introspection_cache_total`,
      help: 'Introspection cache lookups by result (hit|miss).',
      labelNames: ['result'],
      registers,
    });
    this.#exchange = new Counter({
      name: `${p}token_exchange_cache_total`,
      help: 'Exchanged-token cache lookups by result (hit|miss).',
      labelNames: ['result'],
      registers,
    });
    this.#auditQueue = new Gauge({
      name: `${p}audit_queue_depth`,
      help: 'Audit records waiting to be stored.',
      registers,
    });
    this.#stdio = new Gauge({
      name: `${p}stdio_processes`,
      help: 'Live stdio upstream processes by route.',
      labelNames: ['route'],
      registers,
    });
    this.#reloads = new Counter({
      name: `${p}config_reloads_total`,
      help: 'Configuration reloads by result (ok|error).',
      labelNames: ['result'],
      registers,
    });
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  /** Counts one answered request and its duration (seconds until the answer started). */
  observeRequest(
    route: string,
    outcome: 'allow' | 'deny' | 'error',
    reason: string,
    status: number,
    seconds: number,
  ): void {
    this.#requests.inc({ route, outcome, reason, status: String(status) });
    this.#duration.observe({ route, outcome }, seconds);
  }

  /** Records how long the upstream took to answer with headers. */
  observeUpstream(route: string, status: number | 'error', seconds: number): void {
    this.#upstream.observe({ route, status: String(status) }, seconds);
  }

  /** Marks a request as started (+1) or finished (-1) on a route. */
  addInFlight(route: string, delta: 1 | -1): void {
    this.#inFlightByRoute.set(route, (this.#inFlightByRoute.get(route) ?? 0) + delta);
  }

  /** Sets an issuer's key-set state. */
  setKeySetState(issuer: string, state: KeySetState): void {
    this.#keySet.set({ issuer }, KEY_SET_STATE[state]);
  }

  /** Counts introspection cache lookups (`count` of them, default 1). */
  countIntrospectionCache(result: 'hit' | 'miss', count = 1): void {
    if (count > 0) this.#introspection.inc({ result }, count);
  }

  /** Counts exchanged-token cache lookups (`count` of them, default 1). */
  countExchangeCache(result: 'hit' | 'miss', count = 1): void {
    if (count > 0) this.#exchange.inc({ result }, count);
  }

  /** Sets the number of audit records waiting to be stored. */
  setAuditQueueDepth(depth: number): void {
    this.#auditQueue.set(depth);
  }

  /** Sets the number of live stdio processes of a route. */
  setStdioProcesses(route: string, count: number): void {
    this.#stdio.set({ route }, count);
  }

  /** Counts a configuration reload. */
  countReload(result: 'ok' | 'error'): void {
    this.#reloads.inc({ result });
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    for (const refresh of this.#beforeRender) refresh();
    return this.registry.metrics();
  }

  /** Registers a function that brings fed values up to date right before each `render()`. */
  onRender(refresh: () => void): void {
    this.#beforeRender.push(refresh);
  }

  /** Content type of `render()`'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
