import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sanitizeAuditString } from '@mcp-iam/core';
import { AuditError } from './errors.js';
import { REDACTED_TOKEN } from './sanitize.js';
import { createAuditSink, type ManagedAuditSink } from './sink.js';
import { readSpool } from './spool/reader.js';
import { FailingStoreDouble, MemoryStoreDouble } from './testing/failing-store.js';
import { FaultInjectingFileSystem } from './testing/fault-fs.js';
import { makeRecord, tempDir } from './testing/records.js';

async function spoolIds(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const { record } of readSpool(dir)) ids.push(record.id);
  return ids;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

test('strict: write resolves only after the record is durable in the spool', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const sink = await createAuditSink({ mode: 'strict', spool: { dir, fileSystem: fs } });
    const record = makeRecord();
    await sink.write(record);
    assert.ok(fs.datasyncs >= 1);
    assert.deepEqual(await spoolIds(dir), [record.id]);
    assert.equal(sink.counters().written, 1);
    assert.deepEqual(sink.health(), {
      status: 'ok',
      ready: true,
      reasons: [],
      lastError: undefined,
    });
    await sink.close();
  } finally {
    remove();
  }
});

test('strict (fault injection): write rejects when the disk sync fails, health shows it, and it recovers', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const sink = await createAuditSink({ mode: 'strict', spool: { dir, fileSystem: fs } });
    fs.plan = { failSync: true };
    await assert.rejects(sink.write(makeRecord()), (error: unknown) => {
      assert.ok(error instanceof AuditError);
      assert.equal(error.code, 'spool_write_failed');
      return true;
    });
    assert.equal(sink.counters().failed, 1);
    assert.equal(sink.counters().written, 0);
    const health = sink.health();
    assert.equal(health.status, 'degraded');
    assert.equal(health.ready, false);
    assert.deepEqual(health.reasons, ['spool_write_failing']);
    assert.equal(health.lastError, 'spool_write_failed');

    fs.plan = {};
    await until(() => sink.health().ready); // the background probe repairs and clears the flag
    const ok = makeRecord();
    await sink.write(ok);
    await sink.close();
    assert.deepEqual(await spoolIds(dir), [ok.id]);
  } finally {
    remove();
  }
});

test('strict: a full in-flight queue refuses writes with queue_full instead of waiting', async () => {
  const { dir, remove } = tempDir();
  try {
    const sink = await createAuditSink({ mode: 'strict', spool: { dir }, maxQueue: 4 });
    const writes = Array.from({ length: 10 }, () => sink.write(makeRecord()));
    const results = await Promise.allSettled(writes);
    const refused = results.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 6);
    for (const r of refused) assert.equal((r.reason as AuditError).code, 'queue_full');
    assert.deepEqual(sink.counters().failed, 6);
    await sink.close();
  } finally {
    remove();
  }
});

test('strict (fault injection): a write whose sync hangs is refused with write_timeout', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const sink = await createAuditSink({
      mode: 'strict',
      spool: { dir, fileSystem: fs },
      writeTimeoutMs: 500,
    });
    let release = (): void => {};
    fs.plan = { holdSync: new Promise((resolve) => (release = resolve)) };
    await assert.rejects(sink.write(makeRecord()), { code: 'write_timeout' });
    assert.equal(sink.counters().failed, 1);
    assert.equal(sink.health().ready, false);
    fs.plan = {};
    release();
    await sink.write(makeRecord());
    assert.equal(sink.health().ready, true);
    await sink.close();
  } finally {
    remove();
  }
});

test('strict (fault injection): each stuck write is refused after its own timeout, once, and later writes succeed', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const sink = await createAuditSink({
      mode: 'strict',
      spool: { dir, fileSystem: fs },
      writeTimeoutMs: 300,
    });
    let release = (): void => {};
    fs.plan = { holdSync: new Promise((resolve) => (release = resolve)) };
    const settled: string[] = [];
    const track = (name: string, write: Promise<void>): Promise<void> =>
      write.then(
        () => void settled.push(`${name}:ok`),
        (error: AuditError) => void settled.push(`${name}:${error.code}`),
      );
    const a = track('a', sink.write(makeRecord()));
    await sleep(150);
    const b = track('b', sink.write(makeRecord()));
    await a;
    assert.deepEqual(settled, ['a:write_timeout'], 'b waits for its own deadline');
    await b;
    assert.deepEqual(settled, ['a:write_timeout', 'b:write_timeout']);
    assert.equal(sink.counters().failed, 2);
    assert.equal(sink.counters().queueDepth, 0);
    fs.plan = {};
    release();
    await sink.write(makeRecord());
    assert.equal(sink.counters().written, 1, 'a late sync does not count the refused writes');
    assert.equal(sink.counters().failed, 2);
    await sink.close();
  } finally {
    remove();
  }
});

test('strict: no timeout timer stays armed once no write is pending, and writeTimeoutMs 0 uses none', async () => {
  const { dir, remove } = tempDir();
  try {
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    const before = timers();
    const sink = await createAuditSink({ spool: { dir }, writeTimeoutMs: 60_000 });
    await Promise.all(Array.from({ length: 20 }, () => sink.write(makeRecord())));
    assert.equal(timers(), before);
    await sink.close();
    const untimed = await createAuditSink({ spool: { dir }, writeTimeoutMs: 0 });
    const pending = Promise.all(Array.from({ length: 5 }, () => untimed.write(makeRecord())));
    assert.equal(timers(), before);
    await pending;
    assert.equal(untimed.counters().written, 5);
    await untimed.close();
  } finally {
    remove();
  }
});

test('best-effort (fault injection): never rejects, and every record lost is counted as dropped', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const sink = await createAuditSink({ mode: 'best-effort', spool: { dir, fileSystem: fs } });
    fs.plan = { failWrite: true };
    await Promise.all(Array.from({ length: 20 }, () => sink.write(makeRecord())));
    await until(() => sink.counters().dropped === 20);
    assert.equal(sink.counters().written, 0);
    assert.equal(sink.counters().failed, 0);
    assert.ok(sink.health().reasons.includes('records_dropped'));
    assert.equal(sink.health().ready, true);
    fs.plan = {};
    await sink.write(makeRecord());
    await until(() => sink.counters().written === 1);
    await sink.close();
  } finally {
    remove();
  }
});

test('best-effort: records beyond the queue bound are dropped and counted, not blocked on', async () => {
  const { dir, remove } = tempDir();
  try {
    const sink = await createAuditSink({ mode: 'best-effort', spool: { dir }, maxQueue: 5 });
    for (let i = 0; i < 50; i++) void sink.write(makeRecord());
    await sink.close();
    const c = sink.counters();
    assert.equal(c.written + c.dropped, 50);
    assert.equal(c.dropped, 45);
    assert.equal((await spoolIds(dir)).length, 5);
  } finally {
    remove();
  }
});

test('buffered (fault injection): records accepted while the disk fails are retried into the spool', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const sink = await createAuditSink({
      mode: 'buffered',
      spool: { dir, fileSystem: fs },
      retry: { initialDelayMs: 5, maxDelayMs: 20 },
    });
    fs.plan = { failSync: true };
    const records = Array.from({ length: 10 }, () => makeRecord());
    for (const r of records) await sink.write(r);
    await until(() => sink.health().reasons.includes('spool_write_failing'));
    assert.equal(sink.health().ready, true);
    assert.equal(sink.counters().queueDepth, 10);
    fs.plan = {};
    await until(() => sink.counters().written === 10);
    assert.equal(sink.counters().dropped, 0);
    await sink.close();
    assert.deepEqual((await spoolIds(dir)).sort(), records.map((r) => r.id).sort());
  } finally {
    remove();
  }
});

test('buffered: a full queue rejects with queue_full and health reports it', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const sink = await createAuditSink({
      mode: 'buffered',
      spool: { dir, fileSystem: fs },
      maxQueue: 3,
      retry: { initialDelayMs: 5, maxDelayMs: 5 },
    });
    fs.plan = { failWrite: true };
    for (let i = 0; i < 3; i++) await sink.write(makeRecord());
    await assert.rejects(sink.write(makeRecord()), { code: 'queue_full' });
    assert.equal(sink.health().ready, false);
    assert.ok(sink.health().reasons.includes('queue_full'));
    fs.plan = {};
    await sink.close();
    assert.equal(sink.counters().written, 3);
    assert.equal(sink.counters().failed, 1);
  } finally {
    remove();
  }
});

test('buffered: records replay to the store after it comes back (store double fails 3 times)', async () => {
  const { dir, remove } = tempDir();
  let sink: ManagedAuditSink | undefined;
  try {
    const memory = new MemoryStoreDouble();
    const store = new FailingStoreDouble(memory, 3);
    sink = await createAuditSink({
      mode: 'buffered',
      spool: { dir },
      store,
      shipper: { pollIntervalMs: 5, retry: { initialDelayMs: 5, maxDelayMs: 20 } },
    });
    const records = Array.from({ length: 25 }, () => makeRecord());
    for (const r of records) await sink.write(r);
    await until(() => sink!.counters().shipped === 25);
    const c = sink.counters();
    assert.equal(c.shipFailures, 3);
    assert.equal(c.shipped, 25);
    assert.deepEqual([...memory.records.keys()].sort(), records.map((r) => r.id).sort());
    assert.ok(!sink.health().reasons.includes('ship_failing'));
  } finally {
    await sink?.close();
    remove();
  }
});

test('the sink boundary redacts JWT-shaped values and counts them, keeping the record', async () => {
  const { dir, remove } = tempDir();
  try {
    const sink = await createAuditSink({ spool: { dir } });
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';
    await sink.write(makeRecord({ detail: `token was ${jwt}`, tool: jwt }));
    await sink.close();
    assert.equal(sink.counters().redacted, 2);
    for await (const { record } of readSpool(dir)) {
      assert.equal(record.detail, `token was ${REDACTED_TOKEN}`);
      assert.equal(record.tool, REDACTED_TOKEN);
      assert.ok(!JSON.stringify(record).includes('eyJ'));
    }
  } finally {
    remove();
  }
});

test('the sink boundary escapes raw control characters but leaves already-sanitized values unchanged', async () => {
  const { dir, remove } = tempDir();
  try {
    const sink = await createAuditSink({ spool: { dir } });
    const clean = sanitizeAuditString('\u001b[31m' + 'k'.repeat(400) + '\r\n');
    await sink.write(makeRecord({ subject: clean, tool: 'evil\u0000\u001b[2Jtool' }));
    await sink.close();
    for await (const { record } of readSpool(dir)) {
      assert.equal(record.subject, clean);
      assert.equal(record.tool, 'evil\\u0000\\u001b[2Jtool');
    }
  } finally {
    remove();
  }
});

test('a record without a valid id, time or outcome is refused with record_invalid and counted', async () => {
  const { dir, remove } = tempDir();
  try {
    const sink = await createAuditSink({ spool: { dir } });
    await assert.rejects(sink.write(makeRecord({ id: '' })), { code: 'record_invalid' });
    await assert.rejects(sink.write(makeRecord({ time: 'yesterday' })), { code: 'record_invalid' });
    await assert.rejects(
      sink.write({ ...makeRecord(), outcome: 'maybe' } as unknown as ReturnType<typeof makeRecord>),
      { code: 'record_invalid' },
    );
    assert.equal(sink.counters().failed, 3);
    await sink.close();
  } finally {
    remove();
  }
});

test('writes after close are refused (strict) or counted as dropped (best-effort)', async () => {
  const a = tempDir();
  const b = tempDir();
  try {
    const strict = await createAuditSink({ spool: { dir: a.dir } });
    await strict.close();
    await assert.rejects(strict.write(makeRecord()), { code: 'spool_closed' });
    assert.equal(strict.health().ready, false);
    const loose = await createAuditSink({ mode: 'best-effort', spool: { dir: b.dir } });
    await loose.close();
    await loose.write(makeRecord());
    assert.equal(loose.counters().dropped, 1);
  } finally {
    a.remove();
    b.remove();
  }
});
