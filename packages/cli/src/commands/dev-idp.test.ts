// Specifies `mcp-iam dev-idp` as a process: it starts on an ephemeral port, prints the issuer,
// users and clients under a development-only banner, and exits 0 on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { MCP_IAM_MAIN } from '../testing/run-cli.js';

describe('mcp-iam dev-idp', () => {
  it('starts on --port 0, prints issuer, users and clients with a development warning, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [MCP_IAM_MAIN, 'dev-idp', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          out += chunk;
          if (out.includes('resources:') && /\n {2}gateway-notes /.test(out)) resolve();
        });
        void exited.then(([code]) => reject(new Error(`exited early with ${code}: ${out}`)));
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
      child.kill('SIGTERM');
    }
    const [code, signal] = await exited;
    assert.equal(signal, null);
    assert.equal(code, 0);
  });
});
