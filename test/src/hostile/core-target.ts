/**
 * The first hostile-input target: `@mcp-iam/core` as an MCP server author uses it —
 * `createResourceServer` with the real `createAccessTokenVerifier` (discovery, key sets and
 * introspection against the IdP test double) behind core's node:http adapter, in front of an
 * upstream handler that counts the requests it receives, with an in-memory audit sink and a capture
 * of anything written to the console.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { format } from 'node:util';
import {
  InMemoryAuditSink,
  createAccessTokenVerifier,
  createResourceServer,
  protectNodeHandler,
} from '@mcp-iam/core';
import { POLICY, SCOPES_SUPPORTED, type HostileEnvironment } from './environment.js';
import type { HostileTarget } from './harness.js';

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** Captures console output while a target runs (core is expected to log nothing itself). */
class ConsoleCapture {
  readonly #lines: string[] = [];
  readonly #saved = new Map<string, (...args: unknown[]) => void>();

  start(): void {
    for (const name of CONSOLE_METHODS) {
      this.#saved.set(name, console[name]);
      console[name] = (...args: unknown[]) => {
        this.#lines.push(format(...args));
      };
    }
  }

  text(): string {
    return this.#lines.join('\n');
  }

  stop(): void {
    for (const name of CONSOLE_METHODS) {
      const saved = this.#saved.get(name);
      if (saved) console[name] = saved;
    }
  }
}

/**
 * Starts core behind node:http on 127.0.0.1 (ephemeral port), configured against the hostile
 * environment: the `main` realm (ES256, RS256, EdDSA; `jti` required; discovery for the key set;
 * introspection for opaque tokens) and the `other` realm (ES256).
 *
 * @example
 * ```ts
 * const target = await createCoreTarget(env);
 * // ... send requests to target.url + target.resourcePath ...
 * await target.close();
 * ```
 */
export async function createCoreTarget(env: HostileEnvironment): Promise<HostileTarget> {
  let clockOffsetMs = 0;
  const now = (): number => Date.now() + clockOffsetMs;
  const outboundBefore = env.idp.requests.length + env.attackerRequests();
  const verifier = createAccessTokenVerifier({
    now,
    issuers: [
      {
        issuer: env.main.issuer,
        algorithms: ['ES256', 'RS256', 'EdDSA'],
        requireJti: true,
        allowInsecureLoopbackHttp: true,
        introspection: {
          endpoint: env.main.introspectionEndpoint,
          clientId: env.main.introspectionClient.id,
          clientSecret: env.main.introspectionClient.secret,
        },
      },
      {
        issuer: env.other.issuer,
        jwksUri: env.other.jwksUri,
        algorithms: ['ES256'],
        allowInsecureLoopbackHttp: true,
      },
    ],
  });
  await verifier.start();
  if (!verifier.ready()) throw new Error('core target: key sets did not load');

  const sink = new InMemoryAuditSink(100_000);
  const capture = new ConsoleCapture();
  capture.start();
  const rs = createResourceServer({
    resource: env.resource,
    authorizationServers: [env.main.issuer, env.other.issuer],
    scopesSupported: SCOPES_SUPPORTED,
    verifier,
    policy: POLICY,
    now,
    audit: {
      sink,
      fingerprintKey: 'hostile-suite-fingerprint-key',
      route: 'crm',
      onError: (error) => console.error('audit write failed', error),
    },
  });
  let upstreamCalls = 0;
  const protectedHandler = protectNodeHandler(rs, (_req, res, { allow }) => {
    upstreamCalls++;
    const id = allow.operation.id ?? null;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id, result: { content: [] } }));
  });
  const resourcePath = new URL(env.resource).pathname;
  // Large enough for the 64 KB and 100 000-dot headers to reach core's own size cap.
  const server: Server = createServer({ maxHeaderSize: 512 * 1024 }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === resourcePath || path?.startsWith('/.well-known/'))
      return protectedHandler(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    resourcePath,
    resource: env.resource,
    scopesSupported: SCOPES_SUPPORTED,
    upstreamCalls: () => upstreamCalls,
    auditRecords: () => sink.records,
    logs: () => capture.text(),
    // The IdP double and the attacker server are the only places the target could reach.
    outboundRequests: () => env.idp.requests.length + env.attackerRequests() - outboundBefore,
    advanceClock: (seconds) => {
      clockOffsetMs += seconds * 1000;
    },
    close: async () => {
      verifier.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      capture.stop();
    },
  };
}
