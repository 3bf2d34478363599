import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { storeConformance } from '../testing/store-conformance.js';
import { makeRecord, tempDir } from '../testing/records.js';
import { SQLITE_SCHEMA_VERSION, SqliteAuditStore } from './sqlite.js';

const dirs: (() => void)[] = [];
test.after(() => dirs.forEach((remove) => remove()));

storeConformance('sqlite', async () => {
  const { dir, remove } = tempDir();
  dirs.push(remove);
  return SqliteAuditStore.open({ path: join(dir, 'audit.db') });
});

test('sqlite: migrations record the schema version, and reopening applies nothing twice', async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'audit.db');
    const store = SqliteAuditStore.open({ path });
    assert.equal(store.schemaVersion(), SQLITE_SCHEMA_VERSION);
    await store.insert([makeRecord()]);
    await store.close();
    const again = SqliteAuditStore.open({ path });
    assert.equal(again.schemaVersion(), SQLITE_SCHEMA_VERSION);
    assert.equal((await again.query({})).length, 1);
    await again.close();
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT version FROM schema_version').all();
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_records'")
      .all()
      .map((r) => (r as { name: string }).name)
      .filter((n) => !n.startsWith('sqlite_autoindex'))
      .sort();
    db.close();
    assert.deepEqual(rows, [{ version: 1 }]);
    assert.deepEqual(indexes, [
      'audit_records_actor',
      'audit_records_client',
      'audit_records_outcome',
      'audit_records_subject',
      'audit_records_time',
      'audit_records_tool',
    ]);
  } finally {
    remove();
  }
});

test('sqlite: a database from newer code is refused rather than written with an old schema', async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'audit.db');
    (await SqliteAuditStore.open({ path })).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, ?)').run('now');
    db.close();
    assert.throws(() => SqliteAuditStore.open({ path }), { code: 'store_failed' });
  } finally {
    remove();
  }
});

test('sqlite: a read-only store answers queries and refuses inserts', async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'audit.db');
    const writer = SqliteAuditStore.open({ path });
    await writer.insert([makeRecord()]);
    await writer.close();
    const reader = SqliteAuditStore.open({ path, readonly: true });
    assert.equal((await reader.query({})).length, 1);
    await assert.rejects(reader.insert([makeRecord()]), { code: 'store_failed' });
    await reader.close();
  } finally {
    remove();
  }
});
