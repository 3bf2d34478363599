// Specifies `mcp-iam dev-idp totp USER` as a user runs it: it prints the one-time code the
// development IdP accepts for that user's MFA sign-in, and names what is wrong otherwise.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ALICE_TOTP_SECRET, verifyTotp } from '@mcp-iam/dev-idp';
import { runCli, tempDir } from '../testing/run-cli.js';

describe('mcp-iam dev-idp totp', () => {
  it("prints only alice's current six-digit code, one the IdP accepts for her, with exit 0", async () => {
    const run = await runCli(['dev-idp', 'totp', 'alice']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /^\d{6}\n$/);
    assert.ok(verifyTotp(ALICE_TOTP_SECRET, run.stdout.trim()), run.stdout);
  });

  it('an unknown user exits 2, naming the user and listing the fixture users', async () => {
    const run = await runCli(['dev-idp', 'totp', 'carol']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /^mcp-iam dev-idp totp: unknown user "carol" \(users: alice, bob\)\nRun "mcp-iam dev-idp totp --help" for usage\.\n$/,
    );
  });

  it('without USER it exits 2 naming the missing argument', async () => {
    const run = await runCli(['dev-idp', 'totp']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^mcp-iam dev-idp totp: USER is required\n/);
  });

  it('a second user name exits 2 naming the extra argument', async () => {
    const run = await runCli(['dev-idp', 'totp', 'alice', 'bob']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^mcp-iam dev-idp totp: unexpected argument "bob"\n/);
  });

  it('a user not enrolled for MFA exits 1, naming the users who are', async () => {
    const run = await runCli(['dev-idp', 'totp', 'bob']);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /^mcp-iam dev-idp totp: user bob is not enrolled for MFA.*\(enrolled: alice\)\n$/,
    );
  });

  it('with --config, the users of the fixture file count: their codes print, removed users are unknown', async () => {
    const { dir, remove } = tempDir();
    try {
      const file = join(dir, 'dev-idp.yaml');
      const secret = 'JBSWY3DPEHPK3PXP';
      writeFileSync(
        file,
        [
          'users:',
          '  carol:',
          '    password: carol',
          '    name: Carol Example',
          '    email: carol@example.test',
          '    groups: [employees]',
          `    totp_secret: ${secret}`,
          '  alice: null',
          '',
        ].join('\n'),
      );
      const carol = await runCli(['dev-idp', 'totp', 'carol', '--config', file]);
      assert.equal(carol.code, 0, carol.stderr);
      assert.ok(verifyTotp(secret, carol.stdout.trim()), carol.stdout);
      const alice = await runCli(['dev-idp', 'totp', 'alice', '--config', file]);
      assert.equal(alice.code, 2);
      assert.match(alice.stderr, /unknown user "alice" \(users: bob, carol\)/);
    } finally {
      remove();
    }
  });

  it('a fixture file that fails to validate exits 78 naming the file and the key', async () => {
    const { dir, remove } = tempDir();
    try {
      const file = join(dir, 'dev-idp.yaml');
      writeFileSync(file, 'users:\n  alice:\n    pasword: x\n');
      const run = await runCli(['dev-idp', 'totp', 'alice', '--config', file]);
      assert.equal(run.code, 78);
      assert.ok(run.stderr.includes(`${file}:3: users.alice.pasword`), run.stderr);
    } finally {
      remove();
    }
  });

  it('mcp-iam dev-idp --help lists the totp command; an unknown word after dev-idp exits 2', async () => {
    const help = await runCli(['dev-idp', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Commands:\n {2}totp +Prints the current one-time code/m);
    const unknown = await runCli(['dev-idp', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /^mcp-iam dev-idp: unknown command "frobnicate" \(commands: totp\)/,
    );
  });
});
