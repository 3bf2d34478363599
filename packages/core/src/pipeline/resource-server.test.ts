import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { UnavailableError } from '../errors.js';
import { InMemoryAuditSink } from '../audit/build.js';
import type { AuditSink } from '../audit/record.js';
import type { AccessTokenVerifier } from '../token/verifier.js';
import {
  createResourceServer,
  type AllowResult,
  type DenyResult,
  type ResourceServerOptions,
} from './resource-server.js';
import { LocalKeyTestVerifier } from './test-support.js';

const RESOURCE = 'https://crm.example/mcp';
const META = 'https://crm.example/.well-known/oauth-protected-resource/mcp';
let verifier: LocalKeyTestVerifier;

before(async () => {
  verifier = await LocalKeyTestVerifier.create();
});

const policy = {
  default: 'deny',
  methods: { initialize: {}, 'tools/list': {} },
  tools: {
    search: { scopes: ['crm.read'] },
    update: { scopes: ['crm.write', 'crm.read'] },
    export: { scopes: ['crm.read', 'crm.export'] },
  },
} as const;

function server(overrides: Partial<ResourceServerOptions> = {}) {
  const sink = new InMemoryAuditSink();
  const rs = createResourceServer({
    resource: RESOURCE,
    authorizationServers: [verifier.issuer],
    scopesSupported: ['crm.read'],
    verifier,
    policy,
    audit: { sink, fingerprintKey: 'test-fingerprint-key', route: 'crm' },
    ...overrides,
  });
  return { rs, sink };
}

const rpc = (method: string, params?: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params ? { params } : {}) });
const postHeaders = (auth?: string, extra: Record<string, string | string[]> = {}) => ({
  'content-type': 'application/json',
  ...(auth !== undefined ? { authorization: auth } : {}),
  ...extra,
});
function denied(r: AllowResult | DenyResult): DenyResult {
  assert.equal(r.kind, 'deny');
  return r as DenyResult;
}

test('row 1/2/6: no usable credentials → 401 with resource_metadata and scope, no error; one audit record', async () => {
  const { rs, sink } = server();
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const cases = [
    { headers: postHeaders() },
    { headers: postHeaders('Basic dXNlcjpwYXNz') },
    { headers: postHeaders(), url: `/mcp?access_token=${token}` },
  ];
  for (const c of cases) {
    const r = denied(
      await rs.authorize({
        method: 'POST',
        url: c.url ?? '/mcp',
        headers: c.headers,
        body: rpc('tools/list'),
      }),
    );
    assert.equal(r.status, 401);
    assert.equal(r.reason, 'missing_token');
    assert.equal(
      r.headers['www-authenticate'],
      `Bearer resource_metadata="${META}", scope="crm.read"`,
    );
  }
  assert.equal(sink.records.length, 3);
  assert.ok(
    sink.records.every(
      (x) => x.outcome === 'deny' && x.reason === 'missing_token' && x.method === 'tools/list',
    ),
  );
  assert.ok(!JSON.stringify(sink.records).includes(token), 'the query token appears in no record');
});

test('row 3/5: empty token, two headers, header plus query/form token → 400 invalid_request', async () => {
  const { rs, sink } = server();
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const cases: Array<{ headers: Record<string, string | string[]>; url?: string; body?: string }> =
    [
      { headers: postHeaders('Bearer    ') },
      {
        headers: postHeaders(undefined, { authorization: [`Bearer ${token}`, `Bearer ${token}`] }),
      },
      { headers: postHeaders(`Bearer ${token}`), url: '/mcp?access_token=x' },
      {
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'access_token=x',
      },
    ];
  for (const c of cases) {
    const r = denied(
      await rs.authorize({
        method: 'POST',
        url: c.url ?? '/mcp',
        headers: c.headers,
        body: c.body ?? rpc('ping'),
      }),
    );
    assert.equal(r.status, 400);
    assert.match(r.headers['www-authenticate']!, /^Bearer error="invalid_request"/);
  }
  assert.equal(sink.records.length, cases.length);
});

test('row 4: lower- and upper-case schemes are accepted', async () => {
  const { rs, sink } = server();
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  for (const scheme of ['bearer', 'BEARER']) {
    const r = await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders(`${scheme} ${token}`),
      body: rpc('tools/call', { name: 'search' }),
    });
    assert.equal(r.kind, 'allow');
    await rs.complete(r as AllowResult, { status: 200 });
  }
  assert.equal(sink.records.length, 2);
  assert.equal(sink.records[0]!.outcome, 'allow');
  assert.equal(sink.records[0]!.status, 200);
  assert.equal(sink.records[0]!.tool, 'search');
  assert.equal(sink.records[0]!.subject, 'alice');
  assert.ok(sink.records[0]!.tokenFingerprint && !JSON.stringify(sink.records).includes(token));
});

test('row 7: an oversized Authorization header → 401 invalid_token token_too_large, verifier not called', async () => {
  const { rs } = server();
  const before = verifier.calls;
  const r = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders(`Bearer ${'a'.repeat(65536)}`),
      body: rpc('ping'),
    }),
  );
  assert.equal(r.status, 401);
  assert.equal(r.reason, 'token_too_large');
  assert.match(r.headers['www-authenticate']!, /error="invalid_token"/);
  assert.equal(verifier.calls, before);
});

test('a bad token → 401 invalid_token naming the metadata URL', async () => {
  const { rs } = server();
  const other = await verifier.issue('https://other.example/mcp', { scope: 'crm.read' });
  const r = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders(`Bearer ${other}`),
      body: rpc('ping'),
    }),
  );
  assert.equal(r.status, 401);
  assert.equal(r.reason, 'token_bad_audience');
  assert.equal(
    r.headers['www-authenticate'],
    `Bearer error="invalid_token", resource_metadata="${META}"`,
  );
});

test('row 37: 403 insufficient_scope lists every scope the operation needs', async () => {
  const { rs, sink } = server();
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const r = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders(`Bearer ${token}`),
      body: rpc('tools/call', { name: 'export' }),
    }),
  );
  assert.equal(r.status, 403);
  assert.equal(
    r.headers['www-authenticate'],
    `Bearer error="insufficient_scope", scope="crm.export crm.read", resource_metadata="${META}"`,
  );
  assert.deepEqual(sink.records[0]!.scopesRequired, ['crm.export', 'crm.read']);
  assert.deepEqual(sink.records[0]!.scopesGranted, ['crm.read']);
});

test('row 41: the same token on two routes runs each route’s own audience and policy', async () => {
  const a = server();
  const b = server({ resource: 'https://insights.example/mcp' });
  const strict = server({
    policy: { default: 'deny', tools: { search: { scopes: ['crm.admin'] } } },
  });
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const req = {
    method: 'POST',
    url: '/mcp',
    headers: postHeaders(`Bearer ${token}`),
    body: rpc('tools/call', { name: 'search' }),
  };
  assert.equal((await a.rs.authorize(req)).kind, 'allow');
  assert.equal(denied(await b.rs.authorize(req)).status, 401);
  assert.equal(denied(await strict.rs.authorize(req)).status, 403);
  // And again: a warm verifier never changes the route decision.
  assert.equal((await a.rs.authorize(req)).kind, 'allow');
  assert.equal(denied(await b.rs.authorize(req)).reason, 'token_bad_audience');
});

test('row 16: attacker-controlled strings are escaped and capped in the audit record', async () => {
  const { rs, sink } = server();
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const evil = `../../etc/passwd\u0000\r\nX-Injected: 1\u001b[31m' OR 1=1;--${'A'.repeat(10_000)}`;
  denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders(`Bearer ${token}`),
      body: rpc('tools/call', { name: evil }),
    }),
  );
  const rec = sink.records[0]!;
  assert.equal(rec.reason, 'forbidden');
  assert.ok(rec.tool!.length < 400);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(rec.tool!, /[\u0000-\u001f]/);
  assert.match(rec.tool!, /\\u0000\\u000d\\u000aX-Injected/);
  assert.match(rec.tool!, /…\[\+\d+\]$/);
});

test('row 50: a foreign Origin → 403 origin_forbidden before authentication', async () => {
  const { rs, sink } = server();
  const before = verifier.calls;
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const r = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders(`Bearer ${token}`, { origin: 'http://evil.example' }),
      body: rpc('ping'),
    }),
  );
  assert.equal(r.status, 403);
  assert.equal(r.reason, 'origin_forbidden');
  assert.equal(verifier.calls, before);
  assert.equal(sink.records.length, 1);
  const same = await rs.authorize({
    method: 'POST',
    url: '/mcp',
    headers: postHeaders(`Bearer ${token}`, { origin: 'https://crm.example' }),
    body: rpc('tools/list'),
  });
  assert.equal(same.kind, 'allow');
  const hostCheck = server({ allowedHosts: ['crm.example'] });
  const h = denied(
    await hostCheck.rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders(`Bearer ${token}`, { host: 'evil.example' }),
      body: rpc('ping'),
    }),
  );
  assert.equal(h.reason, 'host_forbidden');
});

test('row 51: an attacker Host or X-Forwarded-Host never changes the challenge', async () => {
  const { rs } = server();
  const r = denied(
    await rs.authorize({
      method: 'POST',
      url: 'http://evil.example/mcp',
      headers: postHeaders(undefined, {
        host: 'evil.example',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'http',
      }),
      body: rpc('ping'),
    }),
  );
  assert.equal(
    r.headers['www-authenticate'],
    `Bearer resource_metadata="${META}", scope="crm.read"`,
  );
  assert.doesNotMatch(JSON.stringify(r), /evil/);
});

test('row 52: batch, non-JSON, deep nesting and unknown methods are refused and audited with the method', async () => {
  const { rs, sink } = server();
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const auth = postHeaders(`Bearer ${token}`);
  const batch = denied(
    await rs.authorize({ method: 'POST', url: '/mcp', headers: auth, body: `[${rpc('ping')}]` }),
  );
  assert.equal(batch.status, 400);
  assert.equal(JSON.parse(batch.body).error.code, -32600);
  const junk = denied(
    await rs.authorize({ method: 'POST', url: '/mcp', headers: auth, body: '{nope' }),
  );
  assert.equal(junk.status, 400);
  assert.equal(JSON.parse(junk.body).error.code, -32700);
  const deep = denied(
    await rs.authorize({ method: 'POST', url: '/mcp', headers: auth, body: '['.repeat(100_000) }),
  );
  assert.equal(deep.status, 400);
  const unknown = denied(
    await rs.authorize({ method: 'POST', url: '/mcp', headers: auth, body: rpc('sampling/evil') }),
  );
  assert.equal(unknown.status, 403);
  const mismatch = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: { ...auth, 'mcp-name': 'update' },
      body: rpc('tools/call', { name: 'search' }),
    }),
  );
  assert.equal(mismatch.status, 400);
  assert.equal(mismatch.reason, 'operation_mismatch');
  const big = denied(
    await server({ maxBodyBytes: 100 }).rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: auth,
      body: rpc('x', { s: 'a'.repeat(200) }),
    }),
  );
  assert.equal(big.status, 413);
  const type = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: rpc('ping'),
    }),
  );
  assert.equal(type.status, 415);
  assert.equal(sink.records.length, 6);
  assert.equal(sink.records[3]!.method, 'sampling/evil');
  assert.equal(sink.records[4]!.method, 'tools/call');
  assert.ok(sink.records.every((r) => r.outcome === 'deny'));
});

test('an unavailable IdP → 503 with Retry-After, no challenge, audited as error', async () => {
  const down: AccessTokenVerifier = {
    async verify() {
      throw new UnavailableError('issuer_unavailable', 'jwks down', { retryAfter: 9 });
    },
  };
  const { rs, sink } = server({ verifier: down });
  const r = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders('Bearer abc'),
      body: rpc('ping'),
    }),
  );
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '9');
  assert.equal(r.headers['www-authenticate'], undefined);
  assert.doesNotMatch(r.body, /jwks/);
  assert.equal(sink.records[0]!.outcome, 'error');
});

test("a custom verifier answering with a then-able (another realm's promise, a PromiseLike) is awaited: its rejection denies, never becomes the principal", async () => {
  const { InvalidTokenError } = await import('../errors.js');
  const thenable: AccessTokenVerifier = {
    verify: () =>
      ({
        then(_resolve: unknown, reject: (e: unknown) => void) {
          reject(new InvalidTokenError('token_bad_signature', 'forged'));
        },
      }) as unknown as Promise<never>,
  };
  const { rs, sink } = server({ verifier: thenable });
  const r = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders('Bearer forged'),
      body: rpc('tools/list'),
    }),
  );
  assert.equal(r.status, 401);
  assert.equal(sink.records[0]!.outcome, 'deny');
});

test('step-up: a weak authentication → 401 insufficient_user_authentication', async () => {
  const { rs } = server({
    policy: { default: 'deny', tools: { wire: { acr: ['mfa'], max_age: 60 } } },
  });
  const token = await verifier.issue(RESOURCE, {
    acr: 'pwd',
    auth_time: Math.floor(Date.now() / 1000),
  });
  const r = denied(
    await rs.authorize({
      method: 'POST',
      url: '/mcp',
      headers: postHeaders(`Bearer ${token}`),
      body: rpc('tools/call', { name: 'wire' }),
    }),
  );
  assert.equal(r.status, 401);
  assert.equal(
    r.headers['www-authenticate'],
    `Bearer error="insufficient_user_authentication", acr_values="mfa", max_age=60, resource_metadata="${META}"`,
  );
});

test('strict audit: a failing sink turns a denial into 503 and makes complete() reject', async () => {
  const failing: AuditSink = {
    async write() {
      throw new Error('disk full');
    },
  };
  const { rs } = server({ audit: { sink: failing, fingerprintKey: 'k' } });
  const r = denied(
    await rs.authorize({ method: 'POST', url: '/mcp', headers: postHeaders(), body: rpc('ping') }),
  );
  assert.equal(r.status, 503);
  assert.equal(r.reason, 'audit_unavailable');
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const ok = await rs.authorize({
    method: 'POST',
    url: '/mcp',
    headers: postHeaders(`Bearer ${token}`),
    body: rpc('tools/list'),
  });
  assert.equal(ok.kind, 'allow');
  await assert.rejects(
    rs.complete(ok as AllowResult, { status: 200 }),
    (e: unknown) => e instanceof UnavailableError && e.code === 'audit_unavailable',
  );
});

test('complete() writes exactly one record per allowed request', async () => {
  const { rs, sink } = server();
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const ok = (await rs.authorize({
    method: 'POST',
    url: '/mcp',
    headers: postHeaders(`Bearer ${token}`),
    body: rpc('tools/list'),
  })) as AllowResult;
  assert.ok(!JSON.stringify(ok.audit).includes(token), 'the allow draft holds no raw token');
  await rs.complete(ok, { status: 200, upstreamStatus: 200 });
  await assert.rejects(rs.complete(ok, { status: 200 }));
  assert.equal(sink.records.length, 1);
  assert.equal(sink.records[0]!.upstreamStatus, 200);
});

test('a failure after the allow is recorded as error with its reason, under the caller’s request id', async () => {
  const { rs, sink } = server();
  const token = await verifier.issue(RESOURCE, { scope: 'crm.read' });
  const ok = (await rs.authorize({
    method: 'POST',
    url: '/mcp',
    headers: postHeaders(`Bearer ${token}`),
    body: rpc('tools/list'),
    requestId: '4bf92f3577b34da6a3ce929d0e0e4736',
  })) as AllowResult;
  await rs.complete(ok, { status: 502, reason: 'upstream_unavailable' });
  assert.equal(sink.records[0]!.outcome, 'error');
  assert.equal(sink.records[0]!.reason, 'upstream_unavailable');
  assert.equal(sink.records[0]!.requestId, '4bf92f3577b34da6a3ce929d0e0e4736');
});

test('metadata is answered at the path-inserted URL and the root', () => {
  const { rs } = server();
  assert.deepEqual(rs.metadataPaths, [
    '/.well-known/oauth-protected-resource/mcp',
    '/.well-known/oauth-protected-resource',
  ]);
  assert.equal(
    JSON.parse(rs.answerMetadata('GET', '/.well-known/oauth-protected-resource/mcp')!.body)
      .resource,
    RESOURCE,
  );
  assert.equal(rs.answerMetadata('GET', '/.well-known/oauth-protected-resource')!.status, 200);
  assert.equal(rs.answerMetadata('GET', '/mcp'), undefined);
  assert.equal(
    server({ metadataAtRoot: false }).rs.answerMetadata(
      'GET',
      '/.well-known/oauth-protected-resource',
    ),
    undefined,
  );
});
