// The demo walkthrough as a test: the same stack and steps as `npm run demo`, on free ports,
// with every step's expectations asserted (the gateway runs as the `mcp-iam gateway` child).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { querySpool } from '@mcp-iam/audit';
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

test('a request without a token gets 401 naming resource_metadata, and the SDK client discovers the IdP (each metadata document fetched once) and signs in with PKCE', () =>
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

test('the audit trail holds one record per request, denials included, every allow with the status the client got, and never a token', () =>
  assertStep('audit-trail'));

test('the example servers record the status they answered: 200 for requests, 202 for notifications', async () => {
  assert.ok(stack);
  for (const dir of [stack.auditDirs.crm, stack.auditDirs.insights]) {
    const allowed = (await querySpool(dir, { order: 'asc', limit: 10_000 })).filter(
      (r) => r.outcome === 'allow',
    );
    assert.ok(allowed.length > 0, dir);
    for (const record of allowed) {
      const expected = record.method?.startsWith('notifications/') ? 202 : 200;
      assert.equal(record.status, expected, `${record.route ?? ''} ${record.method ?? ''}`);
    }
  }
});

test('the printed audit trail labels the event-stream probe and explains it and the other housekeeping rows', () => {
  const lines = results.find((r) => r.id === 'audit-trail')?.lines ?? [];
  const probes = lines.filter((l) => /^ {2}\S.* GET /.test(l));
  assert.ok(probes.length > 0, lines.join('\n'));
  for (const row of probes) assert.match(row, /GET \(event-stream probe\) +405$/);
  const text = lines.join('\n');
  assert.match(text, /^GET \(event-stream probe\) 405: after initialize, the SDK client asks/m);
  assert.match(text, /^notifications\/initialized 202: /m);
  assert.match(text, /^A call through the gateway has two rows/m);
});

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
