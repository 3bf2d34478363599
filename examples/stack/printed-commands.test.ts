// The commands `npm start` prints once it serves work when pasted at the repository root: the
// configuration check (with the variables of the env file it writes), person and machine tokens
// (MFA with the printed one-time code, private_key_jwt with the key file it writes) and the
// calls made with them. Tokens land in the data directory.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GATEWAY_CONFIG } from './stack.js';
import { startDemoProcess, type DemoProcess } from './testing/demo-process.js';
import { runInShell, runSignIn } from './testing/shell.js';

/** The printed command line that satisfies `matches` (exactly one must). */
function printed(demo: DemoProcess, matches: (line: string) => boolean): string {
  const serving = demo.stdout().slice(demo.stdout().lastIndexOf('\nRunning:\n'));
  const commands = serving
    .split('\n')
    .filter((line) => line.startsWith('  '))
    .map((line) => line.trim())
    .filter((line) => /^(npx mcp-iam |curl |set -a;)/.test(line));
  const found = commands.filter(matches);
  assert.equal(found.length, 1, `one printed command expected, found:\n${found.join('\n')}`);
  return found[0] as string;
}

/** The file a printed `mcp-iam token` command writes (`--out FILE`). */
function outputFile(command: string): string {
  const file = /--out (\S+)/.exec(command)?.[1];
  assert.ok(file, command);
  return file;
}

function assertPrivateFile(path: string): void {
  assert.equal(statSync(path).mode & 0o777, 0o600, path);
}

describe('the commands npm start prints', () => {
  let demo: DemoProcess;
  before(async () => {
    demo = await startDemoProcess();
    await demo.waitFor('Press Ctrl-C to stop.');
  });
  after(async () => {
    demo.child.kill('SIGTERM');
    await demo.exited();
    await demo.cleanup();
  });

  it('the env file holds an export line for every variable gateway.yaml needs, and is private', () => {
    const envFile = join(demo.dataDir, 'demo.env');
    assertPrivateFile(envFile);
    const exported = new Set(
      [...readFileSync(envFile, 'utf8').matchAll(/^export ([A-Z_]+)=/gm)].map((m) => m[1]),
    );
    const needed = [...readFileSync(GATEWAY_CONFIG, 'utf8').matchAll(/\$\{([A-Z_]+)\}/g)].map(
      (m) => m[1],
    );
    assert.ok(needed.length >= 10, String(needed));
    for (const name of needed) assert.ok(exported.has(name), `${name} in ${envFile}`);
  });

  it('the printed mcp-iam check command, sourcing the env file, passes against the running stack', async () => {
    const check = printed(demo, (line) => line.startsWith('set -a;'));
    assert.ok(check.includes(`. ${join(demo.dataDir, 'demo.env')};`), check);
    assert.ok(check.endsWith('npx mcp-iam check --config examples/stack/gateway.yaml'), check);
    const run = await runInShell(check);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^all checks passed$/m);
  });

  it('the printed ci-bot commands get a token into the data directory and list notes with it', async () => {
    const token = printed(demo, (line) => line.includes('--client-id ci-bot'));
    const file = outputFile(token);
    assert.ok(file.startsWith(join(demo.dataDir, 'tokens')), file);
    const got = await runInShell(token);
    assert.equal(got.code, 0, got.stderr);
    assertPrivateFile(file);
    const call = await runInShell(
      printed(demo, (l) => l.startsWith('curl') && l.includes('list_notes')),
    );
    assert.equal(call.code, 0, call.stderr);
    assert.match(call.stdout, /"result":\{"content":\[\{"type":"text","text":"(No notes yet|1\. )/);
  });

  it('the printed nightly-sync commands sign with the key file the demo wrote (mode 600) and add a note', async () => {
    const token = printed(demo, (line) => line.includes('--client-id nightly-sync'));
    const key = /--private-key (\S+)/.exec(token)?.[1] ?? '';
    assert.equal(key, join(demo.dataDir, 'keys', 'nightly-sync.jwk.json'));
    assertPrivateFile(key);
    const got = await runInShell(token);
    assert.equal(got.code, 0, got.stderr);
    assertPrivateFile(outputFile(token));
    const call = await runInShell(
      printed(demo, (l) => l.startsWith('curl') && l.includes('add_note')),
    );
    assert.equal(call.code, 0, call.stderr);
    assert.match(call.stdout, /Saved note \d+/);
  });

  it('the printed sign-in for alice gets a token in the browser flow, and the printed search returns contacts', async () => {
    const token = printed(
      demo,
      (line) => line.includes('--client-id demo-agent') && !line.includes('--acr-values'),
    );
    const got = await runSignIn(token, { user: 'alice', password: 'alice' });
    assert.equal(got.code, 0, got.stderr);
    assertPrivateFile(outputFile(token));
    const call = await runInShell(
      printed(demo, (l) => l.startsWith('curl') && l.includes('search_contacts')),
    );
    assert.match(call.stdout, /caller alice · client mcp-gateway · via mcp-gateway · acr pwd/);
  });

  it('the printed MFA flow: the one-time code of the printed totp command completes the sign-in, and the update goes through the gateway', async () => {
    const totp = await runInShell(printed(demo, (line) => line.includes('dev-idp totp alice')));
    assert.equal(totp.code, 0, totp.stderr);
    const otp = totp.stdout.trim();
    assert.match(otp, /^\d{6}$/);
    const token = printed(demo, (line) => line.includes('--acr-values mfa'));
    const got = await runSignIn(token, { user: 'alice', password: 'alice', otp });
    assert.equal(got.code, 0, got.stderr);
    const call = await runInShell(
      printed(demo, (l) => l.startsWith('curl') && l.includes('update_contact')),
    );
    assert.match(call.stdout, /acr mfa\\nUpdated: c-001 /);
  });
});
