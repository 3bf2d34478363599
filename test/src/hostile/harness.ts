/**
 * The hostile-input harness: sends each case of the hostile-token factory to a target over real
 * HTTP on loopback and checks everything SECURITY-CASES demands of an answer — status, challenge
 * shape, zero upstream calls, exactly one audit record with the stable reason, no token text in any
 * record, log or body, and no outbound request the case does not allow. A target is anything that
 * implements `HostileTarget`: core behind its node:http adapter today, the gateway later.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AuditRecord } from '@mcp-iam/core';
import { challengeParams, parseSingleChallenge } from '../fixtures/auth-params.js';
import { HostileEnvironment } from './environment.js';
import { buildHostileCases, mintWithJose, toolCall, type HostileCase } from './factory.js';
import { signCompact } from './keys.js';

/**
 * A protected MCP endpoint under test, running in front of an upstream that counts the requests it
 * receives. A gateway target must provide the same: its listening origin, the protected path, the
 * canonical resource its challenges name, the scopes named in a 401 without a token, the number of
 * requests its upstream received, its audit records, everything it logged, and the number of
 * outbound requests it made (to the IdP or anywhere else).
 */
export interface HostileTarget {
  /** Origin the target listens on, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Path of the protected MCP endpoint on `url`, e.g. `/crm/mcp`. */
  readonly resourcePath: string;
  /** Canonical resource URL (the `aud` tokens must name; the challenge's metadata URL derives from it). */
  readonly resource: string;
  /** Scopes a 401 without a token names in `scope`. */
  readonly scopesSupported: readonly string[];
  /** Requests the upstream (the protected MCP server) received so far. */
  upstreamCalls(): number;
  /** Audit records written so far, oldest first. */
  auditRecords(): readonly AuditRecord[];
  /** Everything the target logged so far. */
  logs(): string;
  /** Outbound requests the target made so far (IdP discovery, key sets, introspection, other). */
  outboundRequests(): number;
  /** Moves the target's clock forward (targets that run in-process with an injectable clock). */
  advanceClock?(seconds: number): void;
  /** Stops the target and its upstream. */
  close(): Promise<void>;
}

/** Creates a target configured against the hostile environment (issuers, keys, resource). */
export type HostileTargetFactory = (env: HostileEnvironment) => Promise<HostileTarget>;

/** What came back for one request. */
export interface HostileAnswer {
  readonly status: number;
  /** Every `WWW-Authenticate` header line. */
  readonly challenges: readonly string[];
  readonly retryAfter?: string;
  readonly body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** Sends one case's request to the target's protected path. */
export function sendHostileRequest(target: HostileTarget, c: HostileCase): Promise<HostileAnswer> {
  const query = c.request.query ? `?${new URLSearchParams(c.request.query).toString()}` : '';
  const url = new URL(`${target.resourcePath}${query}`, target.url);
  const body = c.request.body ?? toolCall();
  const method = c.request.method ?? 'POST';
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        agent,
        headers: {
          ...(c.request.headers as Record<string, string | string[]>),
          ...(method === 'POST' ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const challenges: string[] = [];
          const raw = res.rawHeaders;
          for (let i = 0; i < raw.length; i += 2) {
            if (raw[i]!.toLowerCase() === 'www-authenticate') challenges.push(raw[i + 1]!);
          }
          const retryAfter = res.headers['retry-after'];
          resolve({
            status: res.statusCode ?? 0,
            challenges,
            ...(retryAfter !== undefined ? { retryAfter } : {}),
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? body : undefined);
  });
}

/** The RFC 9728 metadata URL a challenge must name for `resource`. */
export function metadataUrlOf(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname;
  return `${u.origin}/.well-known/oauth-protected-resource${path}`;
}

/** Test title of a case: the rule it states. */
export function caseTitle(c: HostileCase): string {
  const e = c.expect;
  if (e.status === 200) return `row ${c.row}: ${c.name} and reaches the upstream exactly once`;
  const what = [String(e.status), e.error].filter(Boolean).join(' ');
  return `row ${c.row}: ${c.name} with ${what} (${e.reason})`;
}

interface Snapshot {
  readonly upstream: number;
  readonly records: number;
  readonly attacker: number;
  readonly keys: number;
  readonly introspections: number;
  readonly outbound: number;
}

function snapshot(target: HostileTarget, env: HostileEnvironment): Snapshot {
  return {
    upstream: target.upstreamCalls(),
    records: target.auditRecords().length,
    attacker: env.attackerRequests(),
    keys: env.keyRequests(),
    introspections: env.introspectionRequests(),
    outbound: target.outboundRequests(),
  };
}

/** Strings that must never be disclosed for this credential: itself and 20-character windows of its signature. */
export function leakProbes(secret: string | undefined): string[] {
  if (secret === undefined) return [];
  const probes = secret.length >= 16 ? [secret] : [];
  const parts = secret.split('.');
  const signature = parts.length === 3 ? parts[2]! : '';
  for (let i = 0; i + 20 <= signature.length; i++) probes.push(signature.slice(i, i + 20));
  return probes;
}

// C0, DEL and C1 controls, which an audit record must hold only escaped.
// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function checkChallenge(target: HostileTarget, c: HostileCase, answer: HostileAnswer): void {
  const e = c.expect;
  const expectsChallenge = e.status === 401 || e.error !== undefined;
  if (!expectsChallenge) {
    assert.equal(answer.challenges.length, 0, 'no WWW-Authenticate expected');
    return;
  }
  assert.equal(answer.challenges.length, 1, 'exactly one WWW-Authenticate header');
  const header = answer.challenges[0]!;
  assert.ok(!/[\r\n]/.test(header), 'the challenge has no CR or LF');
  const parsed = parseSingleChallenge(header);
  assert.equal(parsed.scheme, 'Bearer');
  const names = parsed.params.map(([name]) => name);
  assert.equal(new Set(names).size, names.length, 'no repeated auth-param');
  const params = challengeParams(parsed);
  assert.equal(params.get('resource_metadata'), metadataUrlOf(target.resource));
  if (e.status === 401 && e.error === undefined) {
    assert.equal(params.has('error'), false, 'no error attribute without credentials');
    assert.equal(params.get('scope'), target.scopesSupported.join(' '));
    return;
  }
  assert.equal(params.get('error'), e.error);
  if (e.error === 'invalid_token') {
    assert.ok(
      header.startsWith('Bearer error="invalid_token", '),
      `401 invalid_token challenge shape: ${header}`,
    );
  }
  if (e.scope !== undefined) {
    const named = (params.get('scope') ?? '').split(' ').sort();
    assert.deepEqual(named, e.scope.split(' ').sort(), 'the challenge names every needed scope');
  }
}

function checkBody(c: HostileCase, answer: HostileAnswer): void {
  const e = c.expect;
  if (e.status === 200) return;
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    assert.fail('the answer body is JSON');
  }
  assert.ok(body !== null && typeof body === 'object' && !Array.isArray(body));
  const members = Object.keys(body);
  for (const m of members) {
    assert.ok(['error', 'error_description', 'reason'].includes(m), `unexpected body member ${m}`);
  }
  const error = (body as { error?: unknown }).error;
  assert.equal(typeof error, 'string');
  if (e.error !== undefined) assert.equal(error, e.error);
  // The reason code is shown only where it gives nothing away: never for a refused token (which
  // check failed stays in the audit record), and when shown it is the audited one.
  const reason = (body as { reason?: unknown }).reason;
  if (error === 'invalid_token' || error === 'server_error')
    assert.equal(reason, undefined, 'no reason code in an invalid_token or server_error body');
  else if (reason !== undefined) assert.equal(reason, e.reason);
  assert.ok(!/\bat .+:\d+:\d+\)?/.test(answer.body), 'no stack trace in the body');
}

/**
 * Sends one case and asserts every obligation of SECURITY-CASES for it.
 *
 * @example
 * ```ts
 * await runHostileCase(target, env, c);
 * ```
 */
export async function runHostileCase(
  target: HostileTarget,
  env: HostileEnvironment,
  c: HostileCase,
): Promise<void> {
  const before = snapshot(target, env);
  const answer = await sendHostileRequest(target, c);
  const afterCase = snapshot(target, env);
  const e = c.expect;

  assert.equal(answer.status, e.status, `status (body: ${answer.body.slice(0, 200)})`);
  checkChallenge(target, c, answer);
  checkBody(c, answer);
  if (e.status === 503) assert.ok(answer.retryAfter !== undefined, 'a 503 carries Retry-After');

  const allowed = e.status === 200;
  assert.equal(afterCase.upstream - before.upstream, allowed ? 1 : 0, 'upstream calls');

  const records = target.auditRecords().slice(before.records);
  assert.equal(records.length, 1, 'exactly one audit record');
  const record = records[0]!;
  assert.equal(record.outcome, allowed ? 'allow' : e.status >= 500 ? 'error' : 'deny');
  assert.equal(record.reason, e.reason);
  if (record.status !== undefined) assert.equal(record.status, e.status);
  for (const value of Object.values(record)) {
    const texts = Array.isArray(value) ? value : [value];
    for (const text of texts) {
      if (typeof text === 'string') {
        assert.ok(!RAW_CONTROL.test(text), 'audit strings hold no raw control characters');
      }
    }
  }

  const recordText = JSON.stringify(records);
  const logs = target.logs();
  for (const probe of leakProbes(c.secret)) {
    assert.ok(!answer.body.includes(probe), 'the body does not disclose the token');
    assert.ok(!recordText.includes(probe), 'the audit record does not disclose the token');
    assert.ok(!logs.includes(probe), 'the logs do not disclose the token');
  }
  for (const echo of c.echoes ?? []) {
    assert.ok(!answer.body.includes(echo), 'the body does not echo attacker input');
    assert.ok(!recordText.includes(echo), 'the audit record does not hold attacker input raw');
    assert.ok(!logs.includes(echo), 'the logs do not hold attacker input raw');
  }

  assert.equal(afterCase.attacker, before.attacker, 'no request to an attacker URL');
  const outbound = e.outbound ?? 'none';
  if (outbound === 'none') {
    assert.equal(afterCase.outbound, before.outbound, 'no outbound request at all');
    assert.equal(afterCase.keys, before.keys, 'no key set request');
    assert.equal(afterCase.introspections, before.introspections, 'no introspection');
  } else if (outbound === 'keys') {
    assert.equal(afterCase.introspections, before.introspections, 'no introspection');
  } else {
    assert.equal(afterCase.keys, before.keys, 'no key set request');
  }
}

/** Options of `defineHostileSuite`. */
export interface HostileSuiteOptions {
  /** Prefix of every test name (e.g. `core`). */
  readonly label: string;
  readonly createTarget: HostileTargetFactory;
  /**
   * Rewrites a case's expectation for a target whose documented behaviour differs (e.g. the
   * gateway refuses non-JSON bodies before authentication). Default: every case as built.
   */
  readonly adjustCase?: (c: HostileCase) => HostileCase;
}

async function mapConcurrent<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

/**
 * Registers the whole hostile suite against a target: one named test per case of the factory,
 * the 2 000-random-kid storm (row 15), the attacker-URL tally (row 17) and, for targets with a
 * clock, revocation within the positive cache TTL (row 45). Call it at the top level of a test file.
 *
 * @example
 * ```ts
 * await defineHostileSuite({ label: 'core', createTarget: createCoreTarget });
 * ```
 */
export async function defineHostileSuite(options: HostileSuiteOptions): Promise<void> {
  const env = await HostileEnvironment.start();
  const target = await options.createTarget(env);
  after(async () => {
    await target.close();
    await env.close();
    agent.destroy();
  });
  const cases = buildHostileCases(env).map(options.adjustCase ?? ((c) => c));
  const label = options.label;

  test(`${label}: a valid token minted with jose SignJWT is accepted and reaches the upstream once`, async () => {
    const token = await mintWithJose(env);
    await runHostileCase(target, env, {
      row: 0,
      name: 'jose-minted token',
      request: {
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      expect: { status: 200, reason: 'allowed' },
      secret: token,
    });
  });

  for (const c of cases) {
    const guard = c.row === 8 || c.row === 10 ? { timeout: 10_000 } : {};
    test(`${label}: ${caseTitle(c)}`, guard, () => runHostileCase(target, env, c));
  }

  test(`${label}: row 15: 2 000 random kids are each refused and cause at most one key set refetch`, async () => {
    const storm = await options.createTarget(env);
    try {
      const fetchesBefore = env.idp.jwksFetches('main');
      const startedAt = Date.now();
      const recordsBefore = storm.auditRecords().length;
      const k = env.keys.mainEs;
      const now = Math.floor(Date.now() / 1000);
      const payload = JSON.stringify({
        iss: env.main.issuer,
        sub: 'alice',
        aud: env.resource,
        client_id: 'crm-app',
        scope: 'crm.read',
        iat: now,
        exp: now + 300,
        jti: randomUUID(),
      });
      const tokens = Array.from({ length: 2000 }, () =>
        signCompact(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: randomUUID() }), payload, k),
      );
      const answers = await mapConcurrent(tokens, 8, (token) =>
        sendHostileRequest(storm, {
          row: 15,
          name: 'random kid',
          request: {
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          },
          expect: { status: 401, error: 'invalid_token', reason: 'token_unknown_key' },
        }),
      );
      assert.ok(answers.every((a) => a.status === 401));
      // One refetch per 30 s cooldown: a storm slower than the cooldown may earn one more each time.
      const cooldowns = 1 + Math.floor((Date.now() - startedAt) / 30_000);
      const refetches = env.idp.jwksFetches('main') - fetchesBefore;
      assert.ok(refetches <= cooldowns, `${refetches} refetches for ${cooldowns} cooldown(s)`);
      const records = storm.auditRecords().slice(recordsBefore);
      assert.equal(records.length, 2000);
      assert.ok(records.every((r) => r.outcome === 'deny' && r.reason === 'token_unknown_key'));
      assert.equal(storm.upstreamCalls(), 0);
      assert.equal(env.attackerRequests(), 0);
    } finally {
      await storm.close();
    }
  });

  test(`${label}: row 17: no case caused a single request to an attacker-controlled URL`, () => {
    assert.equal(env.attackerRequests(), 0);
  });

  if (target.advanceClock) {
    test(`${label}: row 45: a token revoked at the IdP is refused once the positive cache TTL has passed`, async () => {
      const revocable = await options.createTarget(env);
      try {
        const claims = {
          active: true,
          iss: env.main.issuer,
          aud: env.resource,
          sub: 'carol',
          client_id: 'crm-app',
          scope: 'crm.read',
          exp: Math.floor(Date.now() / 1000) + 3600,
        };
        const token = env.opaqueToken({ status: 200, body: JSON.stringify(claims) });
        const request = {
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        };
        await runHostileCase(revocable, env, {
          row: 45,
          name: 'active',
          request,
          expect: { status: 200, reason: 'allowed', outbound: 'introspection' },
          secret: token,
        });
        env.setIntrospection(token, { status: 200, body: '{"active":false}' });
        revocable.advanceClock!(61);
        await runHostileCase(revocable, env, {
          row: 45,
          name: 'revoked',
          request,
          expect: {
            status: 401,
            error: 'invalid_token',
            reason: 'token_inactive',
            outbound: 'introspection',
          },
          secret: token,
        });
      } finally {
        await revocable.close();
      }
    });
  }
}
