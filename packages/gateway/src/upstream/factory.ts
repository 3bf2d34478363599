/** Builds the upstream of a configured route: `HttpUpstream` for `url`, `StdioUpstream` for `command`. */
import type { Logger } from 'pino';
import { resolveLimits, type GatewayConfig, type RouteConfig } from '../config/schema.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import { HttpUpstream } from './http.js';
import { StdioUpstream } from './stdio.js';
import type { Upstream } from './types.js';

/** Shared services an upstream may use. */
export interface UpstreamServices {
  readonly logger?: Logger;
  readonly metrics?: GatewayMetrics;
}

/** Creates the upstream of one route (the configuration must have passed `loadConfig`). */
export function createUpstream(
  route: RouteConfig,
  config: GatewayConfig,
  services: UpstreamServices = {},
): Upstream {
  const limits = resolveLimits(config, route);
  const up = route.upstream;
  if (up.url !== undefined)
    return new HttpUpstream({ url: up.url, timeoutMs: limits.upstreamTimeoutMs });
  return new StdioUpstream({
    name: route.name,
    command: up.command as string,
    args: up.args,
    env: up.env,
    cwd: up.cwd,
    isolation: up.isolation ?? 'per-subject',
    idleTimeoutMs: (up.idle_timeout_s ?? 300) * 1000,
    maxProcesses: up.max_processes,
    timeoutMs: limits.upstreamTimeoutMs,
    logger: services.logger,
    onProcessCount: (n) => services.metrics?.setStdioProcesses(route.name, n),
    onDroppedNotification: (method) =>
      services.metrics?.countDroppedNotification(route.name, method),
  });
}
