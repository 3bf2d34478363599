import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from '@mcp-iam/core';
import { AuditError } from '../errors.js';
import { encodeSpoolLine } from '../spool/format.js';
import { segmentPath } from '../spool/segments.js';
import { Spool } from '../spool/spool.js';
import { SqliteAuditStore } from '../store/sqlite.js';
import { makeRecord, tempDir } from '../testing/records.js';
import {
  queryAudit,
  tailAudit,
  type AuditQueryOptions,
  type AuditTailOptions,
} from './audit-cli.js';
import { escapeForTerminal } from './format.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ago = (minutes: number): Date => new Date(NOW.getTime() - minutes * 60_000);
const minutesAgo = (m: number): string => ago(m).toISOString();

async function query(options: AuditQueryOptions): Promise<string> {
  let out = '';
  await queryAudit(options, { stdout: (t) => (out += t) });
  return out;
}

async function tail(options: AuditTailOptions): Promise<string> {
  let out = '';
  await tailAudit(options, { stdout: (t) => (out += t) });
  return out;
}

async function spoolWith(dir: string, records: AuditRecord[]): Promise<void> {
  const spool = await Spool.open({ dir });
  for (const r of records) await spool.append(r);
  await spool.close();
}

const records = [
  makeRecord({
    time: minutesAgo(120),
    subject: 'alice',
    outcome: 'deny',
    reason: 'forbidden',
    tool: 'update',
  }),
  makeRecord({
    time: minutesAgo(30),
    subject: 'alice',
    outcome: 'deny',
    reason: 'insufficient_scope',
    tool: 'delete',
  }),
  makeRecord({ time: minutesAgo(20), subject: 'alice', outcome: 'allow', tool: 'search' }),
  makeRecord({
    time: minutesAgo(10),
    subject: 'bob',
    outcome: 'deny',
    reason: 'forbidden',
    clientId: 'cli',
  }),
];

test('query on a spool filters by subject, outcome and since, newest first, as JSON lines', async () => {
  const { dir, remove } = tempDir();
  try {
    await spoolWith(dir, records);
    const out = await query({
      source: { spool: dir },
      filter: { subject: 'alice', outcome: 'deny', since: ago(60) },
      format: 'json',
    });
    const got = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(got, [records[1]]);
    const until = await query({
      source: { spool: dir },
      filter: { until: ago(15), order: 'asc' },
      format: 'json',
    });
    assert.deepEqual(
      until
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).id),
      records.slice(0, 3).map((x) => x.id),
    );
  } finally {
    remove();
  }
});

test('query on a SQLite file applies the same filters and the limit', async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'audit.db');
    const store = SqliteAuditStore.open({ path });
    await store.insert(records);
    await store.close();
    const out = await query({
      source: { sqlite: path },
      filter: { outcome: 'deny', limit: 2 },
      format: 'json',
    });
    assert.deepEqual(
      out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).id),
      [records[3]?.id, records[1]?.id],
    );
    const client = await query({ source: { sqlite: path }, filter: { clientId: 'cli' } });
    assert.match(client, /^TIME +OUTCOME +REASON/);
    assert.equal(client.trim().split('\n').length, 2);
  } finally {
    remove();
  }
});

test('table output escapes control and bidi characters from records, even ones never sanitized', async () => {
  const { dir, remove } = tempDir();
  try {
    await spoolWith(dir, []);
    // Written around the sink, as a hostile or older writer could: raw ESC, CR, NUL and RLO.
    const raw = makeRecord({ subject: '\u001b[2J\u001b[31mroot\r\u0000', tool: 'a\u202egnp.exe' });
    appendFileSync(segmentPath(dir, 1), encodeSpoolLine(raw));
    const out = await query({ source: { spool: dir } });
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    assert.ok(out.includes('\\u001b[2J\\u001b[31mroot\\u000d\\u0000'));
    assert.ok(out.includes('a\\u202egnp.exe'));
    const json = await query({ source: { spool: dir }, format: 'json' });
    assert.doesNotMatch(json, /\u202e/);
    assert.equal((JSON.parse(json) as AuditRecord).tool, 'a\u202egnp.exe');
  } finally {
    remove();
  }
});

test('tail prints the last N records, and follow prints records appended later until stopped', async () => {
  const { dir, remove } = tempDir();
  try {
    await spoolWith(dir, records);
    const out = await tail({ spool: dir, lines: 2, format: 'json' });
    assert.deepEqual(
      out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).id),
      [records[2]?.id, records[3]?.id],
    );
    const controller = new AbortController();
    const late = makeRecord({ subject: 'late' });
    let followed = '';
    const following = tailAudit(
      { spool: dir, follow: true, intervalMs: 20, lines: 1 },
      { stdout: (t) => (followed += t), signal: controller.signal },
    );
    await sleep(50);
    await spoolWith(dir, [late]);
    const deadline = Date.now() + 3000;
    while (!followed.includes('late') && Date.now() < deadline) await sleep(20);
    controller.abort();
    await following;
    assert.ok(followed.includes('late'));
    assert.equal(followed.match(/^TIME/gm)?.length, 1);
  } finally {
    remove();
  }
});

test('a spool directory that does not exist is an error naming it, for tail and query alike', async () => {
  const { dir, remove } = tempDir();
  try {
    const missing = join(dir, 'no-such-spool');
    const file = join(dir, 'a-file');
    appendFileSync(file, 'not a spool\n');
    for (const run of [
      () => tail({ spool: missing }),
      () => query({ source: { spool: missing } }),
    ]) {
      await assert.rejects(run, (error: unknown) => {
        assert.ok(error instanceof AuditError);
        assert.equal(error.code, 'spool_not_found');
        assert.ok(error.message.includes(missing), error.message);
        return true;
      });
    }
    await assert.rejects(() => tail({ spool: file }), /not a directory/);
  } finally {
    remove();
  }
});

test('a store that cannot be opened rejects with store_failed', async () => {
  await assert.rejects(
    () => query({ source: { sqlite: '/nonexistent/audit.db' } }),
    (error: unknown) => error instanceof AuditError && error.code === 'store_failed',
  );
});

test('escapeForTerminal caps long values', () => {
  assert.equal(escapeForTerminal('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
  assert.equal(escapeForTerminal(undefined), '');
});
