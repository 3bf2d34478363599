/**
 * The gateway's own endpoints: liveness (`/healthz`), readiness (`/readyz`), Prometheus metrics
 * (`/metrics`) and each route's RFC 9728 protected resource metadata.
 */
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { RequestContext } from './context.js';
import type { RouteTable } from './routes.js';

/** One readiness condition reported by `/readyz` (e.g. "issuer keys loaded", "audit sink open"). */
export interface ReadinessCheck {
  readonly name: string;
  check(): boolean | Promise<boolean>;
}

/** Where the RFC 9728 metadata lives; the route's path follows it. */
export const METADATA_PREFIX = '/.well-known/oauth-protected-resource';

/** `/healthz`: 200 while serving, 503 once the gateway is shutting down. */
export function serveHealth(ctx: RequestContext, draining: boolean): void {
  ctx.sendJson(draining ? 503 : 200, { status: draining ? 'stopping' : 'ok' });
}

/** `/readyz`: 200 when every check passes, else 503 with the names of those that fail. */
export async function serveReadiness(
  ctx: RequestContext,
  checks: readonly ReadinessCheck[],
  draining: boolean,
): Promise<void> {
  if (draining) return ctx.sendJson(503, { status: 'stopping' });
  const failing: string[] = [];
  for (const check of checks) {
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

/** `/metrics`: the Prometheus text of `metrics`. */
export async function serveMetrics(ctx: RequestContext, metrics: GatewayMetrics): Promise<void> {
  const text = await metrics.render();
  ctx.send(200, { 'content-type': metrics.contentType }, text);
}

/**
 * The protected resource metadata of the route at `rest` (the path after `METADATA_PREFIX`); the
 * bare prefix names the only route when there is one.
 */
export function serveMetadata(ctx: RequestContext, table: RouteTable, rest: string): void {
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
  if (!route)
    return ctx.sendError(404, 'not_found', undefined, cors, 'No protected resource at this path.');
  const method = ctx.req.method ?? 'GET';
  if (method === 'OPTIONS') return ctx.send(204, { ...cors, 'access-control-max-age': '600' }, '');
  if (method !== 'GET' && method !== 'HEAD')
    return ctx.sendError(
      405,
      'method_not_allowed',
      undefined,
      { ...cors, allow: 'GET, OPTIONS' },
      'Use GET.',
    );
  return ctx.sendJson(200, route.guard.metadata(), { ...cors, 'cache-control': 'max-age=300' });
}
