/**
 * Display of records on a terminal. Records may hold attacker-controlled strings; they were escaped
 * when created, but display escapes again (control, bidirectional and invisible characters) so that
 * nothing a caller sent can move the cursor, recolour the screen or reorder text.
 */
import type { AuditRecord } from '@mcp-iam/core';

// C0, DEL, C1, zero-width and bidi controls, line and paragraph separators, BOM.
const UNSAFE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

function hex(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * Escapes every character that could act on a terminal as `\uXXXX` and caps the length.
 *
 * @example
 * ```ts
 * escapeForTerminal('\u001b[2J'); // '\\u001b[2J'
 * ```
 */
export function escapeForTerminal(value: unknown, max = 64): string {
  const text = value === undefined || value === null ? '' : String(value);
  const escaped = text.replace(UNSAFE, hex);
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}

/** One record as a JSON line, with the characters JSON leaves raw (C1, bidi, separators) escaped. */
export function formatJsonLine(record: AuditRecord): string {
  return JSON.stringify(record).replace(UNSAFE, hex);
}

const COLUMNS: readonly [string, (r: AuditRecord) => unknown][] = [
  ['TIME', (r) => r.time],
  ['OUTCOME', (r) => r.outcome],
  ['REASON', (r) => r.reason],
  ['SUBJECT', (r) => r.subject],
  ['CLIENT', (r) => r.clientId],
  ['ACTOR', (r) => r.actorChain?.join('>')],
  ['OPERATION', (r) => r.tool ?? r.resource ?? r.prompt ?? r.method],
  ['ROUTE', (r) => r.route],
  ['STATUS', (r) => r.status],
];

/**
 * Records as an aligned text table (header first), every cell escaped for the terminal.
 *
 * @example
 * ```ts
 * process.stdout.write(formatTable(records));
 * ```
 */
export function formatTable(records: readonly AuditRecord[]): string {
  const rows = [
    COLUMNS.map(([name]) => name),
    ...records.map((r) => COLUMNS.map(([, get]) => escapeForTerminal(get(r)))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}
