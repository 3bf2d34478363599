/**
 * `mcp-iam gateway` and its stop signals: a SIGTERM that arrives while the gateway is still
 * starting (here: waiting for an issuer's key set) stops it cleanly once start-up is over, with
 * exit code 0 and the audit spool's lock released, instead of killing it mid-start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MCP_IAM_CLI } from './support/cli.js';

test('a SIGTERM during start-up stops the gateway cleanly once it is up: exit code 0, spool lock released', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-iam-cli-signals-'));
  // A key-set endpoint that accepts the connection and never answers: start-up waits on it until
  // the issuer's fetch timeout.
  let connected: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (connected = resolve));
  const silent = createServer(() => connected());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as AddressInfo).port;
  try {
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      [
        'listen: { host: 127.0.0.1, port: 0 }',
        'public_url: http://127.0.0.1:9',
        'log_level: error',
        'issuers:',
        `  - issuer: http://127.0.0.1:${port}`,
        `    jwks_uri: http://127.0.0.1:${port}/jwks`,
        '    allow_insecure_loopback_http: true',
        '    fetch_timeout_ms: 1500',
        'routes:',
        '  - name: r',
        '    path: /mcp',
        '    upstream: { url: http://127.0.0.1:9/mcp }',
        '    downstream: { mode: none }',
        `audit: { sink: spool, path: ${join(dir, 'audit')}, mode: strict }`,
        '',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [MCP_IAM_CLI, 'gateway', '--config', config], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    await reached; // the gateway is inside start-up, fetching the key set
    assert.equal(existsSync(join(dir, 'audit', 'LOCK')), true, 'the spool is open and locked');
    child.kill('SIGTERM');
    const { code, signal } = await exit;
    assert.equal(signal, null, `killed by ${signal} instead of stopping: ${stderr}`);
    assert.equal(code, 0, stderr);
    assert.equal(existsSync(join(dir, 'audit', 'LOCK')), false, 'the spool lock is released');
  } finally {
    silent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
