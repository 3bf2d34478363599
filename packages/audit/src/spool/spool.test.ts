import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpoolLockedError } from '../errors.js';
import { FaultInjectingFileSystem } from '../testing/fault-fs.js';
import { makeRecord, readSpoolIds, tempDir } from '../testing/records.js';
import { readSpoolCursor, writeSpoolCursor } from './cursor.js';
import { nodeSpoolFileSystem } from './file-system.js';
import { decodeSpoolLine, encodeSpoolJson, encodeSpoolLine } from './format.js';
import { readSpool } from './reader.js';
import { listSpoolSegments, segmentPath } from './segments.js';
import { Spool } from './spool.js';

test('acknowledged records are read back in append order with their positions', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    const records = Array.from({ length: 50 }, () => makeRecord());
    const positions = await Promise.all(records.map((r) => spool.append(r)));
    await spool.close();
    const entries = [];
    for await (const entry of readSpool(dir)) entries.push(entry);
    assert.deepEqual(
      entries.map((e) => e.record),
      records,
    );
    assert.deepEqual(
      entries.map((e) => e.position),
      positions,
    );
  } finally {
    remove();
  }
});

test('concurrent appends are group-committed: far fewer fdatasyncs than records', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const spool = await Spool.open({ dir, fileSystem: fs });
    await Promise.all(Array.from({ length: 500 }, () => spool.append(makeRecord())));
    await spool.close();
    assert.ok(fs.datasyncs >= 1 && fs.datasyncs <= 10, `datasyncs: ${fs.datasyncs}`);
    assert.equal((await readSpoolIds(dir)).length, 500);
  } finally {
    remove();
  }
});

test('rotates to a new segment past maxSegmentBytes and readers cross segments in order', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir, maxSegmentBytes: 2000 });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const record = makeRecord();
      ids.push(record.id);
      await spool.append(record);
    }
    await spool.close();
    const segments = await listSpoolSegments(dir);
    assert.ok(segments.length > 3, `segments: ${segments.length}`);
    for (const n of segments.slice(0, -1)) assert.ok(statSync(segmentPath(dir, n)).size <= 2000);
    assert.deepEqual(await readSpoolIds(dir), ids);
    const reopened = await Spool.open({ dir, maxSegmentBytes: 2000 });
    assert.equal(reopened.recovery.segment, segments.at(-1));
    await reopened.close();
  } finally {
    remove();
  }
});

test('recovery cuts half a line left at the tail and appending continues after the cut', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    const kept = [makeRecord(), makeRecord()];
    for (const r of kept) await spool.append(r);
    await spool.close();
    const path = segmentPath(dir, 1);
    const goodSize = statSync(path).size;
    const half = encodeSpoolLine(makeRecord()).subarray(0, 40);
    appendFileSync(path, half);

    const reopened = await Spool.open({ dir });
    assert.deepEqual(reopened.recovery, { segment: 1, records: 2, truncatedBytes: half.length });
    assert.equal(statSync(path).size, goodSize);
    const after = makeRecord();
    await reopened.append(after);
    await reopened.close();
    assert.deepEqual(await readSpoolIds(dir), [...kept.map((r) => r.id), after.id]);
  } finally {
    remove();
  }
});

test('recovery cuts at the first line whose checksum does not match, and everything after it', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    const records = [makeRecord(), makeRecord(), makeRecord()];
    for (const r of records) await spool.append(r);
    await spool.close();
    const path = segmentPath(dir, 1);
    const bytes = readFileSync(path);
    const second = bytes.indexOf(0x0a) + 1;
    bytes[second + 30] = bytes[second + 30] === 0x41 ? 0x42 : 0x41; // damage record 2
    writeFileSync(path, Buffer.concat([bytes, Buffer.from('garbage without newline')]));

    const reopened = await Spool.open({ dir });
    assert.equal(reopened.recovery.records, 1);
    assert.equal(statSync(path).size, second);
    await reopened.close();
    assert.deepEqual(await readSpoolIds(dir), [records[0]?.id]);
  } finally {
    remove();
  }
});

test('a second writer on the same spool directory gets a spool_locked error naming the owner', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    await assert.rejects(Spool.open({ dir }), (error: unknown) => {
      assert.ok(error instanceof SpoolLockedError);
      assert.equal(error.code, 'spool_locked');
      assert.equal(error.pid, process.pid);
      return true;
    });
    await spool.close();
    const again = await Spool.open({ dir });
    await again.close();
  } finally {
    remove();
  }
});

test('a lock left by a dead process is taken over', async () => {
  const { dir, remove } = tempDir();
  try {
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead !== undefined);
    writeFileSync(join(dir, 'LOCK'), `${dead}\n`);
    const spool = await Spool.open({ dir });
    assert.equal(readFileSync(join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
    await spool.close();
  } finally {
    remove();
  }
});

test('fault injection: a torn failed write is rejected, and the next batch cuts it before appending', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const spool = await Spool.open({ dir, fileSystem: fs });
    const first = makeRecord();
    await spool.append(first);
    fs.plan = { failWrite: true, tornWrite: true };
    await assert.rejects(spool.append(makeRecord()), { code: 'spool_write_failed' });
    fs.plan = {};
    const third = makeRecord();
    await spool.append(third);
    await spool.close();
    assert.deepEqual(await readSpoolIds(dir), [first.id, third.id]);
  } finally {
    remove();
  }
});

test('readers stop at the until position and resume from a durable cursor', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    const a = makeRecord();
    await spool.append(a);
    const until = spool.durablePosition;
    const b = makeRecord();
    await spool.append(b);
    const seen = [];
    for await (const entry of readSpool(dir, { until })) seen.push(entry);
    assert.deepEqual(
      seen.map((e) => e.record.id),
      [a.id],
    );
    assert.equal(await readSpoolCursor(dir, 'test'), undefined);
    await writeSpoolCursor(dir, 'test', seen[0]!.next);
    const from = await readSpoolCursor(dir, 'test');
    const rest = [];
    for await (const entry of readSpool(dir, { from })) rest.push(entry.record.id);
    assert.deepEqual(rest, [b.id]);
    await spool.close();
  } finally {
    remove();
  }
});

test('append after close is refused with spool_closed', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    await spool.close();
    await assert.rejects(spool.append(makeRecord()), { code: 'spool_closed' });
  } finally {
    remove();
  }
});

test('a record larger than maxRecordBytes is refused with record_too_large', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir, maxRecordBytes: 300 });
    await assert.rejects(spool.append(makeRecord({ detail: 'x'.repeat(400) })), {
      code: 'record_too_large',
    });
    await spool.close();
  } finally {
    remove();
  }
});

test('appends made in one event-loop turn share one fdatasync, even many microtask hops apart', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    const spool = await Spool.open({ dir, fileSystem: fs });
    const records = Array.from({ length: 20 }, () => makeRecord());
    await Promise.all(
      records.map(async (record, i) => {
        for (let hop = 0; hop < i * 3; hop += 1) await null;
        return spool.append(record);
      }),
    );
    assert.equal(fs.datasyncs, 1);
    await spool.close();
    assert.deepEqual(
      await readSpoolIds(dir),
      records.map((r) => r.id),
    );
  } finally {
    remove();
  }
});

test('a failed sync rejects exactly its batch; records appended meanwhile form the next batch and are kept', async () => {
  const { dir, remove } = tempDir();
  try {
    let release = (): void => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    class FailFirstSync extends FaultInjectingFileSystem {
      override async datasync(fd: number): Promise<void> {
        this.datasyncs += 1;
        if (this.datasyncs === 1) {
          await held;
          throw Object.assign(new Error('injected fault: EIO on fdatasync'), { code: 'EIO' });
        }
        await nodeSpoolFileSystem.datasync(fd);
      }
    }
    const fs = new FailFirstSync();
    const spool = await Spool.open({ dir, fileSystem: fs });
    const a = makeRecord();
    const first = spool.append(a);
    while (fs.datasyncs === 0) await sleep(1);
    const later = [makeRecord(), makeRecord()];
    const rest = later.map((r) => spool.append(r));
    release();
    await assert.rejects(first, { code: 'spool_write_failed' });
    await Promise.all(rest);
    await spool.close();
    assert.deepEqual(
      await readSpoolIds(dir),
      later.map((r) => r.id),
    );
  } finally {
    remove();
  }
});

test('commitDelayMs: concurrent writers share one sync, acknowledged only once durable; a lone writer is not held', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem();
    // Five appends held by the delay would take 5 s; unheld they take milliseconds.
    const spool = await Spool.open({ dir, fileSystem: fs, commitDelayMs: 1_000 });
    const lone = performance.now();
    for (let i = 0; i < 5; i += 1) await spool.append(makeRecord());
    assert.ok(performance.now() - lone < 2_500, 'a lone writer is not held by the delay');
    await Promise.all([spool.append(makeRecord()), spool.append(makeRecord())]);
    const syncs = fs.datasyncs;
    let acknowledged = 0;
    const a = spool.append(makeRecord()).then(() => (acknowledged += 1));
    await sleep(10);
    const b = spool.append(makeRecord()).then(() => (acknowledged += 1));
    assert.equal(acknowledged, 0);
    await Promise.all([a, b]);
    assert.equal(fs.datasyncs, syncs + 1, 'both records shared the delayed batch');
    await spool.close();
    assert.equal((await readSpoolIds(dir)).length, 9);
  } finally {
    remove();
  }
});

test('commitDelayMs: close does not wait for the delay and leaves every acknowledged record durable', async () => {
  const { dir, remove } = tempDir();
  try {
    // A delay far longer than any close: a close that waited for it would take 5 s.
    const spool = await Spool.open({ dir, commitDelayMs: 5_000 });
    await Promise.all([spool.append(makeRecord()), spool.append(makeRecord())]);
    const pending = [spool.append(makeRecord()), spool.append(makeRecord())];
    const start = performance.now();
    await spool.close();
    await Promise.all(pending);
    assert.ok(performance.now() - start < 2_500, 'close started the delayed batch at once');
    assert.equal((await readSpoolIds(dir)).length, 4);
  } finally {
    remove();
  }
});

test('encodeSpoolJson writes checksum, space, JSON bytes and newline in one buffer, readable by the decoder', () => {
  for (const record of [makeRecord(), makeRecord({ detail: 'ünïcödé \u{1f680} "q" \\ \u2028' })]) {
    const json = JSON.stringify(record);
    const bytes = Buffer.from(json, 'utf8');
    const expected = Buffer.concat([
      Buffer.from(`${crc32(bytes).toString(16).padStart(8, '0')} `, 'latin1'),
      bytes,
      Buffer.from('\n'),
    ]);
    assert.deepEqual(encodeSpoolJson(json), expected);
    assert.deepEqual(encodeSpoolLine(record), expected);
    assert.deepEqual(decodeSpoolLine(expected.subarray(0, -1)), record);
  }
});

test('Spool.encodeJson refuses text that is not one JSON object on one line (a reader would take it for damage)', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir });
    for (const bad of ['[1,2]', '"text"', '{"a":"x\ny"}', '']) {
      assert.throws(() => spool.encodeJson(bad), { code: 'record_invalid' });
    }
    await assert.rejects(spool.append([] as unknown as ReturnType<typeof makeRecord>), {
      code: 'record_invalid',
    });
    assert.ok(spool.encodeJson('{"id":"x"}').toString('utf8').endsWith(' {"id":"x"}\n'));
    await spool.close();
  } finally {
    remove();
  }
});
