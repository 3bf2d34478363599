/**
 * The second hostile-input target: the real gateway, started with `startGateway` from a YAML file
 * written from the hostile environment — its two realms as issuers (the `main` realm by discovery,
 * `jti` required, introspection for opaque tokens; the `other` realm by its `jwks_uri`), its
 * `POLICY` as the route policy, and its resource as `public_url` + route path — in front of an
 * HTTP upstream that counts the requests it receives. Audit records go to a strict spool in a
 * temporary directory and are read back from the spool itself; the gateway's log lines are kept in
 * memory at level `trace`.
 *
 * The gateway has no configuration key for node:http's header size limit, so by default a request
 * whose headers exceed 16 KiB is answered 431 by node:http before the gateway sees it (no audit
 * record). The target raises the limit of the gateway's own server (`gateway.server`, exposed for
 * tests and embedding) to 512 KiB, as core's target does, so that the 64 KB and 100 000-dot
 * headers reach the gateway's token-size cap; `headerLimit: 'node-default'` keeps Node's default.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanSpoolLines } from '@mcp-iam/audit';
import type { AuditRecord } from '@mcp-iam/core';
import { createGatewayLogger, routeScopes, startGateway, type RouteConfig } from '@mcp-iam/gateway';
import { OTHER_RESOURCE, POLICY, type HostileEnvironment } from './environment.js';
import type { HostileCase } from './factory.js';
import type { HostileTarget } from './harness.js';

/** Header size limit the target gives the gateway's node:http server (as core's target). */
export const RAISED_HEADER_LIMIT = 512 * 1024;

/** Policy of the optional second route (`OTHER_RESOURCE`): `search_contacts` needs `crm.export`. */
export const SECOND_ROUTE_POLICY = {
  default: 'deny',
  tools: { search_contacts: { scopes: ['crm.export'] } },
} as const;

/** Options of {@link createGatewayTarget}. */
export interface GatewayTargetOptions {
  /**
   * Add a second route at `OTHER_RESOURCE`'s path (its own audience, {@link SECOND_ROUTE_POLICY}),
   * for row 41. Default false: the suite's target has exactly the environment's one route.
   */
  readonly secondRoute?: boolean;
  /**
   * `raised` (default): the gateway's server accepts headers up to {@link RAISED_HEADER_LIMIT};
   * `node-default`: the gateway as configured by its file alone (node:http's 16 KiB limit).
   */
  readonly headerLimit?: 'raised' | 'node-default';
}

// One clock for the whole test process: the gateway, its verifier and caches read `Date.now`
// (captured when they are created), so shifting it moves every clock the gateway consults.
const realNow = Date.now.bind(Date);
let clockOffsetMs = 0;
Date.now = () => realNow() + clockOffsetMs;

/** Records of a spool directory, oldest first, read synchronously from its segments. */
export function readSpoolRecordsSync(dir: string): AuditRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const records: AuditRecord[] = [];
  for (const name of names.filter((n) => /^segment-\d+\.log$/.test(n)).sort()) {
    const scan = scanSpoolLines(readFileSync(join(dir, name)));
    for (const line of scan.lines) records.push(line.record);
  }
  return records;
}

/** The gateway configuration of the target, as JSON (a YAML flow document). */
export function gatewayTargetConfig(
  env: HostileEnvironment,
  upstreamUrl: string,
  auditDir: string,
  secondRoute = false,
) {
  const resource = new URL(env.resource);
  const other = new URL(OTHER_RESOURCE);
  return {
    listen: { host: '127.0.0.1', port: 0 },
    public_url: resource.origin,
    log_level: 'trace',
    issuers: [
      {
        issuer: env.main.issuer,
        algorithms: ['ES256', 'RS256', 'EdDSA'],
        require_jti: true,
        allow_insecure_loopback_http: true,
        introspection: {
          endpoint: env.main.introspectionEndpoint,
          client_id: env.main.introspectionClient.id,
          client_secret: env.main.introspectionClient.secret,
        },
      },
      {
        issuer: env.other.issuer,
        jwks_uri: env.other.jwksUri,
        algorithms: ['ES256'],
        allow_insecure_loopback_http: true,
      },
    ],
    routes: [
      {
        name: 'crm',
        path: resource.pathname,
        upstream: { url: upstreamUrl },
        downstream: { mode: 'none' },
        policy: POLICY,
      },
      ...(secondRoute
        ? [
            {
              name: 'insights',
              path: other.pathname,
              upstream: { url: upstreamUrl },
              downstream: { mode: 'none' },
              policy: SECOND_ROUTE_POLICY,
            },
          ]
        : []),
    ],
    audit: {
      sink: 'spool',
      path: auditDir,
      mode: 'strict',
      fingerprint_key: 'hostile-suite-fingerprint-key',
    },
  };
}

/**
 * The answer the gateway must give to a case of the table. It is the table's own expectation,
 * except where the gateway documents a different, earlier refusal (docs/gateway.md, "What happens
 * to a request", step 6): a `POST` whose body is not `application/json` — such as a form body
 * carrying `access_token` (rows 5 and 6) — is refused with 415 `unsupported_media_type` before
 * authentication, so no form body is ever read for a token. Every other obligation (one `deny`
 * record with that reason, no upstream call, no token text anywhere) is unchanged.
 */
export function gatewayCase(c: HostileCase): HostileCase {
  const type = c.request.headers['content-type'];
  const media = typeof type === 'string' ? type.split(';')[0]!.trim().toLowerCase() : undefined;
  if ((c.request.method ?? 'POST') === 'POST' && media !== 'application/json') {
    return {
      ...c,
      name: `${c.name}; the gateway refuses the non-JSON body first`,
      expect: { status: 415, reason: 'unsupported_media_type' },
    };
  }
  return c;
}

/** A counting MCP upstream that answers every JSON-RPC request with an empty result. */
async function startCountingUpstream(): Promise<{
  url: string;
  calls(): number;
  close(): Promise<void>;
}> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    calls++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let id: unknown = null;
      try {
        id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: unknown }).id ?? null;
      } catch {
        id = null;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls: () => calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running gateway target plus what only gateway tests need. */
export interface GatewayTarget extends HostileTarget {
  /** The spool directory of the strict audit sink. */
  readonly auditDir: string;
}

/**
 * Starts the gateway configured against the hostile environment. Several can run at once (each
 * has its own port, upstream and spool).
 *
 * @example
 * ```ts
 * const target = await createGatewayTarget(env);
 * // ... send requests to target.url + target.resourcePath ...
 * await target.close();
 * ```
 */
export async function createGatewayTarget(
  env: HostileEnvironment,
  options: GatewayTargetOptions = {},
): Promise<GatewayTarget> {
  const outboundBefore = env.idp.requests.length + env.attackerRequests();
  const dir = await mkdtemp(join(tmpdir(), 'mcp-iam-hostile-gw-'));
  const auditDir = join(dir, 'audit');
  const configFile = join(dir, 'gateway.yaml');
  const upstream = await startCountingUpstream();
  const config = gatewayTargetConfig(env, upstream.url, auditDir, options.secondRoute ?? false);
  await writeFile(configFile, `# hostile-suite gateway\n${JSON.stringify(config, null, 2)}\n`);
  const lines: string[] = [];
  let advancedMs = 0;
  let running;
  try {
    running = await startGateway({
      configFile,
      env: {},
      logger: createGatewayLogger({
        level: 'trace',
        destination: { write: (line: string) => void lines.push(line) },
      }),
    });
  } catch (error) {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const gateway = running;
  if ((options.headerLimit ?? 'raised') === 'raised') {
    // node:http reads the server's `maxHeaderSize` for each new connection.
    (gateway.gateway.server as { maxHeaderSize?: number }).maxHeaderSize = RAISED_HEADER_LIMIT;
  }
  if (!gateway.verifier.ready()) {
    await gateway.close();
    await upstream.close();
    throw new Error('gateway target: key sets did not load');
  }
  const route = gateway.config.routes[0] as RouteConfig;
  return {
    url: gateway.url,
    resourcePath: route.path,
    resource: env.resource,
    scopesSupported: routeScopes(route),
    auditDir,
    upstreamCalls: () => upstream.calls(),
    auditRecords: () => readSpoolRecordsSync(auditDir),
    logs: () => lines.join(''),
    outboundRequests: () => env.idp.requests.length + env.attackerRequests() - outboundBefore,
    advanceClock: (seconds) => {
      advancedMs += seconds * 1000;
      clockOffsetMs += seconds * 1000;
    },
    close: async () => {
      await gateway.close();
      await upstream.close();
      clockOffsetMs -= advancedMs;
      advancedMs = 0;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
