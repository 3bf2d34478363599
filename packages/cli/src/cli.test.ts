// Specifies the `mcp-iam` command line as a user meets it, run as a child process: every command
// and subcommand answers --help; bad input exits 2 with a message naming it; npm links the bin.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './testing/run-cli.js';

const COMMANDS = [
  '',
  'gateway',
  'check',
  'dev-idp',
  'dev-idp totp',
  'token',
  'audit',
  'audit tail',
  'audit query',
] as const;

describe('mcp-iam --help', () => {
  for (const command of COMMANDS) {
    const words = command ? command.split(' ') : [];
    const name = `mcp-iam${command ? ` ${command}` : ''}`;
    it(`${name} --help and -h print its usage, options or commands, an example and exit codes, with exit 0`, async () => {
      for (const flag of ['--help', '-h']) {
        const run = await runCli([...words, flag]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, '');
        assert.ok(run.stdout.startsWith(`Usage: ${name} `), run.stdout);
        assert.match(run.stdout, /^(Options|Commands):$/m);
        assert.match(run.stdout, new RegExp(`^Example:\\n  ${name} `, 'm'));
        assert.match(run.stdout, /^Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 /m);
      }
    });
  }

  it('every option of a command is listed with its placeholder, and defaults are shown', async () => {
    const run = await runCli(['audit', 'tail', '--help']);
    assert.match(run.stdout, /--spool DIR +spool directory \(default: \.\/data\/audit\)/);
    assert.match(run.stdout, /-n, --lines N +.*\(default: 10\)/);
    assert.match(run.stdout, /--format table\|json +.*\(default: table\)/);
    const token = await runCli(['token', '--help']);
    for (const option of [
      '--issuer URL',
      '--client-id ID',
      '--client-credentials',
      '--client-secret S',
      '--private-key FILE',
      '--alg ALG',
      '--resource URL',
      '--scope "A B"',
      '--acr-values V',
      '--port N',
      '--out FILE',
      '--json',
    ]) {
      assert.ok(token.stdout.includes(`  ${option} `), `${option} in:\n${token.stdout}`);
    }
  });

  it('commands that read a configuration file document exit code 78; the others do not', async () => {
    for (const command of ['gateway', 'check', 'dev-idp']) {
      assert.match((await runCli([command, '--help'])).stdout, /^ {2}78 /m, command);
    }
    for (const command of [['token'], ['audit', 'tail'], ['audit', 'query']]) {
      assert.doesNotMatch((await runCli([...command, '--help'])).stdout, /^ {2}78 /m);
    }
  });
});

describe('mcp-iam usage errors', () => {
  it('an unknown option exits 2 and the message names the option and the command', async () => {
    for (const command of COMMANDS) {
      const words = command ? command.split(' ') : [];
      const run = await runCli([...words, '--no-such-option']);
      assert.equal(run.code, 2, `${command}: ${run.stderr}`);
      assert.equal(run.stdout, '');
      const name = `mcp-iam${command ? ` ${command}` : ''}`;
      assert.ok(run.stderr.startsWith(`${name}: unknown option --no-such-option\n`), run.stderr);
      assert.ok(run.stderr.includes(`Run "${name} --help" for usage.`), run.stderr);
    }
  });

  it('a missing required option or value exits 2 naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['gateway'], /^mcp-iam gateway: --config FILE is required/],
      [['check'], /^mcp-iam check: --config FILE is required/],
      [['check', '--config'], /^mcp-iam check: --config needs a value/],
      [['token', '--client-id', 'ci-bot'], /^mcp-iam token: --issuer URL is required/],
      [
        ['dev-idp', '--port', 'http'],
        /^mcp-iam dev-idp: --port must be an integer from 0 to 65535/,
      ],
      [['audit', 'tail', '--lines', '0'], /^mcp-iam audit tail: --lines must be an integer/],
      [['audit', 'query', '--outcome', 'maybe'], /--outcome must be one of allow, deny, error/],
      [['audit', 'query', '--since', 'last tuesday'], /--since must be a duration/],
      [['audit', 'query', '--spool', 'a', '--sqlite', 'b'], /give one of --spool, --sqlite/],
      [['audit', 'tail', '--follow=yes'], /--follow takes no value/],
      [['check', '--config', 'a.yaml', 'extra'], /unexpected argument "extra"/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
    }
  });

  it('an unknown command exits 2 naming it and listing the commands there are', async () => {
    const run = await runCli(['frobnicate']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown command "frobnicate" \(commands: gateway, check, dev-idp/);
    const audit = await runCli(['audit', 'frobnicate']);
    assert.equal(audit.code, 2);
    assert.match(
      audit.stderr,
      /^mcp-iam audit: unknown command "frobnicate" \(commands: tail, query\)/,
    );
  });

  it('a command group without a command prints its usage on stderr and exits 2', async () => {
    for (const words of [[], ['audit']]) {
      const run = await runCli(words);
      assert.equal(run.code, 2);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /^Usage: mcp-iam/);
    }
  });
});

describe('the mcp-iam bin', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const linked = `${root}node_modules/.bin/mcp-iam`;

  it('npm links node_modules/.bin/mcp-iam to this package, and it runs this command line', async () => {
    assert.equal(
      realpathSync(linked),
      fileURLToPath(new URL('../bin/mcp-iam.js', import.meta.url)),
    );
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(linked, ['--help'], (error, out) => (error ? reject(error) : resolve(out))),
    );
    assert.match(stdout, /^Usage: mcp-iam <command>/);
  });
});
