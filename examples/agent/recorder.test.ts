// The agent reads challenge parameters to decide what to do next (step-up, wider scope).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { challengeParams } from './recorder.js';

test('challengeParams reads quoted and bare parameters of a step-up challenge', () => {
  const params = challengeParams(
    'Bearer error="insufficient_user_authentication", acr_values="mfa", max_age=300, resource_metadata="http://127.0.0.1:5001/.well-known/oauth-protected-resource/mcp"',
  );
  assert.equal(params.get('error'), 'insufficient_user_authentication');
  assert.equal(params.get('acr_values'), 'mfa');
  assert.equal(params.get('max_age'), '300');
  assert.equal(
    params.get('resource_metadata'),
    'http://127.0.0.1:5001/.well-known/oauth-protected-resource/mcp',
  );
});

test('challengeParams unescapes quoted-pair characters and keeps spaces inside quotes', () => {
  const params = challengeParams(
    'Bearer scope="crm.read crm.write", error_description="a \\"quoted\\" word"',
  );
  assert.equal(params.get('scope'), 'crm.read crm.write');
  assert.equal(params.get('error_description'), 'a "quoted" word');
});

test('challengeParams of a missing header is empty', () => {
  assert.equal(challengeParams(undefined).size, 0);
});
