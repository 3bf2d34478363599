import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAuditRecord, InMemoryAuditSink } from './build.js';
import { isSanitizedAuditRecord, sanitizeAuditString, tokenFingerprint } from './record.js';

const principal = {
  issuer: 'https://idp.example',
  subject: 'alice\r\nforged: yes',
  kind: 'user' as const,
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

test('a built record and its lists are frozen, and isSanitizedAuditRecord recognises it but not a copy', () => {
  const r = buildAuditRecord({
    outcome: 'deny',
    reason: 'forbidden',
    startedAt: Date.now(),
    principal,
    operation: { method: 'tools/call', tool: 'x' },
    scopesRequired: ['crm.write'],
    token: 'eyJ.secret.token',
    fingerprintKey: 'k',
    status: 403,
  });
  assert.equal(isSanitizedAuditRecord(r), true);
  assert.ok(Object.isFrozen(r));
  assert.ok(Object.isFrozen(r.actorChain) && Object.isFrozen(r.scopesRequired));
  assert.ok(Object.isFrozen(r.scopesGranted));
  assert.throws(() => {
    (r.scopesGranted as string[]).push('admin');
  }, TypeError);
  assert.equal(isSanitizedAuditRecord({ ...r }), false);
  assert.equal(isSanitizedAuditRecord(structuredClone(r)), false);
  assert.equal(isSanitizedAuditRecord(new Proxy(r, {})), false);
  assert.equal(isSanitizedAuditRecord(null), false);
  assert.equal(isSanitizedAuditRecord('record'), false);
});

test('a built record whose unsanitized fields a sink would not accept unchanged is not marked', () => {
  const base = { outcome: 'allow', reason: 'allowed', startedAt: Date.now() } as const;
  const unmarked = [
    { ...base, reason: 'bad\nreason' },
    { ...base, reason: undefined },
    { ...base, outcome: 'maybe' },
    { ...base, tokenFingerprint: 'fp\u0000' },
    { ...base, tokenFingerprint: 'f'.repeat(300) },
    { ...base, status: Number.NaN },
    { ...base, status: null },
    { ...base, upstreamStatus: '200' },
    { ...base, endedAt: Number.POSITIVE_INFINITY },
  ];
  for (const input of unmarked) {
    const r = buildAuditRecord(input as unknown as Parameters<typeof buildAuditRecord>[0]);
    assert.equal(isSanitizedAuditRecord(r), false, JSON.stringify(input));
  }
  assert.equal(isSanitizedAuditRecord(buildAuditRecord(base)), true);
});

test('records started in the same millisecond share the formatted time; an invalid start still throws', () => {
  const startedAt = Date.UTC(2026, 2, 1, 12, 0, 0, 7);
  const a = buildAuditRecord({ outcome: 'allow', reason: 'allowed', startedAt });
  const b = buildAuditRecord({ outcome: 'allow', reason: 'allowed', startedAt });
  const c = buildAuditRecord({ outcome: 'allow', reason: 'allowed', startedAt: startedAt + 1 });
  assert.equal(a.time, '2026-03-01T12:00:00.007Z');
  assert.equal(b.time, a.time);
  assert.equal(c.time, '2026-03-01T12:00:00.008Z');
  assert.throws(
    () => buildAuditRecord({ outcome: 'allow', reason: 'allowed', startedAt: Number.NaN }),
    RangeError,
  );
});

test('sanitizeAuditString returns clean strings unchanged and still escapes, caps and keeps pairs whole', () => {
  assert.equal(sanitizeAuditString('search_contacts'), 'search_contacts');
  assert.equal(sanitizeAuditString('a'.repeat(256)), 'a'.repeat(256));
  assert.equal(sanitizeAuditString('a'.repeat(257)), `${'a'.repeat(256)}…[+1]`);
  assert.equal(sanitizeAuditString('rocket \u{1f680}'), 'rocket \u{1f680}');
  assert.equal(sanitizeAuditString('lone \ud800 x'), 'lone \\ud800 x');
  assert.equal(sanitizeAuditString('tail \udc00'), 'tail \\udc00');
  assert.equal(sanitizeAuditString('del\u007f nbsp\u00a0'), 'del\\u007f nbsp\u00a0');
  assert.equal(sanitizeAuditString('ls\u2028'), 'ls\\u2028');
  assert.equal(sanitizeAuditString(`${'a'.repeat(255)}\u{1f680}`), `${'a'.repeat(255)}…[+2]`);
  assert.equal(sanitizeAuditString(42), '42');
});

test('a frozen scope list is sanitized once and reused; a mutable list is sanitized afresh every time', () => {
  const frozen = Object.freeze(['crm.read', 'bad\u001bscope']);
  const first = buildAuditRecord({
    outcome: 'allow',
    reason: 'allowed',
    startedAt: 1,
    scopesRequired: frozen,
  });
  const second = buildAuditRecord({
    outcome: 'allow',
    reason: 'allowed',
    startedAt: 1,
    scopesRequired: frozen,
  });
  assert.deepEqual(first.scopesRequired, ['crm.read', 'bad\\u001bscope']);
  assert.equal(second.scopesRequired, first.scopesRequired);

  const mutable = ['crm.read'];
  const before = buildAuditRecord({
    outcome: 'allow',
    reason: 'allowed',
    startedAt: 1,
    scopesRequired: mutable,
  });
  mutable[0] = 'crm\u0007write';
  const after = buildAuditRecord({
    outcome: 'allow',
    reason: 'allowed',
    startedAt: 1,
    scopesRequired: mutable,
  });
  assert.deepEqual(before.scopesRequired, ['crm.read']);
  assert.deepEqual(after.scopesRequired, ['crm\\u0007write']);
});

test('each checked input field is read once: a getter cannot pass the check with one value and be stored with another', () => {
  let reads = 0;
  const input = {
    reason: 'allowed' as const,
    startedAt: 1,
    get outcome() {
      reads++;
      return (reads === 1 ? 'allow' : 'allow\u0000') as 'allow';
    },
  };
  const record = buildAuditRecord(input);
  assert.equal(reads, 1);
  assert.equal(record.outcome, 'allow');
  assert.equal(isSanitizedAuditRecord(record), true);
});

test('a list is copied element by element, so an Array subclass overriding slice cannot smuggle raw strings into a marked record', () => {
  class Sneaky extends Array<string> {
    override slice(): string[] {
      return ['raw\u001bscope', 'x'.repeat(20_000)];
    }
  }
  const scopes = Sneaky.from(['crm.read']) as Sneaky;
  Object.freeze(scopes);
  const record = buildAuditRecord({
    outcome: 'allow',
    reason: 'allowed',
    startedAt: 1,
    scopesRequired: scopes,
  });
  assert.deepEqual([...(record.scopesRequired ?? [])], ['crm.read']);
});
