// Specifies the executable: `node dist/cli.js --port 0` starts the IdP and prints its issuer,
// users and clients; bad arguments exit with status 2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));

describe('mcp-iam-dev-idp CLI', () => {
  it('starts on an ephemeral port and prints issuer, users and clients with a development warning', async () => {
    const child = spawn(process.execPath, [CLI, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('resources:') && /\n {2}gateway-notes /.test(out)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
      });
      const issuer = /^issuer: (http:\/\/127\.0\.0\.1:(\d+))$/m.exec(out);
      assert.ok(issuer, out);
      assert.notEqual(issuer[2], '0');
      assert.match(out, /DEVELOPMENT ONLY/);
      assert.match(out, /^ {2}alice {2}password=alice/m);
      assert.match(out, /^ {2}bob {2}password=bob/m);
      for (const client of [
        'demo-agent',
        'nightly-sync',
        'ci-bot',
        'insights-server',
        'mcp-gateway',
      ]) {
        assert.match(out, new RegExp(`^  ${client} `, 'm'));
      }
      const discovery = await fetch(`${issuer[1]}/.well-known/openid-configuration`);
      assert.equal(((await discovery.json()) as { issuer: string }).issuer, issuer[1]);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('exits with status 2 on an unknown option', async () => {
    const child = spawn(process.execPath, [CLI, '--bogus'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (err += c));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.match(err, /usage: mcp-iam dev-idp/);
  });
});
