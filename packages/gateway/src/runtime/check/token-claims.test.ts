/** Specifies the claim-by-claim comparison behind `mcp-iam check --token`: every failing claim, expected vs found. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../config/index.js';
import { compareClaims, decodeToken } from './token-claims.js';

const { config } = loadConfig(
  `public_url: https://gw.example.com
issuers:
  - issuer: https://idp.example.com
    token_types: [at+jwt]
    algorithms: [ES256]
routes:
  - name: crm
    path: /crm/mcp
    upstream: { url: https://crm.example.com/mcp }
    policy:
      tools: { search: { scopes: [crm.read] }, update: { scopes: [crm.write] } }
audit: { sink: spool, path: ./data/audit }
`,
  { fileName: 'gateway.yaml', env: {} },
);
const NOW = 1_800_000_000;

test('every failing claim is named with what the route expects, the key that says so, and what was found', () => {
  const claims = compareClaims({
    config,
    route: config.routes[0]!,
    header: { alg: 'HS256', typ: 'JWT' },
    claims: {
      iss: 'https://other.example.com',
      aud: 'https://crm.example.com/mcp',
      exp: NOW - 600,
      iat: NOW - 1200,
      scope: 'crm.read',
    },
    nowSec: NOW,
  });
  const byClaim = Object.fromEntries(claims.map((c) => [c.claim, c]));
  assert.deepEqual(
    claims.map((c) => `${c.level} ${c.claim}`),
    ['fail issuer', 'fail typ', 'fail algorithm', 'fail audience', 'fail expiry', 'warn scopes'],
  );
  assert.equal(
    byClaim.issuer?.detail,
    'expected one of [https://idp.example.com] (issuers[].issuer); found "https://other.example.com"',
  );
  assert.match(
    byClaim.audience?.detail ?? '',
    /^expected \[https:\/\/gw\.example\.com\/crm\/mcp\] \(public_url \+ path\); found "https:\/\/crm\.example\.com\/mcp"/,
  );
  assert.equal(
    byClaim.expiry?.detail,
    `expired at ${new Date((NOW - 600) * 1000).toISOString()}, 10 min ago (clock tolerance 30 s)`,
  );
  assert.equal(
    byClaim.scopes?.detail,
    "the route's policy names [crm.read, crm.write]; the token grants [crm.read] (claim scope); missing [crm.write]",
  );
});

test('a token from the configured issuer is compared with that issuer’s own settings', () => {
  const claims = compareClaims({
    config,
    route: config.routes[0]!,
    header: { alg: 'ES256', typ: 'JWT' },
    claims: {
      iss: 'https://idp.example.com',
      aud: 'https://gw.example.com/crm/mcp',
      exp: NOW + 60,
    },
    nowSec: NOW,
  });
  const typ = claims.find((c) => c.claim === 'typ');
  assert.equal(
    typ?.detail,
    'expected one of [at+jwt] (issuers[0].token_types); found "JWT"; if this IdP writes JWT in its ' +
      'access tokens, add it to issuers[0].token_types',
  );
  assert.equal(claims.find((c) => c.claim === 'algorithm')?.level, 'ok');
});

test('a token is read as a JWT, an opaque string or neither, without verifying anything', () => {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  assert.equal(decodeToken(`${part({ alg: 'ES256' })}.${part({ sub: 'a' })}.sig`).kind, 'jwt');
  assert.equal(decodeToken('2YotnFZFEjr1zCsicMWpAA').kind, 'opaque');
  assert.deepEqual(decodeToken('a.b'), {
    kind: 'malformed',
    problem: 'it has 2 dot-separated parts, not 3',
  });
});
