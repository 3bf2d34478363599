import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditShipper } from './shipper.js';
import { readSpoolCursor } from './spool/cursor.js';
import { listSpoolSegments } from './spool/segments.js';
import { Spool } from './spool/spool.js';
import { SqliteAuditStore } from './store/sqlite.js';
import { FailingStoreDouble, MemoryStoreDouble } from './testing/failing-store.js';
import { FaultInjectingFileSystem } from './testing/fault-fs.js';
import { makeRecord, tempDir } from './testing/records.js';

test('ships every spooled record to SQLite in order and advances the durable cursor', async () => {
  const { dir, remove } = tempDir();
  const store = SqliteAuditStore.open({ path: join(dir, 'audit.db') });
  try {
    const spool = await Spool.open({ dir: join(dir, 'spool'), maxSegmentBytes: 4096 });
    const records = Array.from({ length: 120 }, () => makeRecord());
    for (const r of records) await spool.append(r);
    const shipper = new AuditShipper({ spool, store, batchSize: 50 });
    assert.equal(await shipper.drain(), 120);
    assert.deepEqual(await readSpoolCursor(spool.dir, 'store'), spool.durablePosition);
    const stored = await store.query({ limit: 1000, order: 'asc' });
    assert.deepEqual(new Set(stored.map((r) => r.id)), new Set(records.map((r) => r.id)));
    assert.equal(await shipper.shipOnce(), 0);
    await spool.close();
  } finally {
    await store.close();
    remove();
  }
});

test('a crash after the store commit but before the cursor moved re-ships without duplicates', async () => {
  const { dir, remove } = tempDir();
  const store = SqliteAuditStore.open({ path: join(dir, 'audit.db') });
  try {
    const spoolDir = join(dir, 'spool');
    const spool = await Spool.open({ dir: spoolDir });
    for (let i = 0; i < 30; i++) await spool.append(makeRecord());
    await new AuditShipper({ spool, store }).drain();
    rmSync(join(spoolDir, 'cursor.store.json')); // the cursor write was lost in the crash
    const restarted = new AuditShipper({ spool: spoolDir, store });
    assert.equal(await restarted.drain(), 30);
    assert.equal((await store.query({ limit: 1000 })).length, 30);
    await spool.close();
  } finally {
    await store.close();
    remove();
  }
});

test('the cursor does not move when the store insert fails', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    await spool.append(makeRecord());
    const shipper = new AuditShipper({
      spool,
      store: new FailingStoreDouble(new MemoryStoreDouble(), 1),
    });
    await assert.rejects(shipper.shipOnce(), { code: 'store_failed' });
    assert.equal(await readSpoolCursor(dir, 'store'), undefined);
    assert.equal(await shipper.shipOnce(), 1);
    await spool.close();
  } finally {
    remove();
  }
});

test('the background loop retries a failing store with bounded exponential backoff', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    for (let i = 0; i < 5; i++) await spool.append(makeRecord());
    const memory = new MemoryStoreDouble();
    const store = new FailingStoreDouble(memory, 4);
    const errors: unknown[] = [];
    const shipper = new AuditShipper({
      spool,
      store,
      pollIntervalMs: 5,
      retry: { initialDelayMs: 10, maxDelayMs: 20 },
      onError: (e) => errors.push(e),
    });
    const started = Date.now();
    shipper.start();
    while (memory.records.size < 5 && Date.now() - started < 5000) await sleep(5);
    await shipper.stop();
    // Delays 10, 20, 20, 20: the cap bounds the wait; four failures then one success.
    assert.equal(memory.records.size, 5);
    assert.equal(store.attempts, 5);
    assert.equal(errors.length, 4);
    const stats = shipper.stats();
    assert.equal(stats.failures, 4);
    assert.equal(stats.consecutiveFailures, 0);
    assert.equal(stats.lastError, 'store_failed');
    await spool.close();
  } finally {
    remove();
  }
});

test('an in-process shipper never ships past the durable position of the live spool', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const spool = await Spool.open({ dir, fileSystem: fs });
    await spool.append(makeRecord());
    const memory = new MemoryStoreDouble();
    const shipper = new AuditShipper({ spool, store: memory });
    let release = (): void => {};
    fs.plan = { holdSync: new Promise((resolve) => (release = resolve)) };
    const pending = spool.append(makeRecord()); // written to the file, sync held back
    while (fs.writes < 2) await sleep(1);
    assert.equal(await shipper.shipOnce(), 1);
    release();
    await pending;
    assert.equal(await shipper.shipOnce(), 1);
    await spool.close();
  } finally {
    remove();
  }
});

test('with pruneShipped, segments the cursor has passed are deleted and the rest kept', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir, maxSegmentBytes: 2048 });
    for (let i = 0; i < 40; i++) await spool.append(makeRecord());
    const before = await listSpoolSegments(dir);
    const memory = new MemoryStoreDouble();
    await new AuditShipper({ spool, store: memory, pruneShipped: true }).drain();
    assert.equal(memory.records.size, 40);
    assert.deepEqual(await listSpoolSegments(dir), before.slice(-1));
    await spool.close();
  } finally {
    remove();
  }
});
