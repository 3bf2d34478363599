import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from '@mcp-iam/core';
import { encodeSpoolLine } from '../spool/format.js';
import { segmentPath } from '../spool/segments.js';
import { Spool } from '../spool/spool.js';
import { SqliteAuditStore } from '../store/sqlite.js';
import { makeRecord, tempDir } from '../testing/records.js';
import { runAuditCli } from './audit-cli.js';
import { escapeForTerminal } from './format.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const minutesAgo = (m: number): string => new Date(NOW.getTime() - m * 60_000).toISOString();

async function run(
  argv: string[],
  signal?: AbortSignal,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAuditCli(argv, {
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
    now: NOW,
    signal,
  });
  return { code, out, err };
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

test('query --spool filters by subject, outcome and relative --since, newest first, as JSON lines', async () => {
  const { dir, remove } = tempDir();
  try {
    await spoolWith(dir, records);
    const r = await run([
      'query',
      '--spool',
      dir,
      '--subject',
      'alice',
      '--outcome',
      'deny',
      '--since',
      '1h',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.err);
    const got = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(got, [records[1]]);
    const until = await run([
      'query',
      '--spool',
      dir,
      '--until',
      '15m',
      '--order',
      'asc',
      '--format',
      'json',
    ]);
    assert.deepEqual(
      until.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).id),
      records.slice(0, 3).map((x) => x.id),
    );
  } finally {
    remove();
  }
});

test('query --sqlite reads a store file with the same filters and --limit', async () => {
  const { dir, remove } = tempDir();
  try {
    const path = join(dir, 'audit.db');
    const store = SqliteAuditStore.open({ path });
    await store.insert(records);
    await store.close();
    const r = await run([
      'query',
      '--sqlite',
      path,
      '--outcome',
      'deny',
      '--limit',
      '2',
      '--format',
      'json',
    ]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      r.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).id),
      [records[3]?.id, records[1]?.id],
    );
    const client = await run(['query', '--sqlite', path, '--client', 'cli']);
    assert.match(client.out, /^TIME +OUTCOME +REASON/);
    assert.equal(client.out.trim().split('\n').length, 2);
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
    const r = await run(['query', '--spool', dir]);
    assert.equal(r.code, 0, r.err);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(r.out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    assert.ok(r.out.includes('\\u001b[2J\\u001b[31mroot\\u000d\\u0000'));
    assert.ok(r.out.includes('a\\u202egnp.exe'));
    const json = await run(['query', '--spool', dir, '--format', 'json']);
    assert.doesNotMatch(json.out, /\u202e/);
    assert.equal((JSON.parse(json.out) as AuditRecord).tool, 'a\u202egnp.exe');
  } finally {
    remove();
  }
});

test('tail prints the last N records, and --follow prints records appended later until stopped', async () => {
  const { dir, remove } = tempDir();
  try {
    await spoolWith(dir, records);
    const r = await run(['tail', '--spool', dir, '--lines', '2', '--format', 'json']);
    assert.deepEqual(
      r.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditRecord).id),
      [records[2]?.id, records[3]?.id],
    );
    const controller = new AbortController();
    const late = makeRecord({ subject: 'late' });
    let out = '';
    const following = runAuditCli(
      ['tail', '--spool', dir, '--follow', '--interval', '20', '--lines', '1'],
      {
        stdout: (t) => (out += t),
        signal: controller.signal,
      },
    );
    await sleep(50);
    await spoolWith(dir, [late]);
    const deadline = Date.now() + 3000;
    while (!out.includes('late') && Date.now() < deadline) await sleep(20);
    controller.abort();
    assert.equal(await following, 0);
    assert.ok(out.includes('late'));
    assert.equal(out.match(/^TIME/gm)?.length, 1);
  } finally {
    remove();
  }
});

test('bad usage exits with 2 and a message; an unreadable store exits with 1', async () => {
  assert.equal((await run([])).code, 2);
  assert.equal((await run(['frobnicate'])).code, 2);
  assert.equal((await run(['query', '--outcome', 'maybe'])).code, 2);
  assert.equal((await run(['query', '--since', 'last tuesday'])).code, 2);
  assert.equal((await run(['query', '--spool', 'a', '--sqlite', 'b'])).code, 2);
  assert.equal((await run(['query', '--bogus'])).code, 2);
  const missing = await run(['query', '--sqlite', '/nonexistent/audit.db']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /store_failed/);
  assert.equal((await run(['--help'])).code, 0);
});

test('escapeForTerminal caps long values', () => {
  assert.equal(escapeForTerminal('x'.repeat(100), 10), `${'x'.repeat(9)}…`);
  assert.equal(escapeForTerminal(undefined), '');
});
