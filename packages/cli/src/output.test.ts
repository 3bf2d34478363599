// Specifies what reaches the reader of a command's output: everything a command writes arrives,
// also through a pipe to a slow reader; a spool that is not there is an error, not an empty trail.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatJsonLine } from '@mcp-iam/audit';
import { auditRecords, MCP_IAM_MAIN, runCli, tempDir, writeSpool } from './testing/run-cli.js';

/** Runs a shell pipeline and resolves with its exit code and stderr. */
function shell(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('mcp-iam output', () => {
  it('a query of more than 200 KB piped to a slow reader arrives complete, byte for byte', async () => {
    const { dir, remove } = tempDir();
    try {
      const spool = join(dir, 'spool');
      const records = auditRecords(1500);
      await writeSpool(spool, records);
      const expected = records.map((record) => `${formatJsonLine(record)}\n`).join('');
      assert.ok(expected.length > 200_000, `${expected.length} bytes`);
      const out = join(dir, 'out.jsonl');
      // The reader starts late, so the pipe (64 KiB) is full while the command has more to write:
      // a process that exits before its stdout drains loses everything past the first 64 KiB.
      const run = await shell(
        '"$NODE" "$MAIN" audit query --spool "$SPOOL" --order asc --limit 5000 --format json' +
          ' | { sleep 0.5; head -c 10000000; } > "$OUT"',
        { NODE: process.execPath, MAIN: MCP_IAM_MAIN, SPOOL: spool, OUT: out },
      );
      assert.equal(run.code, 0, run.stderr);
      const received = readFileSync(out, 'utf8');
      assert.equal(received.length, expected.length);
      assert.equal(received, expected);
    } finally {
      remove();
    }
  });

  it('a reader that stops early ends the command quietly, without a stream error', async () => {
    const { dir, remove } = tempDir();
    try {
      const spool = join(dir, 'spool');
      await writeSpool(spool, auditRecords(1500));
      const run = await shell(
        '"$NODE" "$MAIN" audit query --spool "$SPOOL" --limit 5000 --format json | head -c 100',
        { NODE: process.execPath, MAIN: MCP_IAM_MAIN, SPOOL: spool },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
    } finally {
      remove();
    }
  });

  it('audit tail and query on a spool directory that does not exist exit 1 naming the path, printing no table', async () => {
    const { dir, remove } = tempDir();
    try {
      const missing = join(dir, 'nonexistent');
      for (const command of ['tail', 'query']) {
        const run = await runCli(['audit', command, '--spool', missing]);
        assert.equal(run.code, 1, run.stderr);
        assert.equal(run.stdout, '');
        assert.ok(
          run.stderr.startsWith(`mcp-iam audit ${command}: no audit spool at ${missing}`),
          run.stderr,
        );
        assert.match(run.stderr, /spool_not_found/);
      }
    } finally {
      remove();
    }
  });
});
