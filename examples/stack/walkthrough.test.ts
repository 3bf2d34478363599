// The demo walkthrough as a test: the same stack and steps as `npm run demo`, on free ports,
// with every step's expectations asserted (the gateway runs as the `mcp-iam gateway` child).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ephemeralPorts, startStack, type Stack } from './stack.js';
import { runWalkthrough, type StepResult } from './walkthrough.js';

let stack: Stack | undefined;
let results: StepResult[] = [];

before(async () => {
  stack = await startStack({ ports: await ephemeralPorts() });
  results = await runWalkthrough(stack);
});

after(async () => {
  await stack?.close();
});

function assertStep(id: string): void {
  const result = results.find((r) => r.id === id);
  assert.ok(result, `step ${id} ran`);
  assert.equal(result.ok, true, `${id}: ${result.problem ?? ''}\n${result.lines.join('\n')}`);
}

test('a request without a token gets 401 naming resource_metadata, and the SDK client discovers the IdP and signs in with PKCE', () =>
  assertStep('discovery'));

test('a signed-in user can search the CRM, which sees the user and the client and no actor', () =>
  assertStep('alice-search'));

test('update_contact with a read-only token is refused with 403 insufficient_scope naming crm.write, before the tool runs', () =>
  assertStep('bob-update-denied'));

test('update_contact needs crm.write and an MFA sign-in: the client widens its scope, steps up on the 401 challenge and succeeds', () =>
  assertStep('alice-step-up'));

test('the insights server calls the CRM with an exchanged token: the CRM sees the user with actor insights-server', () =>
  assertStep('insights-exchange'));

test('through the gateway, the CRM receives an exchanged token and sees the user with actor mcp-gateway', () =>
  assertStep('gateway-crm'));

test('a machine client with private_key_jwt reaches the stdio notes server through the gateway with an opaque token, isolated per subject', () =>
  assertStep('nightly-sync-notes'));

test("a disabled user's refresh token is refused with invalid_grant", () =>
  assertStep('disabled-user'));

test('the audit trail holds one record per request, denials included, and never a token', () =>
  assertStep('audit-trail'));

test('every step of the walkthrough ran, in order', () => {
  assert.deepEqual(
    results.map((r) => r.id),
    [
      'discovery',
      'alice-search',
      'bob-update-denied',
      'alice-step-up',
      'insights-exchange',
      'gateway-crm',
      'nightly-sync-notes',
      'disabled-user',
      'audit-trail',
    ],
  );
});
