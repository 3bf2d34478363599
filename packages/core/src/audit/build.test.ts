import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAuditRecord, InMemoryAuditSink } from './build.js';
import { tokenFingerprint } from './record.js';

const principal = {
  issuer: 'https://idp.example',
  subject: 'alice\r\nforged: yes',
  clientId: 'agent\u001b[2J',
  scopes: ['crm.read'],
  audience: ['https://m/mcp'],
  actor: { sub: 'insights\u0000', act: { sub: 'agent' } },
  acr: 'mfa',
  expiresAt: 0,
  tokenFormat: 'jwt' as const,
  claims: {},
};

test('a record holds the keyed token fingerprint, never the token', () => {
  const token = 'eyJ.secret.token';
  const r = buildAuditRecord({
    outcome: 'allow',
    reason: 'allowed',
    startedAt: Date.now() - 5,
    token,
    fingerprintKey: 'k',
  });
  assert.equal(r.tokenFingerprint, tokenFingerprint(token, 'k'));
  assert.ok(!JSON.stringify(r).includes(token));
  const none = buildAuditRecord({
    outcome: 'deny',
    reason: 'missing_token',
    startedAt: Date.now(),
    token,
  });
  assert.equal(none.tokenFingerprint, undefined);
  assert.ok(!JSON.stringify(none).includes(token));
});

test('row 16: every attacker-controlled string is escaped and capped', () => {
  const r = buildAuditRecord({
    outcome: 'deny',
    reason: 'forbidden',
    startedAt: Date.now(),
    principal,
    operation: {
      method: 'tools/call\n',
      tool: `x${'y'.repeat(5000)}`,
      resource: 'a\u2028b',
      prompt: '\u009b',
    },
    requestId: 'id\r\n',
    route: 'crm',
    detail: 'kid=../../etc/passwd\u0000',
  });
  const text = JSON.stringify(r);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(Object.values(r).flat().join(' '), /[\u0000-\u001f\u007f-\u009f\u2028]/);
  assert.equal(r.subject, 'alice\\u000d\\u000aforged: yes');
  assert.deepEqual(r.actorChain, ['insights\\u0000', 'agent']);
  assert.ok(r.tool!.length < 300);
  assert.ok(text.length < 4000);
});

test('InMemoryAuditSink keeps records in order and is bounded', async () => {
  const sink = new InMemoryAuditSink(2);
  for (const reason of ['missing_token', 'forbidden', 'allowed'] as const) {
    await sink.write(buildAuditRecord({ outcome: 'deny', reason, startedAt: Date.now() }));
  }
  assert.deepEqual(
    sink.records.map((r) => r.reason),
    ['forbidden', 'allowed'],
  );
});
