/**
 * The rules every audit store must follow, as one suite run against each real back end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditRecord } from '@mcp-iam/core';
import type { AuditStore } from '../store/store.js';
import { makeRecord } from './records.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

function at(minutes: number): string {
  return new Date(T0 + minutes * 60_000).toISOString();
}

/** Registers the conformance tests; `open` gives a fresh, empty store for each test. */
export function storeConformance(name: string, open: () => Promise<AuditStore>): void {
  const fixtures: AuditRecord[] = [
    makeRecord({
      time: at(0),
      subject: 'alice',
      clientId: 'agent',
      tool: 'search',
      outcome: 'allow',
    }),
    makeRecord({
      time: at(1),
      subject: 'alice',
      clientId: 'agent',
      tool: 'update',
      outcome: 'deny',
      reason: 'insufficient_scope',
      actorChain: ['svc-a', 'svc-b'],
    }),
    makeRecord({
      time: at(2),
      subject: 'bob',
      clientId: 'cli',
      tool: 'search',
      outcome: 'deny',
      reason: 'forbidden',
    }),
    makeRecord({
      time: at(3),
      subject: 'bob',
      clientId: 'agent',
      tool: 'update',
      outcome: 'error',
      reason: 'upstream_error',
      actorChain: ['svc-b'],
    }),
    makeRecord({
      time: at(4),
      subject: 'carol',
      clientId: 'cli',
      tool: undefined,
      method: 'tools/list',
      outcome: 'allow',
    }),
  ];

  async function withStore(fn: (store: AuditStore) => Promise<void>): Promise<void> {
    const store = await open();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  }

  const ids = (records: AuditRecord[]): string[] => records.map((r) => r.id);
  const f = (i: number): AuditRecord => fixtures[i] as AuditRecord;

  test(`${name}: a replayed record id is skipped, so inserts are idempotent`, () =>
    withStore(async (store) => {
      assert.equal(await store.insert(fixtures), fixtures.length);
      assert.equal(await store.insert(fixtures), 0);
      assert.equal(await store.insert([f(0), makeRecord({ id: f(0).id, subject: 'mallory' })]), 0);
      const all = await store.query({ limit: 100 });
      assert.equal(all.length, fixtures.length);
      assert.equal(all.find((r) => r.id === f(0).id)?.subject, 'alice');
    }));

  test(`${name}: a query returns records exactly as written, newest first, up to the limit`, () =>
    withStore(async (store) => {
      await store.insert(fixtures);
      assert.deepEqual(await store.query({}), [...fixtures].reverse());
      assert.deepEqual(ids(await store.query({ limit: 2 })), [f(4).id, f(3).id]);
      assert.deepEqual(ids(await store.query({ limit: 2, order: 'asc' })), [f(0).id, f(1).id]);
    }));

  test(`${name}: filters by time range (since inclusive, until exclusive)`, () =>
    withStore(async (store) => {
      await store.insert(fixtures);
      const got = await store.query({
        since: new Date(at(1)),
        until: new Date(at(3)),
        order: 'asc',
      });
      assert.deepEqual(ids(got), [f(1).id, f(2).id]);
    }));

  test(`${name}: filters by subject, client, tool, outcome and actor, combined with AND`, () =>
    withStore(async (store) => {
      await store.insert(fixtures);
      const q = async (query: Parameters<AuditStore['query']>[0]): Promise<string[]> =>
        ids(await store.query({ ...query, order: 'asc' }));
      assert.deepEqual(await q({ subject: 'alice' }), [f(0).id, f(1).id]);
      assert.deepEqual(await q({ clientId: 'cli' }), [f(2).id, f(4).id]);
      assert.deepEqual(await q({ tool: 'update' }), [f(1).id, f(3).id]);
      assert.deepEqual(await q({ outcome: 'deny' }), [f(1).id, f(2).id]);
      assert.deepEqual(await q({ actor: 'svc-b' }), [f(1).id, f(3).id]);
      assert.deepEqual(await q({ actor: 'svc-a' }), [f(1).id]);
      assert.deepEqual(await q({ subject: 'bob', outcome: 'deny' }), [f(2).id]);
      assert.deepEqual(await q({ reason: 'upstream_error' }), [f(3).id]);
      assert.deepEqual(await q({ subject: 'nobody' }), []);
    }));

  test(`${name}: hostile strings are stored and matched as data, never as SQL`, () =>
    withStore(async (store) => {
      const evil = "x'); DROP TABLE audit_records; --";
      const record = makeRecord({ subject: evil, tool: '%' });
      await store.insert([record]);
      assert.deepEqual(ids(await store.query({ subject: evil })), [record.id]);
      assert.deepEqual(ids(await store.query({ tool: '_' })), []);
      assert.equal((await store.query({})).length, 1);
    }));

  test(`${name}: a raw record written around the sink (NUL bytes, bad time) is stored, not stuck`, () =>
    withStore(async (store) => {
      const raw = makeRecord({
        subject: 'nul\u0000here',
        actorChain: ['a\u0000'],
        time: 'garbage',
      });
      assert.equal(await store.insert([raw]), 1);
      const [got] = await store.query({});
      assert.equal(got?.id, raw.id);
      assert.equal(got?.subject, 'nul\u0000here');
    }));
}
