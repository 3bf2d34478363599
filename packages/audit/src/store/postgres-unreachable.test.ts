/**
 * The PostgreSQL tests of postgres.test.ts without their server, run as `npm test` runs them: one
 * failure that names the URL and MCP_IAM_TEST_POSTGRES, not one connection error per test.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const POSTGRES_TESTS = fileURLToPath(new URL('./postgres.test.js', import.meta.url));

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

test('without the test server the PostgreSQL tests fail once, naming the URL and MCP_IAM_TEST_POSTGRES', async () => {
  const url = `postgres://postgres@127.0.0.1:${await closedPort()}/test`;
  const env: NodeJS.ProcessEnv = { ...process.env, MCP_IAM_TEST_POSTGRES: url };
  // Inside `node --test` a child runner would report to this one instead of printing.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--test', '--test-reporter=tap', POSTGRES_TESTS], { env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.notEqual(code, 0, output);
  assert.match(output, /^# fail 1$/m, output);
  assert.match(output, /not ok \d+ - postgres: the test server is reachable/);
  assert.ok(output.includes(`the PostgreSQL tests need a server at ${url}`), output);
  assert.match(output, /ECONNREFUSED/);
  assert.match(output, /set MCP_IAM_TEST_POSTGRES to the connection string of another server/);
});
