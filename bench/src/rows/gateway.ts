/**
 * Rows 3–5: the mcp-iam gateway (cached JWT with policy and strict audit; a fresh JWT per
 * request; an opaque token checked by introspection, cached). Each row runs the real gateway CLI
 * (`mcp-iam gateway --config FILE`) as its own pinned process, configured against the fixture
 * issuer, with a per-tool policy and a strict audit spool in the row's temp dir.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INTROSPECTION_CLIENT } from '../fixtures/issuer.js';
import type { Availability, BenchContext, BenchRow, RunningRow } from './types.js';

function cliPath(ctx: BenchContext): string {
  return join(ctx.repoRoot, 'packages/cli/dist/main.js');
}

function availability(ctx: BenchContext): Promise<Availability> {
  return Promise.resolve(
    existsSync(cliPath(ctx))
      ? { available: true }
      : { available: false, reason: 'packages/gateway is not built (run npm run build)' },
  );
}

function gatewayYaml(ctx: BenchContext, port: number, opaque: boolean): string {
  const issuer = opaque
    ? [
        `  - issuer: ${ctx.issuer.url}`,
        `    format: opaque`,
        `    allow_insecure_loopback_http: true`,
        `    introspection:`,
        `      endpoint: ${ctx.issuer.introspectionEndpoint}`,
        `      client_id: ${INTROSPECTION_CLIENT.clientId}`,
        `      client_secret: ${INTROSPECTION_CLIENT.clientSecret}`,
      ]
    : [
        `  - issuer: ${ctx.issuer.url}`,
        `    jwks_uri: ${ctx.issuer.jwksUri}`,
        `    algorithms: [ES256]`,
        `    allow_insecure_loopback_http: true`,
      ];
  return [
    `listen: { host: 127.0.0.1, port: ${port} }`,
    `public_url: http://127.0.0.1:${port}`,
    `log_level: warn`,
    `issuers:`,
    ...issuer,
    `routes:`,
    `  - name: bench`,
    `    path: ${ctx.mcpPath}`,
    `    upstream: { url: ${ctx.upstreamUrl} }`,
    `    downstream: { mode: none }`,
    `    audiences: [${ctx.audience}]`,
    `    policy:`,
    `      methods: { initialize: {}, tools/list: {} }`,
    `      tools:`,
    `        ${ctx.toolName}: { scopes: [${ctx.requiredScope}] }`,
    `audit: { sink: spool, path: ${join(ctx.tempDir, 'audit')}, mode: strict }`,
    '',
  ].join('\n');
}

async function startGatewayRow(ctx: BenchContext, opaque: boolean): Promise<RunningRow> {
  const port = await ctx.freePort();
  const config = join(ctx.tempDir, `gateway-${opaque ? 'opaque' : 'jwt'}.yaml`);
  writeFileSync(config, gatewayYaml(ctx, port, opaque));
  const { process: gw } = await ctx.spawnServer('gateway', process.execPath, [
    ...ctx.nodeArgs,
    cliPath(ctx),
    'gateway',
    '--config',
    config,
  ]);
  await ctx.waitForPort(port, gw);
  return {
    url: `http://127.0.0.1:${port}${ctx.mcpPath}`,
    pids: () => [gw.pid],
    stop: () => gw.stop(),
  };
}

/** Row 3: the gateway with a cached JWT verification, policy and strict audit. */
export const gatewayCachedRow: BenchRow = {
  id: 'gateway',
  title: 'mcp-iam gateway (cached JWT)',
  description:
    'The mcp-iam gateway: one JWT reused (verification cache), per-tool policy, strict audit, proxy to the upstream.',
  availability,
  start: (ctx) => startGatewayRow(ctx, false),
  token: (kind, ctx) => ctx.issuer.mint(kind),
};

/** Row 4: the gateway with a fresh JWT for every request (no verification cache hits). */
export const gatewayUncachedRow: BenchRow = {
  id: 'gateway-uncached',
  title: 'mcp-iam gateway (fresh JWT per request)',
  description:
    'The mcp-iam gateway with a distinct JWT on every request: full signature verification each time.',
  availability,
  start: (ctx) => startGatewayRow(ctx, false),
  token: (kind, ctx) => ctx.issuer.mint(kind),
  loadTokens: (ctx, n) => Promise.all(Array.from({ length: n }, () => ctx.issuer.mint('valid'))),
};

/** Row 5: the gateway with an opaque token checked by RFC 7662 introspection (cached). */
export const gatewayOpaqueRow: BenchRow = {
  id: 'gateway-opaque',
  title: 'mcp-iam gateway (opaque token, introspection)',
  description:
    'The mcp-iam gateway with an opaque token, introspected at the fixture issuer and cached.',
  availability,
  start: (ctx) => startGatewayRow(ctx, true),
  token: (kind, ctx) => Promise.resolve(ctx.issuer.mintOpaque(kind)),
};

/** The gateway rows, in table order; the registry includes them after the bare proxy. */
export const gatewayRows: readonly BenchRow[] = [
  gatewayCachedRow,
  gatewayUncachedRow,
  gatewayOpaqueRow,
];
