// Specifies how `mcp-iam audit tail|query` turn their options into @mcp-iam/audit calls, run
// in-process: relative times, the default spool, the limit, and errors with their audit code.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_SPOOL_DIR as AUDIT_DEFAULT_SPOOL_DIR } from '@mcp-iam/audit';
import type { AuditRecord } from '@mcp-iam/core';
import type { CliIo } from '../io.js';
import { runMcpIam } from '../run.js';
import { auditRecords, tempDir, writeSpool } from '../testing/run-cli.js';
import { DEFAULT_SPOOL_DIR } from './audit.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    stopSignal: () => ({ signal: AbortSignal.abort(), dispose: () => undefined }),
  };
  const code = await runMcpIam(argv, io);
  return { code, out, err };
}

const ids = (jsonLines: string): string[] =>
  jsonLines
    .trim()
    .split('\n')
    .map((line) => (JSON.parse(line) as AuditRecord).id);

describe('mcp-iam audit', () => {
  it('the default spool directory is the one @mcp-iam/audit reads by default', () => {
    assert.equal(DEFAULT_SPOOL_DIR, AUDIT_DEFAULT_SPOOL_DIR);
  });

  it('query passes filters, --limit and --order through, and reads relative --since against now', async () => {
    const { dir, remove } = tempDir();
    try {
      const records = auditRecords(5).map((record, i) => ({
        ...record,
        time: new Date(Date.now() - (5 - i) * 3_600_000).toISOString(),
      }));
      await writeSpool(dir, records);
      const recent = await run([
        'audit',
        'query',
        '--spool',
        dir,
        '--since',
        '150m',
        '--format',
        'json',
      ]);
      assert.equal(recent.code, 0, recent.err);
      assert.deepEqual(ids(recent.out), [records[4]?.id, records[3]?.id]);
      const oldest = await run([
        'audit',
        'query',
        '--spool',
        dir,
        '--order',
        'asc',
        '--limit',
        '2',
        '--format',
        'json',
      ]);
      assert.deepEqual(ids(oldest.out), [records[0]?.id, records[1]?.id]);
      const one = await run(['audit', 'query', '--spool', dir, '--subject', 'user-2']);
      assert.match(one.out, /^TIME +OUTCOME/);
      assert.equal(one.out.trim().split('\n').length, 2);
    } finally {
      remove();
    }
  });

  it('tail prints the last --lines records as a table', async () => {
    const { dir, remove } = tempDir();
    try {
      await writeSpool(dir, auditRecords(30));
      const tail = await run(['audit', 'tail', '--spool', dir, '-n', '3']);
      assert.equal(tail.code, 0, tail.err);
      const rows = tail.out.trim().split('\n');
      assert.equal(rows.length, 4);
      assert.match(rows[3] ?? '', /user-29/);
    } finally {
      remove();
    }
  });

  it('a store that cannot be opened exits 1 with the audit error code in the message', async () => {
    const { dir, remove } = tempDir();
    try {
      const failed = await run(['audit', 'query', '--sqlite', join(dir, 'none', 'audit.db')]);
      assert.equal(failed.code, 1);
      assert.match(failed.err, /^mcp-iam audit query: .*\(store_failed\)/);
      assert.equal(failed.out, '');
    } finally {
      remove();
    }
  });
});
