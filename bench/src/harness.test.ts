/** Specification of the benchmark harness: the bad tokens, the correctness checker, the options and the summary line. */
import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { checkCorrectness, classify } from './correctness.js';
import { startFixtureIssuer, type FixtureIssuer } from './fixtures/issuer.js';
import { REQUIRED_SCOPE, VALID_TOKEN_SCOPE } from './mcp.js';
import { parseOptions } from './options.js';
import { summaryLine } from './report.js';
import type { BenchResults, RowResult } from './results.js';
import { startBareProxy, type BareProxy } from './servers/bare-proxy.js';
import { startFixedUpstream, type FixedUpstream } from './servers/fixed-upstream.js';
import { BAD_TOKEN_KINDS, TOKEN_KINDS } from './tokens.js';

const AUDIENCE = 'https://mcp.bench.invalid/mcp';

let issuer: FixtureIssuer;
let upstream: FixedUpstream;
let proxy: BareProxy;

before(async () => {
  issuer = await startFixtureIssuer({ audience: AUDIENCE, scope: VALID_TOKEN_SCOPE });
  upstream = await startFixedUpstream();
  proxy = await startBareProxy(new URL(upstream.url).origin);
});

after(async () => {
  await proxy.close();
  await new Promise<void>((resolve) => {
    upstream.server.close(() => resolve());
    upstream.server.closeAllConnections();
  });
  await issuer.close();
});

describe('token minting', () => {
  const now = (): number => Math.floor(Date.now() / 1000);
  const verifyOptions = () => ({
    issuer: issuer.url,
    audience: AUDIENCE,
    typ: 'at+jwt',
    algorithms: ['ES256'],
  });

  test('the valid token verifies against the fixture JWKS with iss, aud, typ and the needed scope', async () => {
    const jwks = createLocalJWKSet({ keys: [issuer.publicJwk] });
    const { payload } = await jwtVerify(await issuer.mint('valid'), jwks, verifyOptions());
    assert.ok(String(payload.scope).split(' ').includes(REQUIRED_SCOPE));
    assert.ok((payload.exp as number) > now());
    for (const claim of ['sub', 'client_id', 'jti', 'iat']) assert.ok(claim in payload, claim);
  });

  test('each bad token breaks exactly the rule it names', async () => {
    const claims = async (kind: (typeof BAD_TOKEN_KINDS)[number]) =>
      decodeJwt(await issuer.mint(kind));
    assert.notEqual((await claims('wrong-aud')).aud, AUDIENCE);
    assert.notEqual((await claims('wrong-iss')).iss, issuer.url);
    assert.ok(((await claims('expired')).exp as number) < now());
    assert.equal((await claims('no-exp')).exp, undefined);
    assert.ok(((await claims('nbf-future')).nbf as number) > now());
    assert.ok(
      !String((await claims('no-scope')).scope)
        .split(' ')
        .includes(REQUIRED_SCOPE),
    );

    const none = await issuer.mint('alg-none');
    assert.equal(decodeProtectedHeader(none).alg, 'none');
    assert.ok(none.endsWith('.'), 'an unsecured JWT has an empty signature');

    const otherKey = await issuer.mint('other-key');
    assert.equal(decodeProtectedHeader(otherKey).kid, issuer.kid);
    const jwks = createLocalJWKSet({ keys: [issuer.publicJwk] });
    await assert.rejects(jwtVerify(otherKey, jwks, verifyOptions()), {
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  test('two valid tokens differ (a fresh jti each), so a token cache cannot hide verification', async () => {
    assert.notEqual(await issuer.mint('valid'), await issuer.mint('valid'));
  });

  test('opaque tokens introspect as active only while valid', async () => {
    const introspect = async (token: string) => {
      const response = await fetch(issuer.introspectionEndpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from('bench-resource-server:bench-introspection-secret').toString('base64')}`,
        },
        body: new URLSearchParams({ token }),
      });
      return (await response.json()) as { active: boolean; aud?: string };
    };
    assert.equal((await introspect(issuer.mintOpaque('valid') as string)).active, true);
    assert.equal((await introspect(issuer.mintOpaque('expired') as string)).active, false);
    assert.equal(issuer.mintOpaque('alg-none'), null);
  });
});

describe('correctness checker', () => {
  test('the bare proxy wrongly accepts every bad token and accepts the valid one', async () => {
    const cells = await checkCorrectness(`http://127.0.0.1:${proxy.port}/mcp`, (kind) =>
      issuer.mint(kind),
    );
    assert.deepEqual(
      cells.map((c) => c.kind),
      [...TOKEN_KINDS],
    );
    for (const cell of cells) {
      assert.equal(cell.status, 200);
      assert.equal(cell.verdict, cell.kind === 'valid' ? 'correct' : 'wrongly-accepted', cell.kind);
    }
  });

  test('a server that only lets the valid token through is correct on every token', async () => {
    const valid = await issuer.mint('valid');
    const strict = createServer((req, res) => {
      req.resume();
      res.writeHead(req.headers.authorization === `Bearer ${valid}` ? 200 : 401).end();
    });
    await new Promise<void>((resolve) => strict.listen(0, '127.0.0.1', resolve));
    const port = (strict.address() as AddressInfo).port;
    try {
      const cells = await checkCorrectness(`http://127.0.0.1:${port}/mcp`, (kind) =>
        kind === 'valid' ? Promise.resolve(valid) : issuer.mint(kind),
      );
      assert.ok(cells.every((c) => c.verdict === 'correct'));
    } finally {
      strict.close();
    }
  });

  test('a rejected valid token, a missing answer and an inapplicable token are told apart', () => {
    assert.equal(classify('valid', 401), 'wrongly-rejected');
    assert.equal(classify('expired', 403), 'correct');
    assert.equal(classify('expired', null), 'error');
    assert.equal(classify('alg-none', null, false), 'not-applicable');
  });
});

describe('options and summary', () => {
  test('--quick means one 1-second round unless told otherwise', () => {
    assert.deepEqual(
      [parseOptions([]).durationS, parseOptions([]).rounds, parseOptions([]).connections],
      [5, 3, 32],
    );
    const quick = parseOptions(['--quick']);
    assert.deepEqual([quick.durationS, quick.rounds], [1, 1]);
    assert.equal(parseOptions(['--rounds', '2', '--quick']).rounds, 2);
    assert.deepEqual(parseOptions(['--rows', 'apache,haproxy']).rows, ['apache', 'haproxy']);
    assert.throws(() => parseOptions(['--duration', '0']));
  });

  test('the summary line is n/a without a measured gateway, ratios of req/s with one', () => {
    const row = (id: string, rps: number | null): RowResult => ({
      id,
      title: id,
      description: id,
      status: rps === null ? 'skipped' : 'measured',
      correctness: [],
      rounds: [],
      ...(rps === null
        ? {}
        : {
            median: {
              requestsPerSecond: rps,
              p50Ms: 1,
              p99Ms: 2,
              cpuUsPerRequest: 10,
              upstreamCpuUsPerRequest: null,
              errors: 0,
            },
          }),
    });
    const results = (gateway: number | null): BenchResults => ({
      date: '2026-01-01T00:00:00Z',
      machine: { cpus: 2, cpuModel: 'x', node: 'v20', os: 'Linux' },
      options: { durationS: 1, rounds: 1, connections: 1, rows: null },
      loadGenerator: 'wrk',
      pinning: 'none',
      issuerRequests: { jwks: 0, discovery: 0, introspection: 0 },
      rows: [row('bare-proxy', 1000), row('gateway', gateway), row('apache', 250)],
      micro: [],
    });
    assert.equal(summaryLine(results(null)), 'gateway/bare-proxy=n/a gateway/apache=n/a');
    assert.equal(summaryLine(results(500)), 'gateway/bare-proxy=0.50 gateway/apache=2.00');
  });
});
