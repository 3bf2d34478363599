/**
 * The `--help` text of every command and command group, rendered from the same declarations the
 * parser reads: usage line, summary, options with their defaults, one example, exit codes.
 */
import { optionLabel, type Command, type CommandGroup, type OptionSpec } from './command.js';
import { EXIT_CODES } from './exit-codes.js';

/** Lines are wrapped to this width. */
const WIDTH = 100;
/** Descriptions start at most this far right; longer labels put theirs on the next line. */
const MAX_COLUMN = 32;

/** Splits `text` into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** Label and description side by side, the description wrapped and aligned at `column`. */
function row(label: string, text: string, column: number): string {
  const head = `  ${label}`;
  const [first = '', ...more] = wrap(text, WIDTH - column);
  const indent = ' '.repeat(column);
  const lines =
    head.length + 2 <= column ? [`${head.padEnd(column)}${first}`] : [head, `${indent}${first}`];
  return [...lines, ...more.map((line) => `${indent}${line}`)].join('\n');
}

function table(rows: readonly (readonly [string, string])[], column?: number): string[] {
  const widest = Math.max(...rows.map(([label]) => label.length));
  const at = column ?? Math.min(MAX_COLUMN, widest + 6);
  return rows.map(([label, text]) => row(label, text, at));
}

/** Column of the exit code descriptions, the same in every help text. */
const EXIT_CODE_COLUMN = 8;

function paragraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .flatMap((paragraph, i) => [...(i > 0 ? [''] : []), ...wrap(paragraph, WIDTH)]);
}

function optionRow(name: string, spec: OptionSpec): [string, string] {
  const long = spec.choices ? `--${name} ${spec.choices.join('|')}` : optionLabel(name, spec);
  const label = spec.short ? `-${spec.short}, ${long}` : long;
  const notes = [
    ...(spec.required ? ['required'] : []),
    ...(spec.default !== undefined ? [`default: ${spec.default}`] : []),
  ];
  return [label, notes.length ? `${spec.description} (${notes.join('; ')})` : spec.description];
}

function usageLine(command: Command): string {
  const parts = [`mcp-iam ${command.name}`, ...(command.operands ?? []).map((o) => o.name)];
  for (const [name, spec] of Object.entries(command.options)) {
    if (spec.required) parts.push(optionLabel(name, spec));
  }
  return [...parts, '[options]'].join(' ');
}

/** The exit codes of a command, or (without `meanings`) the ones a group's commands share. */
function exitCodeLines(
  meanings: Command['exitCodes'] | undefined,
  configuration: boolean,
): string[] {
  const rows: [string, string][] = [
    [String(EXIT_CODES.ok), meanings?.ok ?? 'success'],
    [String(EXIT_CODES.failure), meanings?.failure ?? 'the command failed'],
    [String(EXIT_CODES.usage), 'usage error: an unknown option, a missing or malformed argument'],
  ];
  if (configuration) {
    rows.push([
      String(EXIT_CODES.configuration),
      meanings?.configuration ?? 'configuration error: a file that fails to load or validate',
    ]);
  }
  return table(rows, EXIT_CODE_COLUMN);
}

/** True when a command of the group reads a configuration file (and may exit with 78). */
function readsConfiguration(node: Command | CommandGroup): boolean {
  return node.kind === 'command'
    ? node.exitCodes.configuration !== undefined
    : node.commands.some(readsConfiguration);
}

function exampleLines(example: string): string[] {
  return example.split('\n').map((line, i) => (i === 0 ? `  ${line}` : `      ${line.trim()}`));
}

/**
 * The help text of a command.
 *
 * @example
 * ```ts
 * io.stdout(formatCommandHelp(checkCommand));
 * ```
 */
export function formatCommandHelp(command: Command): string {
  const lines = [`Usage: ${usageLine(command)}`, '', ...wrap(command.summary, WIDTH)];
  if (command.details) lines.push('', ...paragraphs(command.details));
  const operands = (command.operands ?? []).map((o): [string, string] => [o.name, o.description]);
  if (operands.length) lines.push('', 'Arguments:', ...table(operands));
  const options = Object.entries(command.options).map(([name, spec]) => optionRow(name, spec));
  lines.push('', 'Options:', ...table([...options, ['-h, --help', 'print this help and exit']]));
  const subcommands = (command.commands ?? []).map((sub): [string, string] => [
    sub.name.slice(command.name.length + 1),
    sub.summary,
  ]);
  if (subcommands.length) {
    lines.push('', 'Commands:', ...table(subcommands));
    lines.push('', `Run "mcp-iam ${command.name} <command> --help" for the options of a command.`);
  }
  lines.push('', 'Example:', ...exampleLines(command.example));
  lines.push('', 'Exit codes:', ...exitCodeLines(command.exitCodes, readsConfiguration(command)));
  return `${lines.join('\n')}\n`;
}

/**
 * The help text of a command group: its subcommands, one example and the exit codes they share.
 *
 * @example
 * ```ts
 * io.stdout(formatGroupHelp(auditGroup));
 * ```
 */
export function formatGroupHelp(group: CommandGroup): string {
  const prefix = group.name ? `mcp-iam ${group.name}` : 'mcp-iam';
  const commands = group.commands.map((command): [string, string] => {
    const word = command.name.slice(group.name ? group.name.length + 1 : 0);
    return [command.kind === 'group' ? `${word} <command>` : word, command.summary];
  });
  const lines = [
    `Usage: ${prefix} <command> [options]`,
    '',
    ...wrap(group.summary, WIDTH),
    '',
    'Commands:',
    ...table(commands),
    '',
    `Run "${prefix} <command> --help" for the options of a command.`,
    '',
    'Example:',
    ...exampleLines(group.example),
    '',
    'Exit codes:',
    ...exitCodeLines(undefined, readsConfiguration(group)),
  ];
  return `${lines.join('\n')}\n`;
}
