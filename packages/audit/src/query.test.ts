import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesAuditQuery, parseQueryTime, queryLimit, querySpool } from './query.js';
import { Spool } from './spool/spool.js';
import { makeRecord, tempDir } from './testing/records.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');

test('relative times count back from now; ISO times are taken as given; anything else is refused', () => {
  assert.equal(parseQueryTime('90s', NOW).toISOString(), '2026-03-01T11:58:30.000Z');
  assert.equal(parseQueryTime('1h', NOW).toISOString(), '2026-03-01T11:00:00.000Z');
  assert.equal(parseQueryTime('7d', NOW).toISOString(), '2026-02-22T12:00:00.000Z');
  assert.equal(
    parseQueryTime('2026-01-02T03:04:05Z', NOW).toISOString(),
    '2026-01-02T03:04:05.000Z',
  );
  assert.throws(() => parseQueryTime('soon', NOW), { code: 'invalid_argument' });
});

test('a record matches only when every given condition holds; actor matches any chain member', () => {
  const r = makeRecord({ time: NOW.toISOString(), subject: 'alice', actorChain: ['a', 'b'] });
  assert.ok(matchesAuditQuery(r, {}));
  assert.ok(matchesAuditQuery(r, { subject: 'alice', actor: 'b', since: NOW }));
  assert.ok(!matchesAuditQuery(r, { subject: 'alice', outcome: 'deny' }));
  assert.ok(!matchesAuditQuery(r, { until: NOW }));
  assert.ok(!matchesAuditQuery(r, { actor: 'c' }));
  assert.ok(!matchesAuditQuery(makeRecord(), { actor: 'a' }));
});

test('limits default to 100, are capped, and must be positive integers', () => {
  assert.equal(queryLimit({}), 100);
  assert.equal(queryLimit({ limit: 10_000_000 }), 100_000);
  assert.throws(() => queryLimit({ limit: 0 }), { code: 'invalid_argument' });
  assert.throws(() => queryLimit({ limit: 1.5 }), { code: 'invalid_argument' });
});

test('querySpool returns the newest matches first, up to the limit, across a large spool', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir, maxSegmentBytes: 64 * 1024 });
    const records = Array.from({ length: 1500 }, (_, i) =>
      makeRecord({
        time: new Date(NOW.getTime() + i * 1000).toISOString(),
        outcome: i % 3 === 0 ? 'deny' : 'allow',
      }),
    );
    await Promise.all(records.map((r) => spool.append(r)));
    await spool.close();
    const denies = records.filter((r) => r.outcome === 'deny');
    const got = await querySpool(dir, { outcome: 'deny', limit: 7 });
    assert.deepEqual(
      got.map((r) => r.id),
      denies
        .slice(-7)
        .reverse()
        .map((r) => r.id),
    );
    const oldest = await querySpool(dir, { limit: 2, order: 'asc' });
    assert.deepEqual(
      oldest.map((r) => r.id),
      records.slice(0, 2).map((r) => r.id),
    );
  } finally {
    remove();
  }
});
