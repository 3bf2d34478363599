// The exchange client against a real loopback token endpoint (node:http on 127.0.0.1:0) that
// authenticates the client and answers as each test configures it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, generateKeyPair, jwtVerify } from 'jose';
import { McpIamError, UnavailableError } from '../errors.js';
import {
  ACCESS_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
  createTokenExchangeClient,
  type TokenExchangeClientOptions,
} from './token-exchange.js';

type Answer = { status: number; body: Record<string, unknown> };
type Responder = (params: URLSearchParams) => Promise<Answer> | Answer;

let http: Server;
let base: string;
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let signingKey: KeyPair;
let clientKeys: KeyPair;
let responder: Responder;
const requests: Array<{ path: string; params: URLSearchParams; authorization?: string }> = [];

before(async () => {
  signingKey = await generateKeyPair('ES256');
  clientKeys = await generateKeyPair('ES256');
  http = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const params = new URLSearchParams(Buffer.concat(chunks).toString());
        requests.push({
          path: req.url ?? '',
          params,
          ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        });
        const send = (status: number, body: unknown) => {
          res.writeHead(status, {
            'content-type': 'application/json',
            'cache-control': 'no-store',
          });
          res.end(JSON.stringify(body));
        };
        if (req.url === '/.well-known/oauth-authorization-server') {
          return send(200, { issuer: base, token_endpoint: `${base}/token` });
        }
        if (req.url !== '/token' || params.get('grant_type') !== TOKEN_EXCHANGE_GRANT)
          return send(404, {});
        const basic = `Basic ${Buffer.from('insights:s3cret').toString('base64')}`;
        const assertion = params.get('client_assertion');
        let authenticated = req.headers.authorization === basic;
        if (assertion) {
          await jwtVerify(assertion, clientKeys.publicKey, {
            issuer: 'insights',
            subject: 'insights',
          }).then(
            () => (authenticated = true),
            () => undefined,
          );
        }
        if (!authenticated) return send(401, { error: 'invalid_client' });
        const answer = await responder(params);
        send(answer.status, answer.body);
      })();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

after(async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

const TARGET = 'https://crm.example/mcp';

async function jwtFor(
  params: URLSearchParams,
  overrides: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({
    sub: `user-of-${params.get('subject_token')}`,
    scope: params.get('scope') ?? '',
    ...overrides,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
    .setAudience(
      (overrides['aud'] as string) ?? params.get('audience') ?? params.get('resource') ?? '',
    )
    .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
    .sign(signingKey.privateKey);
}

const good: Responder = async (params) => ({
  status: 200,
  body: {
    access_token: await jwtFor(params),
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: 300,
    ...(params.has('scope') ? { scope: params.get('scope') } : {}),
  },
});

function client(overrides: Partial<TokenExchangeClientOptions> = {}) {
  return createTokenExchangeClient({
    issuer: base,
    clientId: 'insights',
    clientAuth: { method: 'client_secret_basic', clientSecret: 's3cret' },
    allowInsecureLoopbackHttp: true,
    ...overrides,
  });
}

test('exchanges with client_secret_basic after discovering the token endpoint; sends the RFC 8693 parameters', async () => {
  responder = good;
  requests.length = 0;
  const t = await client().exchange({
    subjectToken: 'user-a-token',
    audience: TARGET,
    resource: TARGET,
    scope: 'crm.read',
    actorToken: 'svc',
  });
  assert.deepEqual(t.scopes, ['crm.read']);
  assert.equal(t.issuedTokenType, ACCESS_TOKEN_TYPE);
  const tokenCall = requests.find((r) => r.path === '/token')!;
  assert.equal(tokenCall.params.get('subject_token'), 'user-a-token');
  assert.equal(tokenCall.params.get('subject_token_type'), ACCESS_TOKEN_TYPE);
  assert.equal(tokenCall.params.get('requested_token_type'), ACCESS_TOKEN_TYPE);
  assert.equal(tokenCall.params.get('audience'), TARGET);
  assert.equal(tokenCall.params.get('resource'), TARGET);
  assert.equal(tokenCall.params.get('actor_token'), 'svc');
  // The subject token went to the token endpoint and nowhere else.
  assert.ok(
    requests
      .filter((r) => r.path !== '/token')
      .every((r) => !r.params.toString().includes('user-a-token')),
  );
});

test('authenticates with private_key_jwt', async () => {
  responder = good;
  const t = await client({
    tokenEndpoint: `${base}/token`,
    clientAuth: { method: 'private_key_jwt', privateKey: clientKeys.privateKey },
  }).exchange({ subjectToken: 'pkj', audience: TARGET });
  assert.ok(t.accessToken.length > 0);
});

test('row 55: a wrong issued_token_type is refused as token_exchange_invalid', async () => {
  responder = async (p) => ({
    status: 200,
    body: {
      ...(await good(p)).body,
      issued_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    },
  });
  await assert.rejects(
    client().exchange({ subjectToken: 't', audience: TARGET }),
    (e: unknown) => e instanceof McpIamError && e.code === 'token_exchange_invalid',
  );
});

test('row 55: a token whose aud is another server is refused', async () => {
  responder = async (p) => ({
    status: 200,
    body: {
      ...(await good(p)).body,
      access_token: await jwtFor(p, { aud: 'https://other.example/mcp' }),
    },
  });
  await assert.rejects(
    client().exchange({ subjectToken: 't', audience: TARGET }),
    (e: unknown) => e instanceof McpIamError && e.code === 'token_exchange_invalid',
  );
});

test('row 55: a wider scope than asked is refused', async () => {
  responder = async (p) => ({
    status: 200,
    body: { ...(await good(p)).body, scope: 'crm.read crm.admin' },
  });
  await assert.rejects(
    client().exchange({ subjectToken: 't', audience: TARGET, scope: ['crm.read'] }),
    (e: unknown) => e instanceof McpIamError && e.code === 'token_exchange_invalid',
  );
});

test('a non-Bearer token type is refused', async () => {
  responder = async (p) => ({ status: 200, body: { ...(await good(p)).body, token_type: 'DPoP' } });
  await assert.rejects(
    client().exchange({ subjectToken: 't', audience: TARGET }),
    (e: unknown) => e instanceof McpIamError && e.code === 'token_exchange_invalid',
  );
});

test('an IdP refusal (4xx) is token_exchange_failed, not unavailable', async () => {
  responder = () => ({ status: 400, body: { error: 'invalid_grant' } });
  await assert.rejects(
    client().exchange({ subjectToken: 't', audience: TARGET }),
    (e: unknown) =>
      e instanceof McpIamError &&
      !(e instanceof UnavailableError) &&
      e.code === 'token_exchange_failed',
  );
});

test('row 61: an IdP that is down or answers 5xx → UnavailableError token_exchange_failed', async () => {
  responder = () => ({ status: 503, body: { error: 'temporarily_unavailable' } });
  await assert.rejects(
    client().exchange({ subjectToken: 't', audience: TARGET }),
    (e: unknown) => e instanceof UnavailableError && e.code === 'token_exchange_failed',
  );
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const port = (dead.address() as AddressInfo).port;
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  await assert.rejects(
    client({ issuer: `http://127.0.0.1:${port}` }).exchange({
      subjectToken: 't',
      audience: TARGET,
    }),
    (e: unknown) => e instanceof UnavailableError && e.code === 'token_exchange_failed',
  );
});

test('row 56: two users never share a cache entry, even concurrently', async () => {
  responder = good;
  const c = client();
  const [a, b] = await Promise.all([
    c.exchange({ subjectToken: 'alice-token', audience: TARGET, scope: 'crm.read' }),
    c.exchange({ subjectToken: 'bob-token', audience: TARGET, scope: 'crm.read' }),
  ]);
  assert.notEqual(a.accessToken, b.accessToken);
  const again = await c.exchange({
    subjectToken: 'bob-token',
    audience: TARGET,
    scope: 'crm.read',
  });
  assert.equal(again.accessToken, b.accessToken);
  assert.equal(c.cacheSize, 2);
});

test('row 81: an entry serves only the principal key it was exchanged for', async () => {
  responder = good;
  const c = client();
  const request = { subjectToken: 'shared-token', audience: TARGET, scope: 'crm.read' };
  const main = JSON.stringify(['https://idp.example', 'user', 'alice']);
  const partner = JSON.stringify(['https://partner.example', 'user', 'alice']);
  const a = await c.exchange({ ...request, principalKey: main });
  const b = await c.exchange({ ...request, principalKey: partner });
  assert.notEqual(a.accessToken, b.accessToken);
  assert.equal((await c.exchange({ ...request, principalKey: main })).accessToken, a.accessToken);
  assert.equal(c.cacheSize, 2);
});

test('cache keys are unambiguous: no split of the same characters between fields meets another', async () => {
  responder = good;
  const c = client();
  await c.exchange({ subjectToken: 't', audience: `${TARGET}\nx`, resource: 'y' });
  await c.exchange({ subjectToken: 't', audience: TARGET, resource: 'x\ny' });
  assert.equal(c.cacheSize, 2);
});

test('single flight: concurrent identical exchanges make one IdP request; later ones hit the cache until expiry', async () => {
  let calls = 0;
  responder = async (p) => {
    calls++;
    await new Promise((r) => setTimeout(r, 50));
    return good(p);
  };
  let now = Date.now();
  const c = client({ tokenEndpoint: `${base}/token`, now: () => now, leewaySec: 30 });
  const results = await Promise.all(
    Array.from({ length: 5 }, () =>
      c.exchange({ subjectToken: 'carol', audience: TARGET, scope: 'crm.read' }),
    ),
  );
  assert.equal(calls, 1);
  assert.ok(results.every((r) => r.accessToken === results[0]!.accessToken));
  await c.exchange({ subjectToken: 'carol', audience: TARGET, scope: 'crm.read' });
  assert.equal(calls, 1);
  // Different scope or audience is a different entry.
  await c.exchange({ subjectToken: 'carol', audience: TARGET, scope: 'crm.write' });
  assert.equal(calls, 2);
  // Past expiry minus leeway the token is fetched again.
  now += 271_000;
  await c.exchange({ subjectToken: 'carol', audience: TARGET, scope: 'crm.read' });
  assert.equal(calls, 3);
});

test('refuses a non-https IdP unless loopback http is explicitly allowed', () => {
  assert.throws(() => client({ allowInsecureLoopbackHttp: false }), TypeError);
  assert.throws(
    () => client({ issuer: 'http://idp.example', allowInsecureLoopbackHttp: true }),
    TypeError,
  );
});
