/**
 * The soak: the gateway CLI (`mcp-iam gateway --config FILE`, a child process with a strict spool
 * audit) in front of a counting upstream, with an IdP test double for its key set, driven for a
 * fixed time by N concurrent keep-alive connections on loopback. Every request is one of a fixed
 * mix — valid tool calls and `tools/list`, a valid token calling a tool its scope does not cover,
 * a bad signature, an expired token, no token — and every answer is checked against what that kind
 * must get. At the end the gateway is stopped gracefully and its spool is read back: each answered
 * request must have exactly one audit record and the record count must equal the answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSpool } from '@mcp-iam/audit';
import { LoopbackIdp } from '../fixtures/loopback-idp.js';
import { MCP_IAM_CLI } from '../gateway/support/cli.js';
import { createTestSigner, signCompact, type TestSigner } from '../hostile/keys.js';

const RESOURCE_PATH = '/crm/mcp';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** How long the load runs, seconds. */
  readonly seconds: number;
  /** Concurrent connections (each sends its next request when the previous one is answered). */
  readonly connections: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** The kinds of request in the mix, and the status each must get. */
export const SOAK_MIX = {
  valid_call: 200,
  valid_list: 200,
  insufficient_scope: 403,
  bad_signature: 401,
  expired: 401,
  no_token: 401,
} as const;

export type SoakKind = keyof typeof SOAK_MIX;

/** What a soak run measured. */
export interface SoakReport {
  readonly seconds: number;
  readonly connections: number;
  /** Requests sent and answered. */
  readonly requests: number;
  readonly answered: number;
  /** Per kind: requests sent, and how many got the expected status. */
  readonly byKind: Record<SoakKind, { sent: number; expected: number }>;
  /** Valid requests (valid_call, valid_list) not answered 200, including transport errors. */
  readonly validErrors: number;
  /** Invalid, expired or token-less requests answered 2xx. */
  readonly acceptedInvalid: number;
  /** Requests that got no answer at all (transport errors). */
  readonly transportErrors: number;
  /** Requests the upstream received (must equal the valid answers). */
  readonly upstreamCalls: number;
  /** Gateway resident set size, MiB: after warm-up, at the end, and the highest sample. */
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  readonly rssMaxMiB: number;
  /** Audit records in the spool, answered requests without exactly one record, duplicates. */
  readonly auditRecords: number;
  readonly answeredWithoutOneRecord: number;
  readonly duplicatedRecords: number;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

async function startUpstream(): Promise<{ url: string; calls(): number; close(): Promise<void> }> {
  let calls = 0;
  const server: Server = createServer((req, res) => {
    calls++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"jsonrpc":"2.0","id":1,"result":{"content":[],"tools":[]}}');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    calls: () => calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startGatewayProcess(
  configFile: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MCP_IAM_CLI, 'gateway', '--config', configFile], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${stderr}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const match = /listening on (\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}: ${stderr}`));
    });
  });
  child.stderr!.resume();
  return { child, url };
}

function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function mint(
  signer: TestSigner,
  issuer: string,
  resource: string,
  scope: string,
  expOffset: number,
): string {
  const now = Math.floor(Date.now() / 1000);
  return signCompact(
    JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: signer.kid }),
    JSON.stringify({
      iss: issuer,
      sub: `user-${randomUUID().slice(0, 8)}`,
      aud: resource,
      client_id: 'soak-client',
      scope,
      iat: now - 10,
      exp: now + expOffset,
      jti: randomUUID(),
    }),
    signer,
  );
}

function body(kind: SoakKind, id: number): string {
  if (kind === 'valid_list') return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/list' });
  const tool = kind === 'insufficient_scope' ? 'update_contact' : 'search_contacts';
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: tool, arguments: { query: 'ada' } },
  });
}

/**
 * Runs one soak and returns what it measured (it does not judge; callers assert on the report).
 *
 * @example
 * ```ts
 * const report = await runSoak({ seconds: 10, connections: 200 });
 * assert.equal(report.validErrors, 0);
 * ```
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const dir = await mkdtemp(join(tmpdir(), 'mcp-iam-soak-'));
  const idp = await LoopbackIdp.start();
  const upstream = await startUpstream();
  let gateway: ChildProcess | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  try {
    const realm = idp.realm('soak');
    const signer = await createTestSigner('ES256', 'soak-es256');
    const attacker = await createTestSigner('ES256', 'soak-es256');
    realm.jwks = { keys: [signer.publicJwk] };
    const publicUrl = 'https://mcp.example.test';
    const resource = `${publicUrl}${RESOURCE_PATH}`;
    const auditDir = join(dir, 'audit');
    const configFile = join(dir, 'gateway.yaml');
    const config = {
      listen: { host: '127.0.0.1', port: 0 },
      public_url: publicUrl,
      log_level: 'warn',
      issuers: [
        {
          issuer: realm.issuer,
          jwks_uri: realm.jwksUri,
          algorithms: ['ES256'],
          require_jti: true,
          allow_insecure_loopback_http: true,
        },
      ],
      routes: [
        {
          name: 'crm',
          path: RESOURCE_PATH,
          upstream: { url: upstream.url },
          downstream: { mode: 'none' },
          policy: {
            default: 'deny',
            methods: { initialize: {}, 'tools/list': { scopes: ['crm.read'] } },
            tools: {
              search_contacts: { scopes: ['crm.read'] },
              update_contact: { scopes: ['crm.write'] },
            },
          },
        },
      ],
      audit: { sink: 'spool', path: auditDir, mode: 'strict' },
    };
    await writeFile(configFile, `# soak gateway\n${JSON.stringify(config, null, 2)}\n`);
    const started = await startGatewayProcess(configFile);
    gateway = started.child;
    const pid = gateway.pid!;
    const target = new URL(RESOURCE_PATH, started.url);
    log(
      `gateway pid ${pid} at ${started.url}; ${options.connections} connections for ${options.seconds} s`,
    );

    const valid = Array.from({ length: 50 }, () =>
      mint(signer, realm.issuer, resource, 'crm.read', 3600),
    );
    const expired = Array.from({ length: 10 }, () =>
      mint(signer, realm.issuer, resource, 'crm.read', -120),
    );
    const forged = Array.from({ length: 10 }, () =>
      mint(attacker, realm.issuer, resource, 'crm.read', 3600),
    );
    const kinds = Object.keys(SOAK_MIX) as SoakKind[];
    // Mostly valid traffic, as in production; every kind present all the time.
    const schedule: SoakKind[] = [
      'valid_call',
      'valid_call',
      'valid_call',
      'valid_list',
      'valid_call',
      'insufficient_scope',
      'valid_call',
      'bad_signature',
      'valid_list',
      'expired',
      'valid_call',
      'no_token',
    ];
    const byKind = Object.fromEntries(kinds.map((k) => [k, { sent: 0, expected: 0 }])) as Record<
      SoakKind,
      { sent: number; expected: number }
    >;
    const answeredIds: string[] = [];
    let requests = 0;
    let validErrors = 0;
    let acceptedInvalid = 0;
    let transportErrors = 0;

    const send = (kind: SoakKind, n: number): Promise<void> => {
      const payload = body(kind, n);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'content-length': String(Buffer.byteLength(payload)),
      };
      if (kind === 'valid_call' || kind === 'valid_list' || kind === 'insufficient_scope') {
        headers.authorization = `Bearer ${valid[n % valid.length]!}`;
      } else if (kind === 'expired')
        headers.authorization = `Bearer ${expired[n % expired.length]!}`;
      else if (kind === 'bad_signature')
        headers.authorization = `Bearer ${forged[n % forged.length]!}`;
      return new Promise<void>((resolve) => {
        const req = httpRequest(target, { method: 'POST', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const id = res.headers['x-request-id'];
            if (typeof id === 'string') answeredIds.push(id);
            if (status === SOAK_MIX[kind]) byKind[kind].expected++;
            if (SOAK_MIX[kind] === 200 && status !== 200) validErrors++;
            if (SOAK_MIX[kind] !== 200 && status >= 200 && status < 300) acceptedInvalid++;
            resolve();
          });
          res.on('error', () => {
            transportErrors++;
            if (SOAK_MIX[kind] === 200) validErrors++;
            resolve();
          });
        });
        req.on('error', () => {
          transportErrors++;
          if (SOAK_MIX[kind] === 200) validErrors++;
          resolve();
        });
        req.end(payload);
      });
    };

    // Warm-up: one request of each kind (loads the key set), then the start RSS.
    for (const [i, kind] of kinds.entries()) {
      byKind[kind].sent++;
      requests++;
      await send(kind, i);
    }
    const rssStartMiB = rssMiB(pid);
    let rssMaxMiB = rssStartMiB;
    const deadline = Date.now() + options.seconds * 1000;
    const sampler = setInterval(() => {
      rssMaxMiB = Math.max(rssMaxMiB, rssMiB(pid));
      log(
        `  ${Math.max(0, Math.round((deadline - Date.now()) / 1000))} s left: ${requests} requests, RSS ${rssMiB(pid)} MiB`,
      );
    }, 5_000);
    let counter = kinds.length;
    try {
      await Promise.all(
        Array.from({ length: options.connections }, async (_, w) => {
          for (let i = w; Date.now() < deadline; i += options.connections) {
            const kind = schedule[i % schedule.length]!;
            byKind[kind].sent++;
            requests++;
            await send(kind, counter++);
          }
        }),
      );
    } finally {
      clearInterval(sampler);
    }
    const rssEndMiB = rssMiB(pid);
    rssMaxMiB = Math.max(rssMaxMiB, rssEndMiB);
    agent.destroy();
    gateway.kill('SIGTERM');
    await stopped(gateway);
    log(`load done; reading the spool`);

    const perRequest = new Map<string, number>();
    let auditRecords = 0;
    for await (const { record } of readSpool(auditDir)) {
      auditRecords++;
      perRequest.set(record.requestId, (perRequest.get(record.requestId) ?? 0) + 1);
    }
    const answered = answeredIds.length;
    return {
      seconds: options.seconds,
      connections: options.connections,
      requests,
      answered,
      byKind,
      validErrors,
      acceptedInvalid,
      transportErrors,
      upstreamCalls: upstream.calls(),
      rssStartMiB,
      rssEndMiB,
      rssMaxMiB,
      auditRecords,
      answeredWithoutOneRecord: answeredIds.filter((id) => perRequest.get(id) !== 1).length,
      duplicatedRecords: [...perRequest.values()].filter((n) => n > 1).length,
    };
  } finally {
    agent.destroy();
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) {
      gateway.kill('SIGKILL');
      await stopped(gateway);
    }
    await upstream.close();
    await idp.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The report as text lines. */
export function formatSoakReport(r: SoakReport): string {
  const kinds = (Object.keys(r.byKind) as SoakKind[])
    .map(
      (k) =>
        `  ${k.padEnd(20)} sent ${String(r.byKind[k].sent).padStart(8)}  got ${SOAK_MIX[k]}: ${r.byKind[k].expected}`,
    )
    .join('\n');
  return [
    `soak: ${r.connections} connections, ${r.seconds} s`,
    `requests ${r.requests}, answered ${r.answered}, transport errors ${r.transportErrors}`,
    kinds,
    `errors for valid requests: ${r.validErrors} (must be 0)`,
    `accepted invalid requests: ${r.acceptedInvalid} (must be 0)`,
    `upstream calls: ${r.upstreamCalls}`,
    `gateway RSS: start ${r.rssStartMiB} MiB, end ${r.rssEndMiB} MiB, max ${r.rssMaxMiB} MiB`,
    `audit records ${r.auditRecords} vs answered ${r.answered}; answered without exactly one record: ${r.answeredWithoutOneRecord}; duplicated: ${r.duplicatedRecords}`,
  ].join('\n');
}

/** The invariants a soak must hold; returns the broken ones (empty when all hold). */
export function soakViolations(r: SoakReport): string[] {
  const broken: string[] = [];
  if (r.validErrors !== 0) broken.push(`${r.validErrors} valid requests failed`);
  if (r.acceptedInvalid !== 0) broken.push(`${r.acceptedInvalid} invalid requests were accepted`);
  if (r.answered !== r.requests) broken.push(`${r.requests - r.answered} requests got no answer`);
  if (r.auditRecords !== r.answered)
    broken.push(`${r.auditRecords} audit records for ${r.answered} answers`);
  if (r.answeredWithoutOneRecord !== 0)
    broken.push(`${r.answeredWithoutOneRecord} answers without exactly one record`);
  if (r.duplicatedRecords !== 0) broken.push(`${r.duplicatedRecords} duplicated records`);
  const validAnswers = r.byKind.valid_call.expected + r.byKind.valid_list.expected;
  if (r.upstreamCalls !== validAnswers)
    broken.push(`${r.upstreamCalls} upstream calls for ${validAnswers} allowed requests`);
  for (const [kind, count] of Object.entries(r.byKind)) {
    if (count.expected !== count.sent)
      broken.push(`${kind}: ${count.sent - count.expected} answers with another status`);
  }
  return broken;
}
