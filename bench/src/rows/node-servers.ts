/**
 * Rows served by the harness's own Node processes: "direct" (a dedicated fixed-answer upstream,
 * no proxy) and "bare-proxy" (node:http + undici, no auth) in front of the shared upstream.
 */
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchRow, RunningRow } from './types.js';

/** The compiled entry point of the harness's servers. */
export const SERVERS_MAIN = fileURLToPath(new URL('../servers/main.js', import.meta.url));

async function startNodeServer(
  ctx: BenchContext,
  name: string,
  args: readonly string[],
): Promise<RunningRow> {
  const { process: proc, port } = await ctx.spawnServer(
    name,
    process.execPath,
    [...ctx.nodeArgs, SERVERS_MAIN, ...args],
    { readPort: true },
  );
  return {
    url: `http://127.0.0.1:${port}${ctx.mcpPath}`,
    pids: () => [proc.pid],
    stop: () => proc.stop(),
  };
}

/** Row 1: straight to a fixed-answer upstream of its own (pinned like the servers under test). */
export const directRow: BenchRow = {
  id: 'direct',
  title: 'direct to upstream',
  description:
    'The fixed-answer upstream itself, no proxy: the ceiling. Its own instance, pinned like the proxies.',
  availability: () => Promise.resolve({ available: true }),
  start: (ctx) => startNodeServer(ctx, 'direct-upstream', ['fixed-upstream']),
  token: (kind, ctx) => ctx.issuer.mint(kind),
};

/** Row 2: the bare Node reverse proxy, the floor for a Node gateway. */
export const bareProxyRow: BenchRow = {
  id: 'bare-proxy',
  title: 'bare Node proxy',
  description:
    'node:http + undici reverse proxy with no authentication: the floor for any Node gateway.',
  availability: () => Promise.resolve({ available: true }),
  start: (ctx) =>
    startNodeServer(ctx, 'bare-proxy', ['bare-proxy', new URL(ctx.upstreamUrl).origin]),
  token: (kind, ctx) => ctx.issuer.mint(kind),
};
