import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAuditRecord, isSanitizedAuditRecord, type AuditRecord } from '@mcp-iam/core';
import { prepareAuditJson, prepareAuditRecord, REDACTED_TOKEN } from './sanitize.js';
import { createAuditSink } from './sink.js';
import { readSpool } from './spool/reader.js';
import { segmentPath } from './spool/segments.js';
import { makeRecord, tempDir } from './testing/records.js';
import { readFileSync } from 'node:fs';

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

const hostile = [
  'plain',
  'quote " and backslash \\ and slash /',
  'ctl \u0000\u001b[2J\r\n\t',
  'c1 \u0085\u009b del \u007f',
  'ls \u2028 ps \u2029 bom \ufeff zw \u200b bidi \u202e',
  'pair \u{1f680} lone \ud800 \udfff',
  'x'.repeat(5000),
  `${'y'.repeat(255)}\u{1f680}`,
  'eyJ but not a token',
];

function built(value: string, index: number): AuditRecord {
  return buildAuditRecord({
    outcome: (['allow', 'deny', 'error'] as const)[index % 3]!,
    reason: index % 2 ? 'forbidden' : 'allowed',
    startedAt: Date.now() - index,
    endedAt: Date.now(),
    requestId: value,
    route: value,
    principal: {
      issuer: value,
      subject: value,
      kind: 'user',
      clientId: value,
      scopes: [value, 'crm.read'],
      audience: ['https://m/mcp'],
      actor: { sub: value, act: { sub: 'agent' } },
      acr: value,
      expiresAt: 0,
      tokenFormat: 'jwt',
      claims: {},
    },
    operation: { method: value, tool: value, resource: value, prompt: value },
    scopesRequired: [value],
    status: 200 + index,
    upstreamStatus: index % 2 ? 502 : undefined,
    token: `token-${index}`,
    fingerprintKey: 'k',
    detail: value,
  });
}

test('a record core built and nobody changed is stored exactly as the full validation pass would store it', () => {
  hostile.forEach((value, i) => {
    const record = built(value, i);
    assert.equal(isSanitizedAuditRecord(record), true);
    const full = prepareAuditRecord(record);
    const fast = prepareAuditJson(record);
    assert.equal(fast.json, JSON.stringify(full.record));
    assert.equal(fast.redactions, full.redactions);
    // The stored data equals the record's own fields (core's record object carries a class brand).
    assert.deepEqual(JSON.parse(fast.json), { ...record });
  });
});

test('the sink stores a marked record and an unmarked copy of it byte for byte the same', async () => {
  const { dir, remove } = tempDir();
  try {
    const sink = await createAuditSink({ spool: { dir } });
    const record = built(hostile[5]!, 1);
    await sink.write(record);
    await sink.write({ ...record });
    await sink.close();
    const lines = readFileSync(segmentPath(dir, 1), 'utf8').split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[0], lines[1]);
  } finally {
    remove();
  }
});

test('a JWT-shaped string in a record core built is still redacted and counted at the sink', async () => {
  const { dir, remove } = tempDir();
  try {
    const sink = await createAuditSink({ spool: { dir } });
    const record = buildAuditRecord({
      outcome: 'deny',
      reason: 'forbidden',
      startedAt: Date.now(),
      requestId: JWT,
      operation: { method: 'tools/call', tool: JWT },
      detail: `token was ${JWT}`,
    });
    assert.equal(isSanitizedAuditRecord(record), true);
    await sink.write(record);
    await sink.close();
    assert.equal(sink.counters().redacted, 3, 'one per value, the request id counted once');
    for await (const { record: stored } of readSpool(dir)) {
      assert.equal(stored.tool, REDACTED_TOKEN);
      assert.equal(stored.requestId, REDACTED_TOKEN);
      assert.equal(stored.detail, `token was ${REDACTED_TOKEN}`);
      assert.ok(!JSON.stringify(stored).includes('eyJ'));
    }
  } finally {
    remove();
  }
});

test('an unmarked or modified copy of a built record goes through full validation', async () => {
  const record = built('clean', 0);
  const copy = { ...record, tool: 'evil\u0000tool', extra: 'dropped' } as AuditRecord;
  assert.equal(isSanitizedAuditRecord(copy), false);
  const prepared = JSON.parse(prepareAuditJson(copy).json) as Record<string, unknown>;
  assert.equal(prepared.tool, 'evil\\u0000tool');
  assert.equal(prepared.extra, undefined);
  assert.throws(() => prepareAuditJson({ ...record, time: 'yesterday' }), {
    code: 'record_invalid',
  });
  assert.throws(() => prepareAuditJson({ ...record, status: Number.NaN }), {
    code: 'record_invalid',
  });
  const { dir, remove } = tempDir();
  try {
    const sink = await createAuditSink({ spool: { dir } });
    await assert.rejects(sink.write({ ...record, outcome: 'maybe' } as unknown as AuditRecord), {
      code: 'record_invalid',
    });
    await sink.close();
  } finally {
    remove();
  }
});

test('the boundary pass writes fields in the order AuditRecord declares them, whatever the input order', () => {
  const shuffled = makeRecord({ detail: 'd', tokenFingerprint: 'fp', acr: 'mfa' });
  const reversed = Object.fromEntries(Object.entries(shuffled).reverse()) as unknown as AuditRecord;
  assert.deepEqual(Object.keys(prepareAuditRecord(reversed).record), [
    'id',
    'time',
    'requestId',
    'route',
    'outcome',
    'reason',
    'issuer',
    'subject',
    'clientId',
    'acr',
    'method',
    'tool',
    'scopesRequired',
    'scopesGranted',
    'status',
    'durationMs',
    'tokenFingerprint',
    'detail',
  ]);
});
