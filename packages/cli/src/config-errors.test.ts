// Specifies exit code 78: a configuration file that fails to load or validate stops `gateway`,
// `check` and `dev-idp` before anything starts, with a message naming the file, line and key.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, tempDir } from './testing/run-cli.js';

const GATEWAY_YAML = [
  'listen: { host: 127.0.0.1, port: 0 }',
  'public_url: http://127.0.0.1:9',
  'issuers:',
  '  - issuer: http://127.0.0.1:9',
  '    allow_insecure_loopback_http: true',
  'lsiten_typo: true',
  'routes:',
  '  - name: r',
  '    path: /mcp',
  '    upstream: { url: http://127.0.0.1:9/mcp }',
  '    downstream: { mode: none }',
  '',
].join('\n');

describe('mcp-iam configuration errors', () => {
  for (const command of ['gateway', 'check']) {
    it(`${command} exits 78 on a gateway file with an unknown key, naming file:line and the key`, async () => {
      const { dir, remove } = tempDir();
      try {
        const file = join(dir, 'broken.yaml');
        writeFileSync(file, GATEWAY_YAML);
        const run = await runCli([command, '--config', file]);
        assert.equal(run.code, 78, run.stderr);
        assert.equal(run.stdout, '');
        assert.ok(run.stderr.startsWith(`mcp-iam ${command}: invalid configuration\n`), run.stderr);
        assert.match(run.stderr, /broken\.yaml:6\b/);
        assert.match(run.stderr, /lsiten_typo/);
      } finally {
        remove();
      }
    });
  }

  it('gateway and check exit 78 on a file that cannot be read, naming it', async () => {
    for (const command of ['gateway', 'check']) {
      const run = await runCli([command, '--config', '/nonexistent/gateway.yaml']);
      assert.equal(run.code, 78, run.stderr);
      assert.match(run.stderr, /gateway\.yaml/);
    }
  });

  it('dev-idp exits 78 on a fixture file with an unknown key, naming file:line and the key', async () => {
    const { dir, remove } = tempDir();
    try {
      const file = join(dir, 'dev-idp.yaml');
      writeFileSync(file, 'users:\n  carol:\n    password: carol\n    colour: blue\n');
      const run = await runCli(['dev-idp', '--port', '0', '--config', file]);
      assert.equal(run.code, 78, run.stderr);
      assert.ok(run.stderr.startsWith('mcp-iam dev-idp: invalid configuration\n'), run.stderr);
      assert.match(run.stderr, /dev-idp\.yaml:4\b/);
      assert.match(run.stderr, /colour/);
    } finally {
      remove();
    }
  });
});
