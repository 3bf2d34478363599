/**
 * Configuration errors. Every problem names the file, line, column and key path, so an operator can
 * jump straight to it: `gateway.yaml:14:7: routes[0].policy.tools.update_contact.max_age: expected a number`.
 */
import { McpIamError } from '@mcp-iam/core';

/** Stable codes of configuration failures. */
export type ConfigErrorCode =
  'config_unreadable' | 'config_syntax' | 'config_env_missing' | 'config_invalid';

/** One problem in a configuration file. */
export interface ConfigIssue {
  /** Stable code of this problem. */
  readonly code: ConfigErrorCode;
  /** File name as given to the loader. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  /** Key path such as `routes[0].policy.default`; empty for the whole document. */
  readonly path: string;
  /** What is wrong, for people. */
  readonly message: string;
}

/** Formats one issue as `file:line:col: path: message`. */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = [issue.file, issue.line, issue.column].filter((v) => v !== undefined).join(':');
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/**
 * The configuration could not be loaded. `code` is the code of the first issue; `issues` lists all of
 * them (the message shows every one, one per line).
 *
 * @example
 * ```ts
 * try { await loadConfigFile('gateway.yaml') } catch (e) {
 *   if (e instanceof ConfigError) for (const i of e.issues) console.error(formatConfigIssue(i));
 * }
 * ```
 */
export class ConfigError extends McpIamError<ConfigErrorCode> {
  /** Every problem found, in document order where known. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    // The code is the first issue's.
    super(issues[0]?.code ?? 'config_invalid', issues.map(formatConfigIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Renders a key path the way operators write it: `routes[0].policy.tools.update_contact`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      const plain = /^[A-Za-z0-9_\-/]+$/.test(key);
      const segment = plain ? key : JSON.stringify(key);
      out += out === '' ? segment : `.${segment}`;
    }
  }
  return out;
}
