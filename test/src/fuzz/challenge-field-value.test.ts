// Regression tests for the challenge writer and policy validation, found by fuzzing: the writer used
// to return values holding characters above U+00FF, which node:http refuses to send (a 500 whose
// status differs from the audited one), and `validatePolicy` accepted scope names the writer refuses.
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

test('a resource server refuses, at construction, a policy scope it could not write in a 403 challenge', () => {
  // Test double: a verifier that is never called (construction fails first).
  const unusedVerifierDouble: AccessTokenVerifier = {
    verify: async () => {
      throw new Error('not called');
    },
  };
  assert.throws(
    () =>
      createResourceServer({
        resource: 'https://mcp.example.test/mcp',
        authorizationServers: ['https://idp.example.test'],
        verifier: unusedVerifierDouble,
        policy: { tools: { search: { scopes: ['crm.\u0001read'] } } },
        audit: { sink: new InMemoryAuditSink(), fingerprintKey: 'k' },
      }),
    /scope token/,
  );
});

test('validatePolicy refuses a non-ASCII acr value, which would go into acr_values="…"', () => {
  assert.throws(() => validatePolicy({ tools: { update: { acr: ['mfa\u00e9'] } } }), /scope token/);
});
