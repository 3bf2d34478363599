/**
 * Rows 3–5: the mcp-iam gateway (cached JWT with policy and strict audit; a fresh JWT per
 * request; an opaque token checked by introspection, cached). They are not wired yet: the
 * gateway package does not export a server yet, so these rows report themselves as unavailable
 * and the tables show them as skipped. No figures are ever invented for them.
 *
 * To plug the gateway in, replace `notYet` in each row with real `availability`, `start`,
 * `token` (and `loadTokens` for the uncached row) implementations, for example:
 *
 * ```ts
 * async start(ctx) {
 *   const port = await ctx.freePort();
 *   const config = join(ctx.tempDir, 'gateway.yaml');
 *   // listen 127.0.0.1:port; issuer ctx.issuer.url (jwks_uri ctx.issuer.jwksUri; for the opaque
 *   // row introspection ctx.issuer.introspectionEndpoint with INTROSPECTION_CLIENT); route
 *   // ctx.mcpPath → upstream ctx.upstreamUrl; tool ctx.toolName needs ctx.requiredScope;
 *   // resource/audience ctx.audience; audit strict in ctx.tempDir.
 *   writeFileSync(config, gatewayYaml(ctx, port));
 *   const { process: gw } = await ctx.spawnServer('gateway', process.execPath,
 *     [join(ctx.repoRoot, 'packages/gateway/dist/cli.js'), 'gateway', '--config', config]);
 *   await ctx.waitForPort(port, gw);
 *   return { url: `http://127.0.0.1:${port}${ctx.mcpPath}`, pids: () => [gw.pid], stop: () => gw.stop() };
 * },
 * token: (kind, ctx) => ctx.issuer.mint(kind),        // opaque row: Promise.resolve(ctx.issuer.mintOpaque(kind))
 * loadTokens: (ctx, n) => Promise.all(Array.from({ length: n }, () => ctx.issuer.mint('valid'))),  // uncached row only
 * ```
 */
import type { Availability, BenchRow, RunningRow } from './types.js';

/** Why the gateway rows are skipped for now (shown in the tables). */
export const GATEWAY_NOT_READY =
  'not available yet: the gateway package does not export a server yet';

const notYet = {
  availability: (): Promise<Availability> =>
    Promise.resolve({ available: false, reason: GATEWAY_NOT_READY }),
  start: (): Promise<RunningRow> => Promise.reject(new Error(GATEWAY_NOT_READY)),
  token: (): Promise<string | null> => Promise.reject(new Error(GATEWAY_NOT_READY)),
};

/** Row 3: the gateway with a cached JWT verification, policy and strict audit. */
export const gatewayCachedRow: BenchRow = {
  id: 'gateway',
  title: 'mcp-iam gateway (cached JWT)',
  description:
    'The mcp-iam gateway: one JWT reused (verification cache), per-tool policy, strict audit, proxy to the upstream.',
  ...notYet,
};

/** Row 4: the gateway with a fresh JWT for every request (no verification cache hits). */
export const gatewayUncachedRow: BenchRow = {
  id: 'gateway-uncached',
  title: 'mcp-iam gateway (fresh JWT per request)',
  description:
    'The mcp-iam gateway with a distinct JWT on every request: full signature verification each time.',
  ...notYet,
};

/** Row 5: the gateway with an opaque token checked by RFC 7662 introspection (cached). */
export const gatewayOpaqueRow: BenchRow = {
  id: 'gateway-opaque',
  title: 'mcp-iam gateway (opaque token, introspection)',
  description:
    'The mcp-iam gateway with an opaque token, introspected at the fixture issuer and cached.',
  ...notYet,
};

/** The gateway rows, in table order; the registry includes them after the bare proxy. */
export const gatewayRows: readonly BenchRow[] = [
  gatewayCachedRow,
  gatewayUncachedRow,
  gatewayOpaqueRow,
];
