/**
 * Infrastructure faults of the running gateway (SECURITY-CASES rows 53, 55–56, 58–60 and 62–64),
 * with the development IdP, the recording crm upstream and the gateway started from its YAML file:
 *
 * - 58: the key set becomes unreachable after warm-up → the last good keys are served for the key
 *   set's stale window (refresh interval 300 s + stale-if-error 600 s, core's defaults: the YAML has
 *   no key for them), then 503 with Retry-After; the window is crossed by shifting the process
 *   clock (`support/clock.ts`), which the in-process gateway and IdP both read.
 * - 59: key rotation with `prepublish` then `activate` while requests flow → not one fails.
 * - 60: introspection answering 500, dropping the connection or not answering → 503, never allow;
 *   concurrent requests with one token share one introspection request.
 * - 62: the strict audit spool cannot grow (RLIMIT_FSIZE of the process lowered to the segment's
 *   size with `prlimit`; root ignores file permissions but not this limit, and the append fails
 *   with EFBIG as on a full disk) → 503 `audit_unavailable` instead of an answer without a record.
 * - 63: the gateway CLI as a child process, SIGKILLed under load, restarted on the same spool →
 *   every answered request id has exactly one record; no record is duplicated.
 * - 64: upstream refusing connections or not answering → 502/504 with an `error` record, never an
 *   authentication failure.
 * - 53: identity-claiming, credential and cookie headers of an upstream answer are stripped.
 * - 55 and 56 (the IdP's token-exchange answers): an answer with a wrong `issued_token_type`, a
 *   foreign `aud` or a wider scope is not used (502 `token_exchange_invalid`, nothing forwarded);
 *   concurrent callers each reach the upstream with an exchanged token for themselves.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { querySpool, scanSpoolLines } from '@mcp-iam/audit';
import { userAccessToken } from '@mcp-iam/dev-idp';
import { createGatewayLogger, startGateway, type RunningGateway } from '@mcp-iam/gateway';
import { advanceClock, resetClock } from './support/clock.js';
import { FaultInjectingIdpProxy } from './support/fault-proxy.js';
import { MCP_IAM_CLI } from './support/cli.js';
import { freePort } from './support/ports.js';
import { callTool, rpc, type RpcAnswer } from './support/rpc.js';
import { GATEWAY_ENV, gatewayYaml, startStack, type Stack } from './support/stack.js';

function traced(): { traceId: string; headers: Record<string, string> } {
  const traceId = randomBytes(16).toString('hex');
  return {
    traceId,
    headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
  };
}

/** The audit records of one answered request, found by the gateway's own request id. */
async function recordsOf(auditDir: string, answer: RpcAnswer) {
  const requestId = answer.headers.get('x-request-id');
  assert.match(String(requestId), /^[0-9a-f]{32}$/);
  const records = await querySpool(auditDir, { limit: 100_000 });
  return records.filter((r) => r.requestId === requestId);
}

function assertUnavailable(answer: RpcAnswer, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${answer.text}`);
  const retryAfter = Number(answer.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter > 0, `${what}: Retry-After`);
  const challenge = answer.headers.get('www-authenticate') ?? '';
  assert.ok(!/invalid_token/.test(challenge), `${what}: the token is not called invalid`);
}

const directToken = async (stack: Stack, user = 'alice'): Promise<string> =>
  (
    await userAccessToken({
      issuer: stack.idp.issuer,
      user,
      password: user,
      scope: 'crm.read',
      resource: stack.routes.direct,
    })
  ).access_token;

const notesToken = async (stack: Stack): Promise<string> =>
  (
    await userAccessToken({
      issuer: stack.idp.issuer,
      user: 'alice',
      password: 'alice',
      scope: 'notes.read',
      resource: stack.routes.notes,
    })
  ).access_token;

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await sleep(50);
  assert.ok(condition(), what);
}

describe('row 58: key set unreachable after warm-up', () => {
  let stack: Stack;
  let proxy: FaultInjectingIdpProxy | undefined;

  before(async () => {
    stack = await startStack({
      endpoints: async (issuer) => {
        proxy = await FaultInjectingIdpProxy.start(issuer);
        return { jwksUri: `${proxy.url}/jwks`, introspection: `${issuer}/token/introspection` };
      },
    });
  });
  after(async () => {
    resetClock();
    await stack?.close();
    await proxy?.close();
  });

  it('serves the last good keys through the stale window, then answers 503 with Retry-After audited as error, and recovers when the key set is back', async () => {
    const gateway = stack.gateway!;
    const keySet = () => gateway.verifier.state().issuers[0]!.keySet!;
    assert.equal(
      (await rpc(stack.routes.direct, await directToken(stack), 'tools/list')).status,
      200,
    );
    proxy!.setPath('/jwks', 'reset');

    // Past the 300 s refresh interval, inside the 600 s stale-if-error window.
    advanceClock(301);
    const stale = await rpc(stack.routes.direct, await directToken(stack), 'tools/list');
    assert.equal(stale.status, 200, `stale keys still verify: ${stale.text}`);
    await waitFor('the gateway tried to refresh the key set', () =>
      proxy!.seen.some((s) => s.path === '/jwks' && s.fault === 'reset'),
    );
    assert.equal(keySet().stale, true);
    assert.equal(keySet().usable, true);

    // Past the stale window: no usable keys, and a refresh still fails.
    advanceClock(600);
    const upstreamBefore = stack.crm.requests.length;
    const { headers } = traced();
    const token = await directToken(stack);
    const down = await rpc(stack.routes.direct, token, 'tools/list', {}, headers);
    assertUnavailable(down, 'key set unreachable beyond the stale window');
    assert.ok(!down.text.includes(token));
    assert.equal(stack.crm.requests.length, upstreamBefore, 'nothing reached the upstream');
    const records = await recordsOf(stack.auditDir, down);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.outcome, 'error');
    assert.equal(records[0]?.reason, 'issuer_unavailable');
    assert.equal(keySet().usable, false);

    proxy!.setPath('/jwks', undefined);
    advanceClock(6); // past the 5 s failure back-off
    const back = await rpc(stack.routes.direct, token, 'tools/list');
    assert.equal(back.status, 200, `recovered: ${back.text}`);
  });
});

describe('row 59: key rotation mid-traffic', () => {
  let stack: Stack;
  let proxy: FaultInjectingIdpProxy | undefined;

  before(async () => {
    stack = await startStack({
      endpoints: async (issuer) => {
        proxy = await FaultInjectingIdpProxy.start(issuer);
        return { jwksUri: `${proxy.url}/jwks`, introspection: `${issuer}/token/introspection` };
      },
    });
  });
  after(async () => {
    await stack?.close();
    await proxy?.close();
  });

  it('with prepublish then activate at the IdP, not one request fails, and the new kid costs one key set fetch', async () => {
    const pool = [await directToken(stack, 'alice'), await directToken(stack, 'bob')];
    const oldKids = new Set(pool.map((t) => JSON.parse(atob(t.split('.')[0]!)).kid as string));
    const statuses: number[] = [];
    let newKidAnswers = 0;
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = w; !stop; i++) {
        const token = pool[i % pool.length]!;
        const answer = await rpc(stack.routes.direct, token, 'tools/list');
        statuses.push(answer.status);
        const kid = JSON.parse(atob(token.split('.')[0]!)).kid as string;
        if (!oldKids.has(kid) && answer.status === 200) newKidAnswers++;
      }
    };
    const fetchesBefore = proxy!.seen.filter((s) => s.path === '/jwks').length;
    const load = Promise.all([0, 1, 2, 3].map(worker));
    await sleep(200);
    await stack.idp.rotateKeys('prepublish');
    await sleep(200);
    await stack.idp.rotateKeys('activate');
    const fresh = [await directToken(stack, 'alice'), await directToken(stack, 'bob')];
    for (const t of fresh) {
      assert.ok(!oldKids.has(JSON.parse(atob(t.split('.')[0]!)).kid as string), 'a new kid signs');
    }
    pool.push(...fresh, ...fresh, ...fresh);
    await sleep(500);
    stop = true;
    await load;
    const failed = statuses.filter((s) => s !== 200);
    assert.deepEqual(failed, [], `failed requests: ${failed.length} of ${statuses.length}`);
    assert.ok(newKidAnswers > 0, 'tokens signed by the new key were served');
    const fetches = proxy!.seen.filter((s) => s.path === '/jwks').length - fetchesBefore;
    assert.equal(fetches, 1, 'one key set fetch, on first sight of the new kid');
  });
});

/** An introspection endpoint that fails on demand: 500, a dropped connection, or no answer. */
class FlakyEndpoint {
  mode: 'error' | 'reset' | 'hang' = 'error';
  requests = 0;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FlakyEndpoint> {
    const server = createServer();
    const endpoint = new FlakyEndpoint(server);
    server.on('request', (req, res) => {
      endpoint.requests++;
      req.resume();
      if (endpoint.mode === 'reset') req.socket.destroy();
      else if (endpoint.mode === 'error') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":"server_error"}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

describe('row 60: introspection failing', () => {
  let stack: Stack;
  let flaky: FlakyEndpoint | undefined;

  before(async () => {
    stack = await startStack({
      endpoints: async () => {
        flaky = await FlakyEndpoint.start();
        return { introspection: `${flaky.url}/token/introspection` };
      },
    });
  });
  after(async () => {
    await stack?.close();
    await flaky?.close();
  });

  for (const mode of ['error', 'reset'] as const) {
    it(`an introspection endpoint that ${mode === 'error' ? 'answers 500' : 'drops the connection'} gives 503 introspection_unavailable, never an allow`, async () => {
      flaky!.mode = mode;
      const token = await notesToken(stack);
      const { headers } = traced();
      const answer = await callTool(stack.routes.notes, token, 'list_notes', {}, headers);
      assertUnavailable(answer, mode);
      assert.ok(!answer.text.includes(token));
      const records = await recordsOf(stack.auditDir, answer);
      assert.equal(records.length, 1);
      assert.equal(records[0]?.outcome, 'error');
      assert.equal(records[0]?.reason, 'introspection_unavailable');
    });
  }

  it('an introspection endpoint that does not answer gives 503 after the fetch timeout to every concurrent caller, with one introspection request for one token', async () => {
    flaky!.mode = 'hang';
    const token = await notesToken(stack);
    const before = flaky!.requests;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => callTool(stack.routes.notes, token, 'list_notes')),
    );
    for (const answer of answers) assertUnavailable(answer, 'introspection timeout');
    assert.equal(flaky!.requests - before, 1, 'single flight per token');
  });
});

function currentSegment(auditDir: string): string {
  const names = readdirSync(auditDir)
    .filter((n) => /^segment-\d+\.log$/.test(n))
    .sort();
  return join(auditDir, names.at(-1)!);
}

function setFileSizeLimit(limit: number | 'unlimited'): void {
  execFileSync('prlimit', ['--pid', String(process.pid), `--fsize=${limit}:`]);
}

describe('row 62: strict audit sink failing', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    setFileSizeLimit('unlimited');
    await stack?.close();
  });

  it('strict: when the spool cannot write, an allowed call gets 503 audit_unavailable and a denial 503 instead of an answer without a record; readiness shows it; both resume once it can', async () => {
    const token = await directToken(stack);
    assert.equal((await rpc(stack.routes.direct, token, 'tools/list')).status, 200);
    const segment = currentSegment(stack.auditDir);
    const allowed = traced();
    const denied = traced();
    let allowedAnswer: RpcAnswer;
    let deniedAnswer: RpcAnswer;
    let ready: Response;
    // The segment is preallocated (a zero tail past its records), so the spool need not grow to
    // write: the limit is set at the end of its records, where the next write lands.
    setFileSizeLimit(scanSpoolLines(readFileSync(segment)).goodEnd);
    try {
      allowedAnswer = await rpc(stack.routes.direct, token, 'tools/list', {}, allowed.headers);
      deniedAnswer = await rpc(stack.routes.direct, undefined, 'tools/list', {}, denied.headers);
      ready = await fetch(`${stack.base}/readyz`);
    } finally {
      setFileSizeLimit('unlimited');
    }
    assertUnavailable(allowedAnswer, 'allowed call');
    assert.deepEqual(allowedAnswer.json, {
      error: 'audit_unavailable',
      error_description: 'Service temporarily unavailable.',
      reason: 'audit_unavailable',
    });
    assert.ok(!allowedAnswer.text.includes(token));
    // The denial is answered by core's pipeline, whose 503 says `temporarily_unavailable`.
    assertUnavailable(deniedAnswer, 'denial');
    assert.equal(deniedAnswer.headers.get('www-authenticate'), null, 'no 401 challenge');
    assert.equal(typeof (deniedAnswer.json as { error?: unknown }).error, 'string');
    const readyText = await ready.text();
    assert.equal(ready.status, 503, `not ready while the audit sink fails: ${readyText}`);
    assert.match(readyText, /audit/);
    assert.equal((await recordsOf(stack.auditDir, allowedAnswer)).length, 0);
    assert.equal((await recordsOf(stack.auditDir, deniedAnswer)).length, 0);

    const again = traced();
    const answer = await rpc(stack.routes.direct, token, 'tools/list', {}, again.headers);
    assert.equal(answer.status, 200, `answers resume: ${answer.text}`);
    const records = await recordsOf(stack.auditDir, answer);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.outcome, 'allow');
    const refused = await rpc(stack.routes.direct, undefined, 'tools/list');
    assert.equal(refused.status, 401);
  });
});

/** Starts `mcp-iam gateway --config FILE` and resolves once it listens. */
async function startGatewayProcess(configFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MCP_IAM_CLI, 'gateway', '--config', configFile], {
    env: { PATH: process.env.PATH ?? '', ...GATEWAY_ENV },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${stderr}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}: ${stderr}`));
    });
  });
  child.stderr!.resume();
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('row 63: gateway killed with SIGKILL under load', () => {
  let stack: Stack;
  const children: ChildProcess[] = [];

  before(async () => {
    stack = await startStack({ withoutGateway: true });
  });
  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited(child);
    }
    await stack?.close();
  });

  it('after a restart on the same spool, every request answered before the kill has exactly one audit record and none is duplicated', async () => {
    const tokens = [await directToken(stack, 'alice'), await directToken(stack, 'bob')];
    const first = await startGatewayProcess(stack.configFile);
    children.push(first);
    const answered = new Map<string, number>();
    let killed = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = w; !killed; i++) {
        try {
          const answer = await rpc(stack.routes.direct, tokens[i % 2], 'tools/list');
          const id = answer.headers.get('x-request-id');
          assert.ok(id, 'every answer carries x-request-id');
          answered.set(id, answer.status);
        } catch {
          // Connection refused or reset by the kill: not answered.
        }
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
    await waitFor('requests are being answered', () => answered.size >= 100);
    first.kill('SIGKILL');
    killed = true;
    await exited(first);
    await load;

    const second = await startGatewayProcess(stack.configFile);
    children.push(second);
    const after = await rpc(stack.routes.direct, tokens[0], 'tools/list');
    assert.equal(after.status, 200, `serves after restart: ${after.text}`);
    second.kill('SIGTERM');
    await exited(second);

    const records = await querySpool(stack.auditDir, { limit: 100_000 });
    const perRequest = new Map<string, number>();
    for (const r of records) perRequest.set(r.requestId, (perRequest.get(r.requestId) ?? 0) + 1);
    const duplicated = [...perRequest].filter(([, n]) => n > 1);
    assert.deepEqual(duplicated, [], 'no record is duplicated');
    const missing = [...answered.keys()].filter((id) => perRequest.get(id) !== 1);
    assert.deepEqual(missing, [], `answered requests without a record (of ${answered.size})`);
    assert.ok([...answered.values()].every((s) => s === 200));
  });
});

/** An upstream that accepts connections and never answers. */
async function startSilentUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('rows 53 and 64: what the upstream answers, or does not', () => {
  let stack: Stack;
  let silent: { url: string; close(): Promise<void> };
  let gateway: RunningGateway | undefined;

  before(async () => {
    stack = await startStack({ withoutGateway: true });
    silent = await startSilentUpstream();
  });
  after(async () => {
    await gateway?.close();
    await silent?.close();
    await stack?.close();
  });

  const startWithUpstream = async (upstreamUrl: string): Promise<RunningGateway> => {
    const file = join(stack.dir, 'gateway-row64.yaml');
    const yaml = gatewayYaml({ ...stack.yamlInput, crmUpstreamUrl: upstreamUrl }).replaceAll(
      'upstream_timeout_ms: 5000',
      'upstream_timeout_ms: 500',
    );
    await writeFile(file, yaml);
    return startGateway({
      configFile: file,
      env: GATEWAY_ENV,
      logger: createGatewayLogger({ level: 'silent' }),
    });
  };

  for (const [what, status, reason] of [
    ['refuses connections', 502, 'upstream_unavailable'],
    ['does not answer within upstream_timeout_ms', 504, 'upstream_timeout'],
  ] as const) {
    it(`an upstream that ${what} gives ${status} ${reason} with an error record, never an authentication failure`, async () => {
      const url = status === 502 ? `http://127.0.0.1:${await freePort()}/mcp` : silent.url;
      gateway = await startWithUpstream(url);
      try {
        const token = await directToken(stack);
        const { headers } = traced();
        const answer = await rpc(stack.routes.direct, token, 'tools/list', {}, headers);
        assert.equal(answer.status, status, answer.text);
        assert.equal(answer.headers.get('www-authenticate'), null, 'no challenge');
        assert.equal((answer.json as { error?: unknown }).error, reason);
        assert.ok(!answer.text.includes(token));
        const records = await recordsOf(stack.auditDir, answer);
        assert.equal(records.length, 1);
        assert.equal(records[0]?.outcome, 'error');
        assert.equal(records[0]?.reason, reason);
        assert.equal(records[0]?.status, status);
      } finally {
        await gateway.close();
        gateway = undefined;
      }
    });
  }
  it('row 53: identity-claiming, credential and cookie headers of an upstream answer never reach the client', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, {
          'content-type': 'application/json',
          'x-forwarded-user': 'admin',
          'x-auth-request-user': 'admin',
          'x-auth-request-email': 'admin@example.test',
          'remote-user': 'admin',
          'x-mcp-iam-subject': 'admin',
          authorization: 'Bearer upstream-secret',
          'www-authenticate': 'Bearer realm="upstream"',
          'set-cookie': 'session=upstream-secret',
          'access-control-allow-origin': '*',
          'x-upstream-note': 'kept',
        });
        res.end('{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    gateway = await startWithUpstream(url);
    try {
      const answer = await rpc(stack.routes.direct, await directToken(stack), 'tools/list');
      assert.equal(answer.status, 200, answer.text);
      for (const name of [
        'x-forwarded-user',
        'x-auth-request-user',
        'x-auth-request-email',
        'remote-user',
        'x-mcp-iam-subject',
        'authorization',
        'www-authenticate',
        'set-cookie',
        'access-control-allow-origin',
      ]) {
        assert.equal(answer.headers.get(name), null, `${name} is stripped`);
      }
      assert.equal(answer.headers.get('x-upstream-note'), 'kept', 'other headers pass');
    } finally {
      await gateway.close();
      gateway = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** A token endpoint that answers every exchange with a response failing one of core's checks. */
class CraftedTokenEndpoint {
  answer: Record<string, unknown> = {};
  requests = 0;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<CraftedTokenEndpoint> {
    const server = createServer();
    const endpoint = new CraftedTokenEndpoint(server);
    server.on('request', (req, res) => {
      endpoint.requests++;
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(endpoint.answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('row 55: token exchange answers that fail the checks are not used', () => {
  let stack: Stack;
  let endpoint: CraftedTokenEndpoint | undefined;

  before(async () => {
    stack = await startStack({
      endpoints: async (issuer) => {
        endpoint = await CraftedTokenEndpoint.start();
        return {
          introspection: `${issuer}/token/introspection`,
          tokenEndpoint: `${endpoint.url}/token`,
        };
      },
    });
  });
  after(async () => {
    await stack?.close();
    await endpoint?.close();
  });

  const exchanged = (aud: string): string =>
    `${b64url({ alg: 'ES256', typ: 'at+jwt' })}.${b64url({ iss: stack.idp.issuer, sub: 'alice', aud, exp: Math.floor(Date.now() / 1000) + 300 })}.${'A'.repeat(86)}`;
  const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';

  for (const [what, answer] of [
    [
      'a wrong issued_token_type',
      () => ({
        access_token: exchanged(stack.crm.url),
        issued_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
        token_type: 'Bearer',
        expires_in: 300,
      }),
    ],
    [
      'a token for another audience',
      () => ({
        access_token: exchanged('https://other.example.test/mcp'),
        issued_token_type: ACCESS,
        token_type: 'Bearer',
        expires_in: 300,
      }),
    ],
    [
      'a wider scope than asked',
      () => ({
        access_token: exchanged(stack.crm.url),
        issued_token_type: ACCESS,
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'crm.read crm.write crm.admin',
      }),
    ],
  ] as const) {
    it(`an exchange answer with ${what} gives 502 token_exchange_invalid and the upstream receives nothing`, async () => {
      endpoint!.answer = answer();
      const token = (
        await userAccessToken({
          issuer: stack.idp.issuer,
          user: 'alice',
          password: 'alice',
          scope: 'crm.read',
          resource: stack.routes.crm,
        })
      ).access_token;
      const before = stack.crm.requests.length;
      const asked = endpoint!.requests;
      const { headers } = traced();
      const reply = await callTool(stack.routes.crm, token, 'search_contacts', {}, headers);
      assert.equal(reply.status, 502, reply.text);
      assert.equal(endpoint!.requests - asked, 1, 'the exchange was attempted');
      assert.equal(stack.crm.requests.length, before, 'the upstream received nothing');
      const records = await recordsOf(stack.auditDir, reply);
      assert.equal(records.length, 1);
      assert.equal(records[0]?.outcome, 'error');
      assert.equal(records[0]?.reason, 'token_exchange_invalid');
    });
  }
});

describe('row 56: exchanged tokens are never shared between users', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack?.close();
  });

  it('alice and bob calling the same tool concurrently: every upstream request carries an exchanged token for the caller who sent it', async () => {
    const users = ['alice', 'bob'] as const;
    const tokens = new Map<string, string>();
    for (const user of users) {
      tokens.set(
        user,
        (
          await userAccessToken({
            issuer: stack.idp.issuer,
            user,
            password: user,
            scope: 'crm.read',
            resource: stack.routes.crm,
          })
        ).access_token,
      );
    }
    const callerOf = new Map<string, string>();
    const calls = Array.from({ length: 24 }, (_, i) => {
      const user = users[i % 2]!;
      const { traceId, headers } = traced();
      callerOf.set(traceId, user);
      return callTool(stack.routes.crm, tokens.get(user), 'search_contacts', {}, headers);
    });
    const answers = await Promise.all(calls);
    assert.ok(answers.every((a) => a.status === 200));
    let checked = 0;
    for (const request of stack.crm.requests) {
      const traceId = String(request.headers.traceparent ?? '').split('-')[1] ?? '';
      const caller = callerOf.get(traceId);
      if (caller === undefined) continue;
      const header = String(request.headers.authorization ?? '');
      const payload = JSON.parse(
        Buffer.from(header.slice('Bearer '.length).split('.')[1] ?? '', 'base64url').toString(),
      ) as { sub?: string; aud?: unknown };
      assert.equal(payload.sub, caller, 'the upstream token acts for the caller');
      assert.equal(payload.aud, stack.crm.url);
      checked++;
    }
    assert.equal(checked, 24, 'every call reached the upstream with a traceable token');
  });
});
