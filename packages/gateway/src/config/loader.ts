/**
 * Loads the gateway's YAML configuration: parse with node positions, interpolate `${ENV}`, check the
 * schema and the cross-field rules, and report every problem with file, line, column and key path.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node as YamlNode,
  type Scalar,
} from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatKeyPath, type ConfigIssue } from './errors.js';
import { gatewayConfigSchema, type GatewayConfig } from './schema.js';
import { validateConfig, type ValidationProblem } from './validate.js';

/** Options of `loadConfig` and `loadConfigFile`. */
export interface LoadConfigOptions {
  /** Variables for `${NAME}` interpolation. Default: `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Name used in error messages. Default: the file's base name (`loadConfigFile`) or `config`. */
  readonly fileName?: string;
  /**
   * More cross-field rules, run after `validateConfig`'s, e.g. `verifierProblems` (core's rules for
   * the verifier built from the file). A problem under a key (`issuers[0]`, `client`) that a
   * `validateConfig` rule already reported is left out.
   */
  readonly rules?: readonly ((config: GatewayConfig) => ValidationProblem[])[];
}

/** A loaded, valid configuration and where it came from. */
export interface LoadedConfig {
  readonly config: GatewayConfig;
  /** File name used in messages. */
  readonly file: string;
}

// References are masked before parsing so that `{ secret: ${SECRET} }` stays a valid flow mapping:
// `{`/`}` of a reference become private-use characters of the same length (positions are kept).
const OPEN = '\uE000';
const CLOSE = '\uE001';
const TEXT_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*(?::-[^}\n]*)?)\}/g;
const ENV_REF = /\$\$|\$\uE000([A-Za-z_][A-Za-z0-9_]*)(?::-([^\uE001]*))?\uE001/g;
const WHOLE_ENV_REF = /^\$\uE000[A-Za-z_][A-Za-z0-9_]*(?::-[^\uE001]*)?\uE001$/;
const MASKS = /[\uE000\uE001]/g;
const HAS_MASK = /[\uE000\uE001]/;

/**
 * Reads and validates a configuration file.
 *
 * @throws ConfigError with code `config_unreadable`, `config_syntax`, `config_env_missing` or
 *   `config_invalid`.
 * @example
 * ```ts
 * const { config } = await loadConfigFile('gateway.yaml');
 * ```
 */
export async function loadConfigFile(
  path: string,
  options: LoadConfigOptions = {},
): Promise<LoadedConfig> {
  const file = options.fileName ?? basename(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError([
      { code: 'config_unreadable', file, path: '', message: `cannot read file (${reason})` },
    ]);
  }
  return loadConfig(text, { ...options, fileName: file });
}

/**
 * Validates configuration text (YAML; JSON is YAML too).
 *
 * `${NAME}` is replaced by the variable's value and `${NAME:-default}` by the default when the
 * variable is unset or empty; `$$` is a literal `$`. An unquoted value that is exactly one reference
 * is read as a number or boolean when the value looks like one (`port: ${PORT}`).
 *
 * @throws ConfigError listing every problem.
 */
export function loadConfig(text: string, options: LoadConfigOptions = {}): LoadedConfig {
  const file = options.fileName ?? 'config';
  const env = options.env ?? process.env;
  const lineCounter = new LineCounter();
  const masked = text.replace(TEXT_REF, `$${OPEN}$1${CLOSE}`);
  const doc = parseDocument(masked, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): { line?: number; column?: number } => {
    if (offset === undefined) return {};
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };

  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        code: 'config_syntax' as const,
        file,
        ...at(e.pos[0]),
        path: '',
        message: e.message.split('\n')[0] ?? 'invalid YAML',
      })),
    );
  }

  const envIssues = interpolate(doc, env, file, at);
  if (envIssues.length > 0) throw new ConfigError(envIssues);

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError([
      {
        code: 'config_syntax',
        file,
        path: '',
        message: (error as Error).message.split('\n')[0] ?? 'invalid YAML',
      },
    ]);
  }
  const parsed = gatewayConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      sortIssues(parsed.error.issues.flatMap((i) => schemaIssues(i, doc, raw, file, at))),
    );
  }
  const problems = validateConfig(parsed.data);
  const reported = new Set(problems.map((p) => formatKeyPath(p.path.slice(0, 2))));
  for (const rule of options.rules ?? []) {
    for (const problem of rule(parsed.data)) {
      if (!reported.has(formatKeyPath(problem.path.slice(0, 2)))) problems.push(problem);
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(
      sortIssues(
        problems.map((p) => ({
          code: 'config_invalid' as const,
          file,
          ...at(nodeAt(doc, p.path).node?.range?.[0]),
          path: formatKeyPath(p.path),
          message: p.message,
        })),
      ),
    );
  }
  return { config: parsed.data, file };
}

function interpolate(
  doc: Document,
  env: Readonly<Record<string, string | undefined>>,
  file: string,
  at: (offset: number | undefined) => { line?: number; column?: number },
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(doc, {
    Scalar(key, node: Scalar) {
      if (typeof node.value !== 'string' || !HAS_MASK.test(node.value)) return;
      const source = node.value;
      if (key === 'key') {
        node.value = source.replace(MASKS, (c) => (c === OPEN ? '{' : '}'));
        return;
      }
      const substituted = source.replace(ENV_REF, (match, name?: string, fallback?: string) => {
        if (match === '$$') return '$';
        const found = env[name as string];
        if (fallback !== undefined) return found === undefined || found === '' ? fallback : found;
        if (found === undefined) {
          issues.push({
            code: 'config_env_missing',
            file,
            ...at(node.range?.[0]),
            path: '',
            message: `environment variable ${name} is not set`,
          });
          return '';
        }
        return found;
      });
      const value = substituted.replace(MASKS, (c) => (c === OPEN ? '{' : '}'));
      node.value =
        node.type === 'PLAIN' && WHOLE_ENV_REF.test(source) ? coerceScalar(value) : value;
    },
  });
  return issues;
}

function coerceScalar(value: string): string | number | boolean {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (value === 'true') return true;
  if (value === 'false') return false;
  return value;
}

interface NodeLookup {
  /** Deepest node found on the path (the value node, or the parent when the key is missing). */
  readonly node: YamlNode | undefined;
  /** The key node of the last segment, when it exists. */
  readonly keyNode?: YamlNode;
  /** Whether the whole path exists. */
  readonly found: boolean;
}

function nodeAt(doc: Document, path: readonly PropertyKey[]): NodeLookup {
  let current: unknown = doc.contents;
  let keyNode: YamlNode | undefined;
  for (const segment of path) {
    if (isMap(current)) {
      const pair = current.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (!pair) return { node: current, found: false };
      keyNode = pair.key as YamlNode;
      current = pair.value ?? pair.key;
    } else if (isSeq(current) && typeof segment === 'number' && current.items[segment]) {
      keyNode = undefined;
      current = current.items[segment];
    } else {
      return { node: current as YamlNode | undefined, found: false };
    }
  }
  return { node: current as YamlNode | undefined, keyNode, found: true };
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let current = raw;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function describeType(expected: string): string {
  switch (expected) {
    case 'array':
    case 'object':
    case 'integer':
      return `an ${expected}`;
    case 'record':
      return 'a map';
    default:
      return `a ${expected}`;
  }
}

function schemaIssues(
  issue: z.core.$ZodIssue,
  doc: Document,
  raw: unknown,
  file: string,
  at: (offset: number | undefined) => { line?: number; column?: number },
): ConfigIssue[] {
  const base = { code: 'config_invalid' as const, file };
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const path = [...issue.path, key];
      const found = nodeAt(doc, path);
      return {
        ...base,
        ...at((found.keyNode ?? found.node)?.range?.[0]),
        path: formatKeyPath(path),
        message: 'unknown key',
      };
    });
  }
  const found = nodeAt(doc, issue.path);
  let message: string;
  if (issue.code === 'invalid_type') {
    message =
      valueAt(raw, issue.path) === undefined
        ? 'required key is missing'
        : `expected ${describeType(issue.expected)}`;
  } else if (issue.code === 'invalid_union') {
    message = 'value has an unexpected type';
  } else {
    message = issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
  }
  return [{ ...base, ...at(found.node?.range?.[0]), path: formatKeyPath(issue.path), message }];
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
