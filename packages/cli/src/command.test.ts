// Specifies the argument parser every command shares: typed values with defaults, required
// options, choices, --help, and usage errors that name the bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineCommand, integerOption, parseOptions, UsageError } from './command.js';
import { EXIT_CODES } from './exit-codes.js';
import { formatCommandHelp } from './help.js';

const example = defineCommand({
  kind: 'command',
  name: 'example',
  summary: 'An example command.',
  options: {
    config: { type: 'string', short: 'c', value: 'FILE', description: 'a file', required: true },
    format: {
      type: 'string',
      value: 'F',
      description: 'output',
      choices: ['table', 'json'],
      default: 'table',
    },
    note: { type: 'string', value: 'TEXT', description: 'optional text' },
    follow: { type: 'boolean', short: 'f', description: 'keep going' },
  },
  example: 'mcp-iam example --config a.yaml',
  exitCodes: { ok: 'done', failure: 'not done' },
  async run() {
    return EXIT_CODES.ok;
  },
});

function usageError(argv: string[]): string {
  try {
    parseOptions(example, argv);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  assert.fail(`no usage error for ${argv.join(' ')}`);
}

describe('parseOptions', () => {
  it('gives typed values: defaults for absent options, false for absent flags', () => {
    const parsed = parseOptions(example, ['-c', 'a.yaml']);
    assert.deepEqual(parsed, {
      help: false,
      values: { config: 'a.yaml', format: 'table', note: undefined, follow: false },
      operands: [],
    });
    const given = parseOptions(example, ['--config=b.yaml', '--format', 'json', '-f']);
    assert.ok(!given.help);
    assert.equal(given.values.format, 'json');
    assert.equal(given.values.follow, true);
  });

  it('--help and -h win over missing required options', () => {
    assert.deepEqual(parseOptions(example, ['--help']), { help: true });
    assert.deepEqual(parseOptions(example, ['-h', '--format', 'json']), { help: true });
  });

  it('usage errors name the option or argument at fault', () => {
    assert.equal(usageError([]), '--config FILE is required');
    assert.equal(usageError(['--config']), '--config needs a value');
    assert.equal(usageError(['-c', 'a', '--colour']), 'unknown option --colour');
    assert.equal(usageError(['-c', 'a', '-x']), 'unknown option -x');
    assert.equal(usageError(['-c', 'a', 'stray']), 'unexpected argument "stray"');
    assert.equal(usageError(['-c', 'a', '--follow=yes']), '--follow takes no value');
    assert.equal(
      usageError(['-c', 'a', '--format', 'xml']),
      '--format must be table or json, not "xml"',
    );
    assert.match(usageError(['--config', '--follow']), /^--config needs a value/);
  });

  it('operands are given in declared order beside the options; a missing one or an extra word is a usage error naming it', () => {
    const greet = defineCommand({
      kind: 'command',
      name: 'greet',
      summary: 'Greets someone somewhere.',
      example: 'mcp-iam greet ada london',
      exitCodes: { ok: 'greeted', failure: 'not greeted' },
      run: async () => EXIT_CODES.ok,
      operands: [
        { name: 'USER', description: 'who' },
        { name: 'PLACE', description: 'where' },
      ],
      options: { loud: { type: 'boolean', description: 'shout' } },
    });
    assert.deepEqual(parseOptions(greet, ['ada', '--loud', 'london']), {
      help: false,
      values: { loud: true },
      operands: ['ada', 'london'],
    });
    assert.throws(() => parseOptions(greet, ['ada']), /^UsageError: PLACE is required$/);
    assert.throws(
      () => parseOptions(greet, ['ada', 'london', 'paris']),
      /^UsageError: unexpected argument "paris"$/,
    );
    const help = formatCommandHelp(greet);
    assert.ok(help.startsWith('Usage: mcp-iam greet USER PLACE [options]\n'), help);
    assert.match(help, /^Arguments:\n {2}USER +who\n {2}PLACE +where$/m);
  });

  it('integerOption accepts integers in range and names the option otherwise', () => {
    assert.equal(integerOption('4000', '--port', { min: 0, max: 65535 }), 4000);
    assert.equal(integerOption('0', '--port', { min: 0, max: 65535 }), 0);
    for (const text of ['', ' ', '1.5', '-1', '65536', '0x10', 'ten']) {
      assert.throws(
        () => integerOption(text, '--port', { min: 0, max: 65535 }),
        (error: unknown) => error instanceof UsageError && error.message.startsWith('--port must'),
        JSON.stringify(text),
      );
    }
    assert.throws(
      () => integerOption('0', '--lines', { min: 1 }),
      /--lines must be an integer of at least 1/,
    );
  });
});

describe('formatCommandHelp', () => {
  it('lists usage with required options, every option with its default and choices, the example and exit codes', () => {
    const help = formatCommandHelp(example);
    assert.ok(help.startsWith('Usage: mcp-iam example --config FILE [options]\n'), help);
    assert.match(help, /^ {2}-c, --config FILE +a file \(required\)$/m);
    assert.match(help, /^ {2}--format table\|json +output \(default: table\)$/m);
    assert.match(help, /^ {2}--note TEXT +optional text$/m);
    assert.match(help, /^ {2}-f, --follow +keep going$/m);
    assert.match(help, /^ {2}-h, --help +print this help and exit$/m);
    assert.match(help, /^Example:\n {2}mcp-iam example --config a\.yaml$/m);
    assert.match(help, /^ {2}0 +done\n {2}1 +not done\n {2}2 +usage error/m);
    assert.doesNotMatch(help, /^ {2}78 /m);
    for (const line of help.split('\n')) assert.ok(line.length <= 100, line);
  });
});
