/**
 * Prometheus metrics of the gateway: requests by route, outcome and reason, latencies, requests in
 * flight, and gauges/counters that the verification, exchange and audit parts feed through small
 * setter functions. Each `GatewayMetrics` owns its registry, so several gateways can share a process.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

const STATUS_TEXT: string[] = [];

/** `String(status)`, without a new string for the common statuses. */
function statusText(status: number): string {
  if (status >= 0 && status < 600 && Number.isInteger(status))
    return (STATUS_TEXT[status] ??= String(status));
  return String(status);
}

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

/** One sample line of a histogram, in prom-client's shape. */
interface HistogramPoint {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly sharedLabels?: Readonly<Record<string, string>>;
  readonly value: number;
  readonly metricName: string;
  readonly exemplar?: null;
}

/** A histogram's samples, in prom-client's shape (`Registry` writes them out). */
interface HistogramData {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly values: HistogramPoint[];
  readonly aggregator: 'sum';
}

/** Counts and sum of one label set of a {@link LocalHistogram}. */
interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative); the last slot is above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram kept in plain arrays and registered in a prom-client registry as a custom
 * metric: the exposition is the one prom-client's `Histogram` writes, but an observation is a
 * bucket search and three additions on a series found by its label values, instead of prom-client's
 * per-call label validation, label hashing and closure (a measurable share of the gateway's
 * per-request CPU).
 */
class LocalHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #labelNames: readonly [string, string];
  readonly #bounds: readonly number[];
  /** Series by first label value, then second label value. */
  #series = new Map<string, Map<string, HistogramSeries>>();
  /** Every series in the order it first appeared (the order prom-client writes them in). */
  #ordered: HistogramSeries[] = [];

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly [string, string];
    buckets: readonly number[];
    registers: readonly Registry[];
  }) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    this.#bounds = options.buckets;
    for (const registry of options.registers)
      registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** Records one value for the label values `a` and `b` (in `labelNames` order). */
  observe(a: string, b: string, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    let inner = this.#series.get(a);
    if (!inner) {
      inner = new Map();
      this.#series.set(a, inner);
    }
    let series = inner.get(b);
    if (!series) {
      series = {
        labels: { [this.#labelNames[0]]: a, [this.#labelNames[1]]: b },
        counts: new Float64Array(this.#bounds.length + 1),
        sum: 0,
        count: 0,
      };
      inner.set(b, series);
      this.#ordered.push(series);
    }
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    series.counts[i] = (series.counts[i] as number) + 1;
    series.sum += value;
    series.count += 1;
  }

  /** prom-client's exposition shape (bucket labels apart from the series labels). */
  getForPromString(): Promise<HistogramData> {
    return Promise.resolve(this.#collect(false));
  }

  /** prom-client's JSON shape (`Registry.getMetricsAsJSON`). */
  get(): Promise<HistogramData> {
    return Promise.resolve(this.#collect(true));
  }

  reset(): void {
    this.#series = new Map();
    this.#ordered = [];
  }

  #collect(splay: boolean): HistogramData {
    const values: HistogramPoint[] = [];
    const bucket = `${this.name}_bucket`;
    // The same objects prom-client builds (its JSON keeps `exemplar`: null on buckets, undefined
    // on _sum and _count; `splay` merges the series labels into each sample's labels).
    const point = (
      labels: Record<string, string | number>,
      value: number,
      metricName: string,
      shared: Readonly<Record<string, string>>,
      exemplar: null | undefined,
    ): HistogramPoint =>
      splay
        ? { labels: { ...labels, ...shared }, value, metricName, exemplar }
        : { labels, sharedLabels: shared, value, metricName, exemplar };
    for (const series of this.#ordered) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.counts[i] as number;
        values.push(point({ le: bound }, cumulative, bucket, series.labels, null));
      });
      values.push(point({ le: '+Inf' }, series.count, bucket, series.labels, null));
      values.push(point({}, series.sum, `${this.name}_sum`, series.labels, undefined));
      values.push(point({}, series.count, `${this.name}_count`, series.labels, undefined));
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    };
  }
}

/** Pending increments of `requests_total`, by label values; folded into the counter when scraped. */
interface PendingCount {
  readonly labels: Readonly<Record<'route' | 'outcome' | 'reason' | 'status', string>>;
  count: number;
}

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
  // Request counts per label set, added to #requests when it is scraped (a map update per request
  // instead of prom-client's label validation and hashing).
  readonly #pendingRequests = new Map<string, PendingCount>();
  readonly #duration: LocalHistogram;
  readonly #upstream: LocalHistogram;
  readonly #inFlight: Gauge<'route'>;
  // In-flight counts per route, copied into the gauge when it is scraped: two gauge updates per
  // request (label hashing each time) become two map updates.
  readonly #inFlightByRoute = new Map<string, number>();
  readonly #keySet: Gauge<'issuer'>;
  readonly #introspection: Counter<'result'>;
  readonly #exchange: Counter<'result'>;
  readonly #auditQueue: Gauge;
  readonly #stdio: Gauge<'route'>;
  readonly #droppedNotifications: Counter<'route' | 'method'>;
  readonly #sessions: Gauge;
  readonly #reloads: Counter<'result'>;

  constructor(options: GatewayMetricsOptions = {}) {
    const p = options.prefix ?? 'mcp_iam_';
    const registers = [this.registry];
    this.#requests = new Counter({
      name: `${p}requests_total`,
      help: 'Requests by route, outcome (allow|deny|error), reason code and status.',
      labelNames: ['route', 'outcome', 'reason', 'status'],
      registers,
      collect: () => {
        for (const pending of this.#pendingRequests.values()) {
          if (pending.count === 0) continue;
          this.#requests.inc(pending.labels, pending.count);
          pending.count = 0;
        }
      },
    });
    this.#duration = new LocalHistogram({
      name: `${p}request_duration_seconds`,
      help: 'Time from request arrival to the start of the answer.',
      labelNames: ['route', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#upstream = new LocalHistogram({
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
    this.#droppedNotifications = new Counter({
      name: `${p}notifications_dropped_total`,
      help: 'Client notifications dropped because they name no pending request of their sender, by route and method.',
      labelNames: ['route', 'method'],
      registers,
    });
    this.#sessions = new Gauge({
      name: `${p}session_bindings`,
      help: 'Upstream sessions bound to the principal that created them.',
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
    const key = `${route}\u0000${outcome}\u0000${reason}\u0000${status}`;
    const pending = this.#pendingRequests.get(key);
    if (pending) pending.count++;
    else
      this.#pendingRequests.set(key, {
        labels: { route, outcome, reason, status: String(status) },
        count: 1,
      });
    this.#duration.observe(route, outcome, seconds);
  }

  /** Records how long the upstream took to answer with headers. */
  observeUpstream(route: string, status: number | 'error', seconds: number): void {
    this.#upstream.observe(
      route,
      typeof status === 'number' ? statusText(status) : status,
      seconds,
    );
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

  /** Counts a client notification dropped by a stdio route (`method` is one the route names). */
  countDroppedNotification(route: string, method: string): void {
    this.#droppedNotifications.inc({ route, method });
  }

  /** Sets the number of live session bindings. */
  setSessionBindings(count: number): void {
    this.#sessions.set(count);
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
