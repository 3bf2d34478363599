/**
 * A failed batch and readers in other processes. Such a reader (`mcp-iam audit tail`, a shipper run
 * beside the gateway) cannot know the writer's durable offset and reads every complete, valid line,
 * so it may read a batch whose write or sync then fails, and move past it. The writer must never
 * write acknowledged records at offsets such a reader has passed. `readSpool` without `until` is
 * exactly what such a reader runs: it shares nothing with the writer but the directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from '@mcp-iam/core';
import { FaultInjectingFileSystem } from '../testing/fault-fs.js';
import { makeRecord, readSpoolIds, tempDir, waitFor } from '../testing/records.js';
import { encodeSpoolLine } from './format.js';
import { readSpool } from './reader.js';
import { listSpoolSegments, segmentPath, type SpoolPosition } from './segments.js';
import { Spool } from './spool.js';

interface Followed {
  ids: string[];
  pos: SpoolPosition | undefined;
  error: string | undefined;
}

/** Reads from `from` as a reader in another process does (no `until`), noting where it got to. */
async function follow(dir: string, from?: SpoolPosition): Promise<Followed> {
  const ids: string[] = [];
  let pos = from;
  let error: string | undefined;
  try {
    for await (const entry of readSpool(dir, { from })) {
      ids.push(entry.record.id);
      pos = entry.next;
    }
  } catch (e) {
    error = (e as { code?: string }).code ?? String(e);
  }
  return { ids, pos, error };
}

const big = (fill: string): AuditRecord => makeRecord({ detail: fill.repeat(300) });

/**
 * Appends `records` as one batch whose fdatasync fails, and lets `whileHeld` read the spool while
 * the batch is written but its sync not yet failed. Returns what `whileHeld` returned.
 */
async function failedBatch<T>(
  spool: Spool,
  fs: FaultInjectingFileSystem,
  records: AuditRecord[],
  whileHeld: () => Promise<T>,
): Promise<T> {
  let release = (): void => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  const syncs = fs.datasyncs;
  fs.plan = { holdSync: held, failSync: true };
  const refused = records.map((r) => spool.append(r));
  while (fs.datasyncs === syncs) await sleep(1);
  const result = await whileHeld();
  release();
  for (const p of refused) await assert.rejects(p, { code: 'spool_write_failed' });
  fs.plan = {};
  return result;
}

for (const preallocateBytes of [64 * 1024, 0]) {
  const label = preallocateBytes > 0 ? 'preallocated' : 'not preallocated';

  test(`after a failed sync, a reader in another process that read the refused batch still reads every acknowledged record that follows, exactly once (${label})`, async () => {
    const { dir, remove } = tempDir();
    try {
      const fs = new FaultInjectingFileSystem({ zeroFill: true });
      const spool = await Spool.open({
        dir,
        fileSystem: fs,
        maxSegmentBytes: 16 * 1024,
        preallocateBytes,
      });
      const first = makeRecord();
      await spool.append(first);
      const caughtUp = await follow(dir);
      assert.deepEqual(caughtUp.ids, [first.id]);

      // Two refused records of the same size as the acknowledged ones that follow: before the
      // fix the reader's position fell on a line boundary of the new data and skipped records.
      const refused = [big('y'), big('y')];
      const seen = await failedBatch(spool, fs, refused, () => follow(dir, caughtUp.pos));
      assert.deepEqual(
        seen.ids,
        refused.map((r) => r.id),
        'the outside reader read the refused batch (documented and allowed)',
      );

      const acked = [big('z'), big('z'), big('z')];
      for (const r of acked) await spool.append(r);
      const after = await follow(dir, seen.pos);
      assert.equal(after.error, undefined);
      assert.deepEqual(
        after.ids,
        acked.map((r) => r.id),
      );

      // Rotation past it changes nothing: no spool_corrupt, nothing skipped, nothing twice.
      const more: string[] = [];
      for (let i = 0; i < 60; i += 1) {
        const r = big('w');
        await spool.append(r);
        more.push(r.id);
      }
      const rest = await follow(dir, after.pos);
      assert.equal(rest.error, undefined);
      assert.deepEqual(rest.ids, more);

      // An in-process reader (up to the durable position) never sees a refused record.
      const all = [first.id, ...acked.map((r) => r.id), ...more];
      assert.deepEqual(await readSpoolIds(dir, spool.durablePosition), all);
      await spool.close();
      assert.deepEqual(await readSpoolIds(dir), all);
    } finally {
      remove();
    }
  });

  test(`a failed batch that left complete lines seals its segment at the durable offset and appending continues in a new segment (${label})`, async () => {
    const { dir, remove } = tempDir();
    try {
      const fs = new FaultInjectingFileSystem({ zeroFill: true });
      const spool = await Spool.open({ dir, fileSystem: fs, preallocateBytes });
      const first = makeRecord();
      await spool.append(first);
      const end = spool.durablePosition;
      await failedBatch(spool, fs, [makeRecord()], async () => undefined);
      const next = makeRecord();
      const position = await spool.append(next);
      assert.deepEqual(position, { segment: 2, offset: 0 });
      assert.deepEqual(await listSpoolSegments(dir), [1, 2]);
      await spool.close();
      assert.equal(statSync(segmentPath(dir, 1)).size, end.offset, 'sealed at the durable end');
      assert.deepEqual(await readSpoolIds(dir), [first.id, next.id]);
    } finally {
      remove();
    }
  });

  test(`a failed write that left no complete line (nothing a reader can have read) is cut and appending continues in place (${label})`, async () => {
    const { dir, remove } = tempDir();
    try {
      const fs = new FaultInjectingFileSystem({ zeroFill: true });
      const spool = await Spool.open({ dir, fileSystem: fs, preallocateBytes });
      const first = makeRecord();
      await spool.append(first);
      const end = spool.durablePosition;
      fs.plan = { failWrite: true, tornWrite: true };
      await assert.rejects(spool.append(makeRecord()), { code: 'spool_write_failed' });
      fs.plan = { failWrite: true };
      await assert.rejects(spool.append(makeRecord()), { code: 'spool_write_failed' });
      fs.plan = {};
      const next = makeRecord();
      assert.deepEqual(await spool.append(next), end);
      assert.deepEqual(await listSpoolSegments(dir), [1]);
      await spool.close();
      assert.deepEqual(await readSpoolIds(dir), [first.id, next.id]);
    } finally {
      remove();
    }
  });

  test(`a torn failed batch that left complete lines: the torn part is cut, the segment sealed, and readers never report spool_corrupt (${label})`, async () => {
    const { dir, remove } = tempDir();
    try {
      const fs = new FaultInjectingFileSystem({ zeroFill: true });
      const spool = await Spool.open({ dir, fileSystem: fs, preallocateBytes });
      const first = makeRecord();
      await spool.append(first);
      const caughtUp = await follow(dir);
      // Four records torn after half: two complete lines and most of a third are on disk.
      const refused = [makeRecord(), makeRecord(), makeRecord(), big('x')];
      fs.plan = { failWrite: true, tornWrite: true };
      const rejected = refused.map((r) => assert.rejects(spool.append(r)));
      await Promise.all(rejected);
      fs.plan = {};
      const seen = await follow(dir, caughtUp.pos);
      assert.deepEqual(
        seen.ids,
        refused.slice(0, 2).map((r) => r.id),
      );
      const acked = [makeRecord(), makeRecord()];
      for (const r of acked) await spool.append(r);
      const after = await follow(dir, seen.pos);
      assert.equal(after.error, undefined);
      assert.deepEqual(
        after.ids,
        acked.map((r) => r.id),
      );
      await spool.close();
      assert.deepEqual(await readSpoolIds(dir), [first.id, ...acked.map((r) => r.id)]);
    } finally {
      remove();
    }
  });

  test(`closing right after a failed batch seals its segment too: a reopened writer never writes at the refused offsets (${label})`, async () => {
    const { dir, remove } = tempDir();
    try {
      const fs = new FaultInjectingFileSystem({ zeroFill: true });
      const spool = await Spool.open({ dir, fileSystem: fs, preallocateBytes });
      await spool.append(makeRecord());
      const caughtUp = await follow(dir);
      const seen = await failedBatch(spool, fs, [big('y')], () => follow(dir, caughtUp.pos));
      assert.equal(seen.ids.length, 1);
      await spool.close();
      const reopened = await Spool.open({ dir, preallocateBytes });
      const acked = [big('z'), big('z')];
      for (const r of acked) await reopened.append(r);
      await reopened.close();
      const after = await follow(dir, seen.pos);
      assert.equal(after.error, undefined);
      assert.deepEqual(
        after.ids,
        acked.map((r) => r.id),
      );
    } finally {
      remove();
    }
  });
}

/** What SIGKILL leaves: the files as the page cache holds them, without the writer's lock. */
function crashCopy(dir: string, copy: string): void {
  cpSync(dir, copy, { recursive: true, filter: (src) => basename(src) !== 'LOCK' });
}

test('a crash right after the failed batch (before the next segment exists): recovery keeps the refused lines a reader may have read and appends after them', async () => {
  const { dir, remove } = tempDir();
  const { dir: copy, remove: removeCopy } = tempDir();
  try {
    const fs = new FaultInjectingFileSystem({ zeroFill: true });
    const spool = await Spool.open({ dir, fileSystem: fs, preallocateBytes: 64 * 1024 });
    await spool.append(makeRecord());
    const caughtUp = await follow(dir);
    const seen = await failedBatch(spool, fs, [big('y'), big('y')], () =>
      follow(dir, caughtUp.pos),
    );
    assert.equal(seen.ids.length, 2);
    crashCopy(dir, copy);
    await spool.close();

    const recovered = await Spool.open({ dir: copy, preallocateBytes: 64 * 1024 });
    const acked = [big('z'), big('z'), big('z')];
    for (const r of acked) await recovered.append(r);
    await recovered.close();
    const after = await follow(copy, seen.pos);
    assert.equal(after.error, undefined);
    assert.deepEqual(
      after.ids,
      acked.map((r) => r.id),
    );
  } finally {
    remove();
    removeCopy();
  }
});

for (const preallocateBytes of [64 * 1024, 0]) {
  test(`a crash after the new segment exists but before the refused lines are cut from the sealed one: recovery continues in the new segment, readers go on without spool_corrupt (${preallocateBytes > 0 ? 'preallocated' : 'not preallocated'})`, async () => {
    const { dir, remove } = tempDir();
    const { dir: copy, remove: removeCopy } = tempDir();
    try {
      const fs = new FaultInjectingFileSystem({ zeroFill: true });
      const spool = await Spool.open({ dir, fileSystem: fs, preallocateBytes });
      const first = makeRecord();
      await spool.append(first);
      if (preallocateBytes > 0) {
        // The zero tail is in place (and recorded), so the repair's first cut is a zero-fill.
        const path = segmentPath(dir, 1);
        await waitFor('the zero tail', () => statSync(path).size >= preallocateBytes);
        await spool.sync();
        await sleep(20);
      }
      const caughtUp = await follow(dir);
      const refused = [big('y'), big('y')];
      const seen = await failedBatch(spool, fs, refused, () => follow(dir, caughtUp.pos));
      // The repair gets as far as the new segment; cutting the refused lines from the sealed one
      // fails, so the batch that triggered it is refused too.
      fs.plan = { failTruncate: true };
      const blocked = makeRecord();
      if (preallocateBytes > 0) {
        await assert.rejects(spool.append(blocked), { code: 'spool_write_failed' });
        assert.deepEqual(await listSpoolSegments(dir), [1, 2]);
        // Meanwhile an in-process reader still stops at the sealed segment's durable end.
        assert.deepEqual(spool.durablePosition, caughtUp.pos);
        assert.deepEqual(await readSpoolIds(dir, spool.durablePosition), [first.id]);
      } else {
        // Without a zero tail the torn-part cut is itself a truncate: the repair stops before the
        // new segment (the same state as a crash right after the failed batch).
        await assert.rejects(spool.append(blocked), { code: 'spool_write_failed' });
      }
      crashCopy(dir, copy);
      fs.plan = {};

      const recovered = await Spool.open({ dir: copy, preallocateBytes });
      const acked = [big('z'), big('z'), big('z')];
      for (const r of acked) await recovered.append(r);
      await recovered.close();
      const after = await follow(copy, seen.pos);
      assert.equal(after.error, undefined);
      assert.deepEqual(
        after.ids,
        acked.map((r) => r.id),
      );
      // Refused lines may stay in the sealed segment after such a crash (like any batch written
      // before a crash); every acknowledged record is there exactly once, in order.
      const all = await readSpoolIds(copy);
      assert.deepEqual(
        all.filter((id) => !refused.some((r) => r.id === id)),
        [first.id, ...acked.map((r) => r.id)],
      );

      // The writer that did not crash finishes the seal at its next batch.
      const later = makeRecord();
      await spool.append(later);
      await spool.close();
      const live = await follow(dir, seen.pos);
      assert.equal(live.error, undefined);
      assert.deepEqual(live.ids, [later.id]);
      assert.deepEqual(await readSpoolIds(dir), [first.id, later.id]);
    } finally {
      remove();
      removeCopy();
    }
  });
}

test('a reader positioned past the durable end of a sealed segment continues at the start of the next segment', async () => {
  const { dir, remove } = tempDir();
  try {
    const a = makeRecord();
    const b = makeRecord();
    const c = makeRecord();
    const sealed = Buffer.concat([encodeSpoolLine(a), encodeSpoolLine(b)]);
    // Past the end of the file (the refused lines were cut by truncation) ...
    writeFileSync(segmentPath(dir, 1), sealed);
    writeFileSync(segmentPath(dir, 2), encodeSpoolLine(c));
    for (const offset of [sealed.length + 1, sealed.length + 500]) {
      const read = await follow(dir, { segment: 1, offset });
      assert.equal(read.error, undefined);
      assert.deepEqual(read.ids, [c.id]);
      assert.deepEqual(read.pos, { segment: 2, offset: encodeSpoolLine(c).length });
    }
    // ... and inside a zero tail (sealed before its trim).
    writeFileSync(segmentPath(dir, 1), Buffer.concat([sealed, Buffer.alloc(4096)]));
    const read = await follow(dir, { segment: 1, offset: sealed.length + 700 });
    assert.equal(read.error, undefined);
    assert.deepEqual(read.ids, [c.id]);
    assert.equal(readFileSync(segmentPath(dir, 1)).length, sealed.length + 4096);
  } finally {
    remove();
  }
});
