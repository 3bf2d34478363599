/** Specifies how `check` reads an OAuth refusal: from the JSON body, else from the challenge. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeAnswer, oauthErrorOf, type ProbeAnswer } from './http-probe.js';

function answer(
  status: number,
  headers: Record<string, string>,
  json?: Record<string, unknown>,
): ProbeAnswer {
  return { kind: 'answer', status, headers: new Headers(headers), json };
}

test('an answer with only a WWW-Authenticate challenge is read for its error and description', () => {
  const refused = answer(401, {
    'www-authenticate':
      'Basic realm="idp", error="invalid_client", error_description="client authentication failed"',
  });
  assert.deepEqual(oauthErrorOf(refused), {
    error: 'invalid_client',
    description: 'client authentication failed',
  });
  assert.equal(describeAnswer(refused), 'HTTP 401 invalid_client (client authentication failed)');
});

test('the JSON body wins over the challenge, and an answer without either is its status', () => {
  const both = answer(400, { 'www-authenticate': 'Bearer error="x"' }, { error: 'invalid_grant' });
  assert.equal(describeAnswer(both), 'HTTP 400 invalid_grant');
  assert.equal(describeAnswer(answer(500, {})), 'HTTP 500');
});
