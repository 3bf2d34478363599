/**
 * Runs an `mcp-iam` command line: finds the command in the tree, answers `--help`, parses the
 * options, runs the command and turns every failure into a message on stderr and an exit code.
 */
import {
  ConfigurationError,
  parseOptions,
  UsageError,
  type Command,
  type CommandGroup,
} from './command.js';
import { MCP_IAM } from './commands/tree.js';
import { EXIT_CODES } from './exit-codes.js';
import { formatCommandHelp, formatGroupHelp } from './help.js';
import type { CliIo } from './io.js';

const HELP_WORDS = new Set(['--help', '-h', 'help']);

/** The commands one word below `node`: a group's commands, or a command's subcommands. */
function childrenOf(node: Command | CommandGroup): readonly (Command | CommandGroup)[] {
  return node.kind === 'group' ? node.commands : (node.commands ?? []);
}

/** The deepest command named by the leading words of `argv`, and the arguments after them. */
function findCommand(
  root: CommandGroup,
  argv: readonly string[],
): { node: Command | CommandGroup; rest: readonly string[] } {
  let node: Command | CommandGroup = root;
  let used = 0;
  while (argv[used] !== undefined) {
    const name: string = node.name ? `${node.name} ${argv[used]}` : `${argv[used]}`;
    const next: Command | CommandGroup | undefined = childrenOf(node).find((c) => c.name === name);
    if (next === undefined) break;
    node = next;
    used += 1;
  }
  return { node, rest: argv.slice(used) };
}

/** `unknown command "WORD" (commands: a, b)`, naming the commands one word below `node`. */
function unknownCommand(node: Command | CommandGroup, word: string): UsageError {
  const names = childrenOf(node)
    .map((command) => command.name.split(' ').pop())
    .join(', ');
  return new UsageError(`unknown command ${JSON.stringify(word)} (commands: ${names})`);
}

async function runGroup(group: CommandGroup, argv: readonly string[], io: CliIo): Promise<number> {
  const [word] = argv;
  if (word === undefined) {
    io.stderr(formatGroupHelp(group));
    return EXIT_CODES.usage;
  }
  if (HELP_WORDS.has(word)) {
    io.stdout(formatGroupHelp(group));
    return EXIT_CODES.ok;
  }
  throw word.startsWith('-')
    ? new UsageError(`unknown option ${word}`)
    : unknownCommand(group, word);
}

async function runCommand(command: Command, argv: readonly string[], io: CliIo): Promise<number> {
  const [word] = argv;
  // A command with subcommands and no operands of its own: a word there names a subcommand.
  if (command.commands?.length && !command.operands?.length && word && !word.startsWith('-')) {
    throw unknownCommand(command, word);
  }
  const parsed = parseOptions(command, argv);
  if (parsed.help) {
    io.stdout(formatCommandHelp(command));
    return EXIT_CODES.ok;
  }
  return command.run(parsed.values, io, parsed.operands);
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/**
 * Runs `mcp-iam` with `argv` (the arguments after `mcp-iam`) and resolves with the exit code:
 * 0 ok, 1 failure, 2 usage error, 78 configuration error. Never rejects: every failure is a
 * message on `io.stderr` that starts with the command and names the bad input.
 *
 * @example
 * ```ts
 * process.exitCode = await runMcpIam(['check', '--config', 'gateway.yaml'], processIo());
 * ```
 */
export async function runMcpIam(argv: readonly string[], io: CliIo): Promise<number> {
  const { node, rest } = findCommand(MCP_IAM, argv);
  const prefix = node.name ? `mcp-iam ${node.name}` : 'mcp-iam';
  try {
    return node.kind === 'group'
      ? await runGroup(node, rest, io)
      : await runCommand(node, rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${prefix}: ${error.message}\nRun "${prefix} --help" for usage.\n`);
      return EXIT_CODES.usage;
    }
    if (error instanceof ConfigurationError) {
      io.stderr(`${prefix}: invalid configuration\n${error.message}\n`);
      return EXIT_CODES.configuration;
    }
    io.stderr(`${prefix}: ${describeError(error)}\n`);
    return EXIT_CODES.failure;
  }
}
