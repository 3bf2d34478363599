// Pending (not run by `npm test`; run with `node --test test/dist/fuzz/challenge-field-value.pending.js`):
// failing regression tests for a defect in @mcp-iam/core found by fuzzing the challenge writer.
// The writer refuses C0 controls and DEL but returns values holding characters above U+00FF, which
// are not valid in an HTTP field value: node:http refuses to send them (ERR_INVALID_CHAR), so the
// answer becomes a 500 whose status differs from the audited one. And `validatePolicy` accepts
// scope names the writer refuses (U+0001), so `authorize` rejects and no audit record is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import {
  ChallengeError,
  InMemoryAuditSink,
  createResourceServer,
  formatChallenge,
  quoteAuthParam,
  validatePolicy,
  type AccessTokenVerifier,
  type Principal,
} from '@mcp-iam/core';

function sendable(value: string): boolean {
  try {
    validateHeaderValue('www-authenticate', value);
    return true;
  } catch {
    return false;
  }
}

test('quoteAuthParam never returns a value node:http refuses to send (input "crm.ŝ", U+015D)', () => {
  let quoted: string | undefined;
  try {
    quoted = quoteAuthParam('crm.ŝ');
  } catch (error) {
    assert.ok(error instanceof ChallengeError);
    return;
  }
  assert.ok(sendable(`Bearer scope=${quoted}`), `unsendable challenge: Bearer scope=${quoted}`);
});

test('formatChallenge never returns a value node:http refuses to send (params [["scope", "ł"]])', () => {
  let header: string | undefined;
  try {
    header = formatChallenge('Bearer', [['scope', 'ł']]);
  } catch (error) {
    assert.ok(error instanceof ChallengeError);
    return;
  }
  assert.ok(sendable(header), `unsendable challenge: ${header}`);
});

test('validatePolicy refuses a scope name the challenge writer cannot write ("crm.\\u0001read")', () => {
  assert.throws(() => validatePolicy({ tools: { search: { scopes: ['crm.\u0001read'] } } }));
});

test('a 403 for a policy scope with U+0001 is still answered and audited exactly once', async () => {
  // Test double: a verifier that accepts any token as alice without scopes.
  const principal: Principal = {
    issuer: 'https://idp.example.test',
    subject: 'alice',
    clientId: 'crm-app',
    scopes: [],
    audience: ['https://mcp.example.test/mcp'],
    tokenFormat: 'jwt',
    expiresAt: Math.floor(Date.now() / 1000) + 300,
    claims: {},
  };
  const acceptingVerifierDouble: AccessTokenVerifier = { verify: async () => principal };
  const sink = new InMemoryAuditSink();
  const rs = createResourceServer({
    resource: 'https://mcp.example.test/mcp',
    authorizationServers: ['https://idp.example.test'],
    verifier: acceptingVerifierDouble,
    policy: { tools: { search: { scopes: ['crm.\u0001read'] } } },
    audit: { sink, fingerprintKey: 'k' },
  });
  const result = await rs.authorize({
    method: 'POST',
    url: '/mcp',
    headers: { authorization: 'Bearer abc.def.ghi', 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'search' },
    }),
  });
  assert.equal(result.kind, 'deny');
  assert.equal(sink.records.length, 1);
});
