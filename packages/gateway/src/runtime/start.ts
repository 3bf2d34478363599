/**
 * Starts a complete gateway from a configuration file: the token verifier (one per process, all
 * issuers), the audit sink, the token-exchange client, one core resource server per route, the HTTP
 * server, readiness checks, metrics feeds and SIGHUP reload. `mcp-iam gateway` is this plus signals.
 */
import { dirname, resolve } from 'node:path';
import {
  AuditRecorder,
  buildAuditRecord,
  createAccessTokenVerifier,
  createTokenExchangeClient,
  UnavailableError,
  type IamAccessTokenVerifier,
} from '@mcp-iam/core';
import {
  createAuditSink,
  PostgresAuditStore,
  SqliteAuditStore,
  type AuditStore,
  type ManagedAuditSink,
} from '@mcp-iam/audit';
import type { Logger } from 'pino';
import {
  loadConfigFile,
  resourceUrl,
  trustedIssuer,
  verifierProblems,
  type GatewayConfig,
  type LoadConfigOptions,
} from '../config/index.js';
import {
  Gateway,
  createGatewayLogger,
  installSighupReload,
  type Rejection,
} from '../server/index.js';
import { GatewayMetrics } from '../metrics/index.js';
import { createGuardFactory, randomFingerprintKey } from './guard.js';

/** Options of {@link startGateway}. */
export interface StartGatewayOptions {
  /** The YAML configuration file. */
  readonly configFile: string;
  /** Environment for `${ENV}` interpolation (default `process.env`). */
  readonly env?: LoadConfigOptions['env'];
  /** Logger (default pino JSON on stdout at the configured level). */
  readonly logger?: Logger;
  /** Install a SIGHUP handler that reloads routes and policies (default false; the CLI sets it). */
  readonly reloadOnSighup?: boolean;
}

/** A running gateway and what it is made of. */
export interface RunningGateway {
  /** Base URL the gateway listens on (the real port when the config says 0). */
  readonly url: string;
  readonly gateway: Gateway;
  readonly config: GatewayConfig;
  readonly verifier: IamAccessTokenVerifier;
  readonly audit: ManagedAuditSink;
  /** Stops accepting, drains in-flight requests, flushes the audit sink, stops timers. */
  close(): Promise<void>;
}

/** Opens the audit sink the configuration asks for; relative paths are relative to the config file. */
export async function openAuditSink(
  config: GatewayConfig,
  configFile: string,
): Promise<ManagedAuditSink> {
  const audit = config.audit;
  const base = dirname(resolve(configFile));
  const mode = audit.mode ?? 'strict';
  let store: AuditStore | undefined;
  let spoolDir = resolve(base, audit.path ?? './data/audit');
  switch (audit.sink) {
    case 'spool':
      break;
    case 'sqlite': {
      const file = resolve(base, audit.path ?? './data/audit.sqlite');
      spoolDir = `${file}.spool`;
      store = SqliteAuditStore.open({ path: file });
      break;
    }
    case 'postgres': {
      if (!audit.url) throw new Error('audit.url: the postgres sink needs a connection string');
      store = await PostgresAuditStore.open({ connectionString: audit.url });
      break;
    }
    case 'stdout':
      throw new Error('audit.sink: stdout is not durable; use spool, sqlite or postgres');
  }
  return createAuditSink({ mode, spool: { dir: spoolDir }, ...(store ? { store } : {}) });
}

/**
 * Starts the gateway described by a configuration file.
 *
 * @example
 * ```ts
 * const gw = await startGateway({ configFile: 'gateway.yaml' });
 * console.log(gw.url);
 * await gw.close();
 * ```
 */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const { config } = await loadConfigFile(options.configFile, {
    ...(options.env ? { env: options.env } : {}),
    rules: [verifierProblems],
  });
  const logger = options.logger ?? createGatewayLogger({ level: config.log_level ?? 'info' });
  const verifier = createAccessTokenVerifier({ issuers: config.issuers.map(trustedIssuer) });
  for (const route of config.routes) {
    verifier.checkContext({
      resource: resourceUrl(config, route),
      ...(route.audiences ? { audiences: route.audiences } : {}),
      ...(route.issuers ? { issuers: route.issuers } : {}),
    });
  }
  const audit = await openAuditSink(config, options.configFile);
  const fingerprintKey = config.audit.fingerprint_key ?? randomFingerprintKey();
  const firstIssuer = config.issuers[0]!;
  const exchange = config.client
    ? createTokenExchangeClient({
        issuer: firstIssuer.issuer,
        ...(config.client.token_endpoint ? { tokenEndpoint: config.client.token_endpoint } : {}),
        clientId: config.client.client_id,
        clientAuth: {
          method: 'client_secret_basic',
          clientSecret: config.client.client_secret ?? '',
        },
        allowInsecureLoopbackHttp: firstIssuer.allow_insecure_loopback_http ?? false,
      })
    : undefined;
  const metrics = new GatewayMetrics();
  const auditMode = config.audit.mode === 'best-effort' ? 'best-effort' : 'strict';
  const onAuditError = (error: unknown): void => {
    logger.error(
      { err: error instanceof Error ? error.message : String(error) },
      'audit write failed',
    );
  };
  // The same failure policy as the routes' core pipelines (GuardContext.auditMode).
  const recorder = new AuditRecorder({
    sink: audit,
    onFailure: auditMode === 'strict' ? 'refuse' : 'answer',
    onError: onAuditError,
  });
  const recordRejection = async (rejection: Rejection): Promise<void> => {
    const record = buildAuditRecord({
      outcome: rejection.outcome,
      reason: rejection.reason,
      startedAt: Date.parse(rejection.time),
      endedAt: Date.parse(rejection.time) + rejection.durationMs,
      requestId: rejection.requestId,
      ...(rejection.route ? { route: rejection.route } : {}),
      operation: { method: rejection.method },
      status: rejection.status,
      detail: `path ${rejection.path}`,
    });
    if (!(await recorder.record(record)))
      throw new UnavailableError('audit_unavailable', 'audit record could not be written');
  };
  const gateway = new Gateway({
    config,
    guards: createGuardFactory({
      verifier,
      audit,
      fingerprintKey,
      auditMode,
      ...(exchange ? { exchange } : {}),
      onAuditError,
    }),
    logger,
    metrics,
    recordRejection,
    readiness: [
      { name: 'issuers', check: () => verifier.ready() },
      { name: 'audit', check: () => audit.health().ready },
    ],
  });
  await verifier.start();
  // Core and the exchange client keep monotonic totals; the gateway's counters get the deltas.
  const seen = {
    introspectionHits: 0,
    introspectionRequests: 0,
    exchangeHits: 0,
    exchangeMisses: 0,
  };
  const feedMetrics = (): void => {
    let introspectionHits = 0;
    let introspectionRequests = 0;
    for (const issuer of verifier.state().issuers) {
      introspectionHits += issuer.introspection?.cacheHits ?? 0;
      introspectionRequests += issuer.introspection?.requests ?? 0;
      const keySet = issuer.keySet;
      metrics.setKeySetState(
        issuer.issuer,
        !keySet ? 'unknown' : !keySet.usable ? 'failed' : keySet.stale ? 'stale' : 'fresh',
      );
    }
    metrics.countIntrospectionCache('hit', introspectionHits - seen.introspectionHits);
    metrics.countIntrospectionCache('miss', introspectionRequests - seen.introspectionRequests);
    seen.introspectionHits = introspectionHits;
    seen.introspectionRequests = introspectionRequests;
    if (exchange) {
      const { hits, misses } = exchange.cacheStats;
      metrics.countExchangeCache('hit', hits - seen.exchangeHits);
      metrics.countExchangeCache('miss', misses - seen.exchangeMisses);
      seen.exchangeHits = hits;
      seen.exchangeMisses = misses;
    }
    metrics.setAuditQueueDepth(audit.counters().queueDepth);
  };
  // Values kept by core and the audit sink are copied into the gateway's metrics at each scrape.
  metrics.onRender(feedMetrics);
  const address = await gateway.listen();
  const uninstall = options.reloadOnSighup
    ? installSighupReload({
        gateway,
        configPath: options.configFile,
        logger,
        ...(options.env ? { load: { env: options.env } } : {}),
      })
    : () => undefined;
  logger.info({ url: address.url, routes: config.routes.map((r) => r.path) }, 'gateway listening');
  return {
    url: address.url,
    gateway,
    config,
    verifier,
    audit,
    async close() {
      uninstall();
      await gateway.close();
      verifier.close();
      await audit.close();
    },
  };
}
