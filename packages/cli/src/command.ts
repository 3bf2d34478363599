/**
 * The one argument parser of every `mcp-iam` command. A command declares its options (type,
 * placeholder, default, choices, whether required), its operands (words such as `USER` that are not
 * options), a summary, one example and what its exit codes mean; {@link parseOptions} turns the
 * arguments after the command's name into typed values with node:util `parseArgs` in strict mode,
 * and the same declaration renders the command's `--help`.
 */
import { parseArgs } from 'node:util';
import { McpIamError } from '@mcp-iam/core';
import type { TokenCommandError } from './token/obtain.js';
import type { ExitCode } from './exit-codes.js';
import type { CliIo } from './io.js';

/** One option of a command, `--name` on the command line. */
export interface OptionSpec {
  /** `string` takes a value (`--port 4000`); `boolean` is a flag (`--follow`). */
  readonly type: 'string' | 'boolean';
  /** One-letter alias (`n` for `-n`). */
  readonly short?: string;
  /** Placeholder of the value in the help text, such as `FILE`. Default `VALUE`. */
  readonly value?: string;
  /** What the option does, one line of the help text. */
  readonly description: string;
  /** Value when the option is not given; shown in the help text. */
  readonly default?: string;
  /** The command does not run without it. */
  readonly required?: boolean;
  /** The only values accepted. */
  readonly choices?: readonly string[];
}

/** `--config FILE` of the commands that read a gateway configuration (`gateway`, `check`). */
export const GATEWAY_CONFIG_OPTION = {
  type: 'string',
  short: 'c',
  value: 'FILE',
  description: 'gateway configuration file',
  required: true,
} as const satisfies OptionSpec;

/** The options of a command, by long name (without the leading `--`). */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** One operand of a command: a word that is not an option, such as `USER` in `totp USER`. */
export interface OperandSpec {
  /** Its placeholder in the usage line and the help text, such as `USER`. */
  readonly name: string;
  /** What it names, one line of the help text. */
  readonly description: string;
}

/**
 * Parsed values: a flag is a boolean; a value option with a default or marked required is a
 * string; any other value option is a string or undefined.
 */
export type OptionValues<O extends OptionSpecs> = {
  readonly [K in keyof O]: O[K]['type'] extends 'boolean'
    ? boolean
    : O[K] extends { readonly default: string } | { readonly required: true }
      ? string
      : string | undefined;
};

/** What the exit codes of a command mean; 0 and 1 are always there, 2 (usage) is implied. */
export interface ExitCodeMeanings {
  /** Exit code 0. */
  readonly ok: string;
  /** Exit code 1. */
  readonly failure: string;
  /** Exit code 78, for commands that read a configuration file. */
  readonly configuration?: string;
}

/** A command that runs: `mcp-iam check`, `mcp-iam audit tail`. */
export interface Command<O extends OptionSpecs = OptionSpecs> {
  readonly kind: 'command';
  /** The words after `mcp-iam`, such as `audit tail`. */
  readonly name: string;
  /** One line: what the command does. */
  readonly summary: string;
  /** Further paragraphs of the help text. */
  readonly details?: string;
  readonly options: O;
  /** Operands, all required, in the order they follow the command's name. */
  readonly operands?: readonly OperandSpec[];
  /**
   * Subcommands, named by one more word (`dev-idp totp` under `dev-idp`). The command runs on its
   * own when only options follow its name.
   */
  readonly commands?: readonly Command[];
  /** One complete command line, starting with `mcp-iam`. */
  readonly example: string;
  readonly exitCodes: ExitCodeMeanings;
  /**
   * Runs the command with parsed values and its operands (in declared order) and resolves with
   * the exit code. Throws {@link UsageError} for bad values, {@link ConfigurationError} for a bad
   * configuration file, anything else for a failure.
   */
  run(values: OptionValues<O>, io: CliIo, operands: readonly string[]): Promise<ExitCode>;
}

/** A command made of subcommands: `mcp-iam` itself, `mcp-iam audit`. */
export interface CommandGroup {
  readonly kind: 'group';
  /** The words after `mcp-iam` (empty for `mcp-iam` itself). */
  readonly name: string;
  readonly summary: string;
  readonly commands: readonly (Command | CommandGroup)[];
  readonly example: string;
}

/**
 * Declares a command, keeping the literal types of its options so `run` receives typed values.
 *
 * @example
 * ```ts
 * const hello = defineCommand({
 *   kind: 'command', name: 'hello', summary: 'greets', example: 'mcp-iam hello --name ada',
 *   exitCodes: { ok: 'greeted', failure: 'never' },
 *   options: { name: { type: 'string', value: 'NAME', description: 'who', default: 'world' } },
 *   async run(values, io) { io.stdout(`hello ${values.name}\n`); return 0; },
 * });
 * ```
 */
export function defineCommand<const O extends OptionSpecs>(command: Command<O>): Command<O> {
  return command;
}

/** Bad command-line input: an unknown option, a missing or malformed value. Exit code 2. */
export class UsageError extends McpIamError<'usage'> {
  constructor(message: string) {
    super('usage', message);
  }
}

/**
 * A configuration file that fails to load or validate. Exit code 78. The message names the file,
 * and the line and key where known.
 */
export class ConfigurationError extends McpIamError<'configuration'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('configuration', message, options);
  }
}

/** Every error class @mcp-iam/cli throws, as one union; each extends core's `McpIamError`. */
export type CliErrors = UsageError | ConfigurationError | TokenCommandError;

/** Result of {@link parseOptions}: `--help` was asked for, or the values and operands to run with. */
export type ParsedOptions<O extends OptionSpecs> =
  | { readonly help: true }
  | {
      readonly help: false;
      readonly values: OptionValues<O>;
      readonly operands: readonly string[];
    };

/** `--name`, or `--name VALUE` for options that take one. */
export function optionLabel(name: string, spec: OptionSpec): string {
  return spec.type === 'string' ? `--${name} ${spec.value ?? 'VALUE'}` : `--${name}`;
}

/**
 * Parses the arguments after the command's name. `--help`/`-h` wins over everything but a
 * malformed command line. Throws {@link UsageError} naming the bad input.
 *
 * @example
 * ```ts
 * const parsed = parseOptions(checkCommand, ['--config', 'gateway.yaml']);
 * if (!parsed.help) parsed.values.config; // 'gateway.yaml'
 * ```
 */
export function parseOptions<O extends OptionSpecs>(
  command: Pick<Command<O>, 'options' | 'operands'>,
  argv: readonly string[],
): ParsedOptions<O> {
  const operandSpecs = command.operands ?? [];
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(command.options)) {
    config[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  let given: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values: given, positionals } = parseArgs({
      args: [...argv],
      options: config,
      strict: true,
      allowPositionals: operandSpecs.length > 0,
    }));
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  if (given.help === true) return { help: true };

  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(command.options)) {
    const value = given[name];
    if (spec.type === 'boolean') {
      values[name] = value === true;
      continue;
    }
    const text = typeof value === 'string' ? value : spec.default;
    if (text === undefined && spec.required) {
      throw new UsageError(`${optionLabel(name, spec)} is required`);
    }
    if (text !== undefined && spec.choices && !spec.choices.includes(text)) {
      const accepted =
        spec.choices.length === 2 ? spec.choices.join(' or ') : `one of ${spec.choices.join(', ')}`;
      throw new UsageError(`--${name} must be ${accepted}, not ${JSON.stringify(text)}`);
    }
    values[name] = text;
  }
  const missing = operandSpecs[positionals.length];
  if (missing !== undefined) throw new UsageError(`${missing.name} is required`);
  const extra = positionals[operandSpecs.length];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`);
  return { help: false, values: values as OptionValues<O>, operands: positionals };
}

/** node:util parseArgs's error, reworded to name the bad input in one short sentence. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | undefined)?.code;
  const quoted = /'([^']+)'/.exec(message)?.[1];
  if (quoted !== undefined) {
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${quoted}`;
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      return `unexpected argument ${JSON.stringify(quoted)}`;
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const option = /--[\w-]+/.exec(quoted)?.[0] ?? quoted;
      if (/argument missing/.test(message)) return `${option} needs a value`;
      if (/does not take an argument/.test(message)) return `${option} takes no value`;
      if (/ambiguous/.test(message)) {
        return `${option} needs a value (write ${option}=VALUE for a value starting with "-")`;
      }
    }
  }
  return message.split('. ')[0] ?? message;
}

/**
 * An integer option's value, checked against a range.
 *
 * @example
 * ```ts
 * const port = integerOption(values.port, '--port', { min: 0, max: 65535 });
 * ```
 */
export function integerOption(
  text: string,
  name: string,
  range: { readonly min: number; readonly max?: number },
): number {
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < range.min || value > max) {
    const bounds =
      range.max === undefined ? `of at least ${range.min}` : `from ${range.min} to ${max}`;
    throw new UsageError(`${name} must be an integer ${bounds}, not ${JSON.stringify(text)}`);
  }
  return value;
}
