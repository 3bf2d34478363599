/**
 * Starts the demo stack: the development IdP, the CRM and insights example servers (in this
 * process, each with its own durable audit spool) and the gateway (a child process running the
 * `mcp-iam gateway` command with examples/stack/gateway.yaml, which stops with this process).
 * Ports are chosen before anything starts, so every resource URL is known to the IdP from the
 * beginning.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuditSink, type ManagedAuditSink } from '@mcp-iam/audit';
import { DEV_CLIENTS, resourceUrls, startDevIdp, type DevIdp } from '@mcp-iam/dev-idp';
import { startCrmServer, type CrmServer } from '../crm-server/server.js';
import { startInsightsServer, type InsightsServer } from '../insights-server/server.js';
import { OwnedChildren, stopChild } from './children.js';

/** Default ports of `npm start`. */
export const DEFAULT_PORTS: StackPorts = { idp: 4000, crm: 5001, insights: 5002, gateway: 8080 };

/** The four listening ports. */
export interface StackPorts {
  idp: number;
  crm: number;
  insights: number;
  gateway: number;
}

/** The repository root (this file is compiled to examples/dist/stack/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The compiled `mcp-iam` command line (@mcp-iam/cli), which runs the gateway. */
export const GATEWAY_CLI = fileURLToPath(new URL('main.js', import.meta.resolve('@mcp-iam/cli')));
/** The demo's gateway configuration template. */
export const GATEWAY_CONFIG = join(REPO_ROOT, 'examples/stack/gateway.yaml');
/** The compiled stdio notes server the gateway starts. */
export const NOTES_SERVER = join(REPO_ROOT, 'examples/dist/notes-stdio-server/main.js');

/** Returns a port that was free a moment ago (listen on 127.0.0.1:0, note the port, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `port` can be listened on at `host`; rejects naming the port otherwise. */
export async function assertPortFree(
  port: number,
  what: string,
  host = '127.0.0.1',
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', () =>
      reject(new Error(`port ${port} (${what}) is already in use by another program`)),
    );
    server.listen(port, host, () => server.close(() => resolve()));
  });
}

/** Four distinct free ports. */
export async function ephemeralPorts(): Promise<StackPorts> {
  const ports = new Set<number>();
  while (ports.size < 4) ports.add(await freePort());
  const [idp, crm, insights, gateway] = [...ports] as [number, number, number, number];
  return { idp, crm, insights, gateway };
}

/** The gateway child process, when it runs. */
export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Its output so far (stdout and stderr), for diagnosing a failed start. */
  output(): string;
}

/** A running stack. */
export interface Stack {
  readonly ports: StackPorts;
  readonly issuer: string;
  readonly idp: DevIdp;
  readonly crm: CrmServer;
  readonly insights: InsightsServer;
  readonly urls: {
    crm: string;
    insights: string;
    gateway: string;
    gatewayCrm: string;
    gatewayInsights: string;
    gatewayNotes: string;
  };
  /** Audit spool directories by writer. */
  readonly auditDirs: { crm: string; insights: string; gateway: string };
  /** The gateway, or why it is not running. */
  readonly gateway: GatewayProcess | undefined;
  readonly gatewayProblem: string | undefined;
  /** The environment the gateway was (or would have been) started with, secrets included. */
  readonly gatewayEnv: Record<string, string>;
  close(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  ports: StackPorts;
  /** Directory for audit spools; default a new temporary directory, removed on close. */
  dataDir?: string;
  /** How long to wait for the gateway to answer /healthz (default 20 s). */
  gatewayStartTimeoutMs?: number;
  /**
   * Stops the start-up when aborted: what has started is closed again and `startStack` rejects
   * with the signal's reason.
   */
  signal?: AbortSignal;
}

async function waitForGateway(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    if (child.exitCode !== null || child.signalCode !== null) {
      return `the gateway process stopped (exit ${child.exitCode ?? child.signalCode})`;
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return undefined;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `the gateway did not answer ${url}/healthz within ${timeoutMs} ms`;
}

/** Starts the IdP, the example servers and the gateway. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { ports, signal } = options;
  signal?.throwIfAborted();
  const host = '127.0.0.1';
  // A program already on one of the ports (another demo, say) would answer in our place.
  await assertPortFree(ports.idp, 'the IdP', host);
  await assertPortFree(ports.crm, 'the CRM server', host);
  await assertPortFree(ports.insights, 'the insights server', host);
  await assertPortFree(ports.gateway, 'the gateway', host);
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'mcp-iam-demo-')));
  const auditDirs = {
    crm: join(dataDir, 'audit-crm-server'),
    insights: join(dataDir, 'audit-insights-server'),
    gateway: join(dataDir, 'audit-gateway'),
  };
  for (const dir of Object.values(auditDirs)) await mkdir(dir, { recursive: true });
  const gatewayBase = `http://${host}:${ports.gateway}`;
  const urls = {
    crm: `http://${host}:${ports.crm}/mcp`,
    insights: `http://${host}:${ports.insights}/mcp`,
    gateway: gatewayBase,
    gatewayCrm: `${gatewayBase}/crm/mcp`,
    gatewayInsights: `${gatewayBase}/insights/mcp`,
    gatewayNotes: `${gatewayBase}/notes/mcp`,
  };
  const fingerprintKey = randomBytes(24).toString('base64url');

  const children = new OwnedChildren();
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups.length = 0;
    await children.stopAll();
    children.dispose();
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const idp = await startDevIdp({
      port: ports.idp,
      fixtures: resourceUrls({
        crm: urls.crm,
        insights: urls.insights,
        'gateway-crm': urls.gatewayCrm,
        'gateway-insights': urls.gatewayInsights,
        'gateway-notes': urls.gatewayNotes,
      }),
    });
    cleanups.push(() => idp.close());
    signal?.throwIfAborted();

    const sinks: ManagedAuditSink[] = [];
    const sinkFor = async (dir: string): Promise<ManagedAuditSink> => {
      const sink = await createAuditSink({ mode: 'strict', spool: { dir } });
      sinks.push(sink);
      cleanups.push(() => sink.close());
      return sink;
    };
    const crm = await startCrmServer({
      resource: urls.crm,
      issuer: idp.issuer,
      port: ports.crm,
      host,
      audit: { sink: await sinkFor(auditDirs.crm), fingerprintKey },
    });
    cleanups.push(() => crm.close());
    signal?.throwIfAborted();
    const insights = await startInsightsServer({
      resource: urls.insights,
      crmResource: urls.crm,
      issuer: idp.issuer,
      clientSecret: DEV_CLIENTS.insightsServer.clientSecret,
      port: ports.insights,
      host,
      audit: { sink: await sinkFor(auditDirs.insights), fingerprintKey },
    });
    cleanups.push(() => insights.close());
    signal?.throwIfAborted();

    const gatewayEnv: Record<string, string> = {
      GATEWAY_HOST: host,
      GATEWAY_PORT: String(ports.gateway),
      GATEWAY_PUBLIC_URL: gatewayBase,
      IDP_ISSUER: idp.issuer,
      IDP_INTROSPECTION_ENDPOINT: idp.endpoints.introspection,
      GATEWAY_SECRET: DEV_CLIENTS.mcpGateway.clientSecret,
      CRM_URL: urls.crm,
      INSIGHTS_URL: urls.insights,
      NOTES_COMMAND: process.execPath,
      NOTES_SERVER,
      AUDIT_DIR: auditDirs.gateway,
      AUDIT_FINGERPRINT_KEY: fingerprintKey,
    };
    let gateway: GatewayProcess | undefined;
    let gatewayProblem: string | undefined;
    if (!existsSync(GATEWAY_CLI)) {
      gatewayProblem = `the gateway command is not available (${GATEWAY_CLI} does not exist)`;
    } else {
      let output = '';
      const child = children.spawnNode(GATEWAY_CLI, ['gateway', '--config', GATEWAY_CONFIG], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...gatewayEnv },
      });
      const keep = (chunk: Buffer): void => {
        output = (output + chunk.toString('utf8')).slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      child.on('error', (error) => keep(Buffer.from(`${error.message}\n`)));
      cleanups.push(() => stopChild(child));
      gatewayProblem = await waitForGateway(
        gatewayBase,
        child,
        options.gatewayStartTimeoutMs ?? 20_000,
        signal,
      );
      if (gatewayProblem === undefined) gateway = { child, output: () => output };
      else {
        const tail = output.trim().split('\n').slice(-5).join('\n  ');
        if (tail) gatewayProblem += `; its last output:\n  ${tail}`;
        await stopChild(child);
      }
    }

    return {
      ports,
      issuer: idp.issuer,
      idp,
      crm,
      insights,
      urls,
      auditDirs,
      gateway,
      gatewayProblem,
      gatewayEnv,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
