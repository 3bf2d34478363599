import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpoolCorruptError } from '../errors.js';
import { FaultInjectingFileSystem } from '../testing/fault-fs.js';
import { nodeSpoolFileSystem, type SpoolFileSystem } from './file-system.js';
import { makeRecord, readSpoolIds, tempDir, waitFor } from '../testing/records.js';
import { encodeSpoolLine } from './format.js';
import { readSpool } from './reader.js';
import { listSpoolSegments, segmentPath } from './segments.js';
import { NEXT_SEGMENT_FILE, Spool } from './spool.js';

function lines(n: number): { bytes: Buffer; ids: string[] } {
  const records = Array.from({ length: n }, () => makeRecord());
  return {
    bytes: Buffer.concat(records.map((r) => encodeSpoolLine(r))),
    ids: records.map((r) => r.id),
  };
}

const isZero = (bytes: Buffer): boolean => bytes.every((b) => b === 0);

test('preallocation: the live segment is zero-filled ahead of its data, and a reader without the writer sees only the written records', async () => {
  const { dir, remove } = tempDir();
  try {
    const spool = await Spool.open({ dir, preallocateBytes: 64 * 1024 });
    const path = segmentPath(dir, 1);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const record = makeRecord();
      ids.push(record.id);
      await spool.append(record);
    }
    const end = spool.durablePosition.offset;
    await waitFor('the zero tail', () => statSync(path).size >= 64 * 1024);
    assert.ok(isZero(readFileSync(path).subarray(end)), 'the tail holds only zeros');
    assert.deepEqual(await readSpoolIds(dir), ids);
    let last = { segment: 0, offset: 0 };
    for await (const entry of readSpool(dir)) last = entry.next;
    assert.deepEqual(last, { segment: 1, offset: end });

    const more = makeRecord();
    await spool.append(more);
    const fresh: string[] = [];
    for await (const entry of readSpool(dir, { from: last })) fresh.push(entry.record.id);
    assert.deepEqual(fresh, [more.id], 'a reader resuming at the zero tail sees the new record');
    assert.ok(
      statSync(path).size >= 64 * 1024,
      'the record overwrote zeros, the file did not shrink',
    );
    await spool.close();
    assert.equal(statSync(path).size, spool.durablePosition.offset, 'close trims the zero tail');
    assert.equal(existsSync(join(dir, NEXT_SEGMENT_FILE)), false);
  } finally {
    remove();
  }
});

test('recovery: a zero byte where a line should start is the end of the data; the zero tail is kept and appending overwrites it', async () => {
  const { dir, remove } = tempDir();
  try {
    const { bytes, ids } = lines(3);
    const path = segmentPath(dir, 1);
    writeFileSync(path, Buffer.concat([bytes, Buffer.alloc(32 * 1024)]));
    const spool = await Spool.open({ dir });
    assert.deepEqual(spool.recovery, { segment: 1, records: 3, truncatedBytes: 0 });
    assert.equal(statSync(path).size, bytes.length + 32 * 1024);
    const after = makeRecord();
    const position = await spool.append(after);
    assert.deepEqual(position, { segment: 1, offset: bytes.length });
    assert.ok(statSync(path).size >= bytes.length + 32 * 1024);
    await spool.close();
    assert.deepEqual(await readSpoolIds(dir), [...ids, after.id]);
  } finally {
    remove();
  }
});

test('recovery: a torn line followed by zeros is cut by zero-filling it back, keeping the zero tail', async () => {
  const { dir, remove } = tempDir();
  try {
    const { bytes, ids } = lines(2);
    const torn = encodeSpoolLine(makeRecord()).subarray(0, 40);
    const path = segmentPath(dir, 1);
    const size = bytes.length + torn.length + 8192;
    writeFileSync(path, Buffer.concat([bytes, torn, Buffer.alloc(8192)]));
    // A reader on the live segment stops before the torn line, without an error.
    assert.deepEqual(await readSpoolIds(dir), ids);

    const spool = await Spool.open({ dir });
    assert.deepEqual(spool.recovery, { segment: 1, records: 2, truncatedBytes: torn.length });
    assert.equal(statSync(path).size, size);
    assert.ok(isZero(readFileSync(path).subarray(bytes.length)), 'the torn line is zeroed');
    const after = makeRecord();
    await spool.append(after);
    await spool.close();
    assert.deepEqual(await readSpoolIds(dir), [...ids, after.id]);
  } finally {
    remove();
  }
});

test('recovery: bytes after a stretch of zeros (a torn batch whose first block was lost) are zeroed too, so a stale line can never reappear', async () => {
  const { dir, remove } = tempDir();
  try {
    const { bytes, ids } = lines(2);
    const stale = lines(1);
    const path = segmentPath(dir, 1);
    writeFileSync(
      path,
      Buffer.concat([bytes, Buffer.alloc(4096), stale.bytes, Buffer.alloc(4096)]),
    );
    const spool = await Spool.open({ dir });
    assert.deepEqual(spool.recovery, {
      segment: 1,
      records: 2,
      truncatedBytes: 4096 + stale.bytes.length,
    });
    assert.ok(isZero(readFileSync(path).subarray(bytes.length)));
    await spool.close();
    assert.deepEqual(await readSpoolIds(dir), ids);
  } finally {
    remove();
  }
});

test('a sealed segment ends where its zero tail starts (a crash before the trim); non-zero bytes after the zeros are damage', async () => {
  const { dir, remove } = tempDir();
  try {
    const first = lines(2);
    const second = lines(1);
    writeFileSync(segmentPath(dir, 1), Buffer.concat([first.bytes, Buffer.alloc(5000)]));
    writeFileSync(segmentPath(dir, 2), second.bytes);
    assert.deepEqual(await readSpoolIds(dir), [...first.ids, ...second.ids]);

    const damaged = Buffer.concat([first.bytes, Buffer.alloc(5000), Buffer.from('x')]);
    writeFileSync(segmentPath(dir, 1), Buffer.concat([damaged, Buffer.alloc(100)]));
    await assert.rejects(readSpoolIds(dir), (error: unknown) => {
      assert.ok(error instanceof SpoolCorruptError);
      return true;
    });
  } finally {
    remove();
  }
});

test('rotation with preallocation: the next segment is prepared ahead and renamed in, sealed segments are trimmed to their records', async () => {
  const { dir, remove } = tempDir();
  try {
    const max = 8 * 1024;
    const spool = await Spool.open({ dir, maxSegmentBytes: max, preallocateBytes: max });
    const ids: string[] = [];
    let prepared = false;
    for (let i = 0; i < 120; i++) {
      const record = makeRecord();
      ids.push(record.id);
      await spool.append(record);
      prepared ||= existsSync(join(dir, NEXT_SEGMENT_FILE));
      if (i % 10 === 0) await sleep(5); // let the background preparation run
    }
    assert.ok(prepared, 'a next segment was prepared');
    const segments = await listSpoolSegments(dir);
    assert.ok(segments.length > 3, `segments: ${segments.length}`);
    // The live segment is preallocated: its file is at least as long as its data.
    const live = statSync(segmentPath(dir, segments.at(-1)!)).size;
    assert.ok(live >= spool.durablePosition.offset);
    assert.deepEqual(await readSpoolIds(dir), ids);
    await spool.close();
    for (const n of segments) {
      const bytes = readFileSync(segmentPath(dir, n));
      assert.ok(bytes.length <= max);
      assert.equal(bytes.indexOf(0), -1, `segment ${n} is trimmed to its records`);
    }
    assert.equal(existsSync(join(dir, NEXT_SEGMENT_FILE)), false);
    assert.deepEqual(await readSpoolIds(dir), ids);
  } finally {
    remove();
  }
});

test('a prepared next segment left by a crash is removed on open and never read', async () => {
  const { dir, remove } = tempDir();
  try {
    const { bytes, ids } = lines(2);
    writeFileSync(segmentPath(dir, 1), bytes);
    writeFileSync(join(dir, NEXT_SEGMENT_FILE), Buffer.alloc(4096));
    assert.deepEqual(await readSpoolIds(dir), ids);
    const spool = await Spool.open({ dir });
    assert.equal(existsSync(join(dir, NEXT_SEGMENT_FILE)), false);
    await spool.close();
  } finally {
    remove();
  }
});

test('preallocateBytes 0 keeps the old layout: the file always ends at the last record and nothing is prepared', async () => {
  const { dir, remove } = tempDir();
  try {
    const max = 4 * 1024;
    const spool = await Spool.open({ dir, maxSegmentBytes: max, preallocateBytes: 0 });
    for (let i = 0; i < 30; i++) {
      await spool.append(makeRecord());
      await sleep(1);
      const { segment, offset } = spool.durablePosition;
      assert.equal(statSync(segmentPath(dir, segment)).size, offset);
      assert.equal(existsSync(join(dir, NEXT_SEGMENT_FILE)), false);
    }
    await spool.close();
  } finally {
    remove();
  }
});

test('a spool written with the previous layout (no zero tail) opens, reads, and is continued with preallocation', async () => {
  const { dir, remove } = tempDir();
  try {
    const old = await Spool.open({ dir, preallocateBytes: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const record = makeRecord();
      ids.push(record.id);
      await old.append(record);
    }
    await old.close();
    const spool = await Spool.open({ dir, preallocateBytes: 64 * 1024 });
    assert.deepEqual(spool.recovery, { segment: 1, records: 5, truncatedBytes: 0 });
    for (let i = 0; i < 5; i++) {
      const record = makeRecord();
      ids.push(record.id);
      await spool.append(record);
    }
    await waitFor('the zero tail', () => statSync(segmentPath(dir, 1)).size >= 64 * 1024);
    assert.deepEqual(await readSpoolIds(dir), ids);
    await spool.close();
    assert.deepEqual(await readSpoolIds(dir), ids);
  } finally {
    remove();
  }
});

test('fault injection with preallocation: a torn failed write inside the zero tail is rejected and zero-filled back; the tail stays', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem({ zeroFill: true });
    const spool = await Spool.open({ dir, fileSystem: fs, preallocateBytes: 64 * 1024 });
    const path = segmentPath(dir, 1);
    const first = makeRecord();
    await spool.append(first);
    await waitFor('the zero tail', () => statSync(path).size >= 64 * 1024);
    await spool.append(makeRecord()); // lets the background fill finish and be recorded
    await sleep(20);
    const end = spool.durablePosition.offset;
    fs.plan = { failWrite: true, tornWrite: true };
    await assert.rejects(spool.append(makeRecord()), { code: 'spool_write_failed' });
    assert.ok(!isZero(readFileSync(path).subarray(end)), 'the torn half is on disk');
    fs.plan = {};
    const fills = fs.zeroFills;
    await spool.sync();
    assert.ok(fs.zeroFills > fills, 'the repair zero-filled');
    assert.ok(isZero(readFileSync(path).subarray(end)), 'the torn half is zeroed');
    assert.ok(statSync(path).size >= 64 * 1024, 'the zero tail was not truncated');
    const third = makeRecord();
    await spool.append(third);
    await spool.close();
    const ids = await readSpoolIds(dir);
    assert.equal(ids.length, 3);
    assert.equal(ids[0], first.id);
    assert.equal(ids[2], third.id);
  } finally {
    remove();
  }
});

test('a failing zero-fill only costs the preallocation: appends and rotation go on', async () => {
  const { dir, remove } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem({ zeroFill: true });
    fs.plan = { failZeroFill: true };
    const spool = await Spool.open({
      dir,
      fileSystem: fs,
      maxSegmentBytes: 4096,
      preallocateBytes: 4096,
    });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const record = makeRecord();
      ids.push(record.id);
      await spool.append(record);
    }
    await spool.close();
    assert.ok(fs.zeroFills > 0);
    assert.deepEqual(await readSpoolIds(dir), ids);
  } finally {
    remove();
  }
});

test("the background zero-fill of the live segment syncs through a descriptor of its own, never the writer's (a writeback error must reach the batch's own fdatasync)", async () => {
  const { dir, remove } = tempDir();
  try {
    const writerFds = new Set<number>();
    const fillFds: number[] = [];
    const fs: SpoolFileSystem = {
      ...nodeSpoolFileSystem,
      write(fd, data, position) {
        writerFds.add(fd);
        return nodeSpoolFileSystem.write(fd, data, position);
      },
      async zeroFill(fd, position, length) {
        fillFds.push(fd);
        await nodeSpoolFileSystem.zeroFill?.(fd, position, length);
      },
    };
    // One segment large enough that no next segment is prepared: every fill is of the live one.
    const spool = await Spool.open({
      dir,
      fileSystem: fs,
      maxSegmentBytes: 8 * 1024 * 1024,
      preallocateBytes: 16 * 1024,
    });
    for (let i = 0; i < 200; i++) await spool.append(makeRecord());
    await spool.close();
    assert.ok(fillFds.length > 0, 'the live segment was zero-filled ahead');
    assert.deepEqual(
      fillFds.filter((fd) => writerFds.has(fd)),
      [],
      'no fill used the descriptor batches are written through',
    );
    assert.equal((await readSpoolIds(dir)).length, 200);
  } finally {
    remove();
  }
});
