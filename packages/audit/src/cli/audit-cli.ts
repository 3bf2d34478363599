/**
 * What the `mcp-iam audit` commands do, given parsed options (the `mcp-iam` CLI in @mcp-iam/cli
 * parses the command line): `tail` prints the recent records of a spool and, when following it,
 * records as they are appended; `query` prints the records matching a filter from a spool, a SQLite
 * file or PostgreSQL. Output is an aligned table or JSON lines, escaped for the terminal.
 */
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditRecord } from '@mcp-iam/core';
import { AuditError } from '../errors.js';
import { querySpool, type AuditQuery } from '../query.js';
import { readSpool } from '../spool/reader.js';
import type { SpoolPosition } from '../spool/segments.js';
import { PostgresAuditStore } from '../store/postgres.js';
import { SqliteAuditStore } from '../store/sqlite.js';
import type { AuditStore } from '../store/store.js';
import { formatJsonLine, formatTable } from './format.js';

/** Where the commands write, and how `tail --follow` is stopped. Defaults: the process's own. */
export interface AuditCliIo {
  readonly stdout?: (text: string) => void;
  /** Ends `tail --follow`. Default: SIGINT or SIGTERM. */
  readonly signal?: AbortSignal;
}

/** Default spool directory (the gateway's default `audit.path`). */
export const DEFAULT_SPOOL_DIR = './data/audit';

/** How records are printed: an aligned table with a header, or one JSON object per line. */
export type AuditOutputFormat = 'table' | 'json';

/** Options of {@link tailAudit}. */
export interface AuditTailOptions {
  /** Spool directory. Default {@link DEFAULT_SPOOL_DIR}. */
  readonly spool?: string;
  /** How many of the newest records to print first. Default 10. */
  readonly lines?: number;
  /** Keep printing records as they are appended, until stopped. Default false. */
  readonly follow?: boolean;
  /** Default `table`. */
  readonly format?: AuditOutputFormat;
  /** How often `follow` looks for new records, in ms. Default 500. */
  readonly intervalMs?: number;
}

/** Where {@link queryAudit} reads: a spool directory, a SQLite file or a PostgreSQL database. */
export type AuditSource =
  | { readonly spool: string }
  | { readonly sqlite: string }
  | { readonly postgres: string; readonly schema?: string };

/** Options of {@link queryAudit}. */
export interface AuditQueryOptions {
  /** Default: the spool in {@link DEFAULT_SPOOL_DIR}. */
  readonly source?: AuditSource;
  readonly filter?: AuditQuery;
  /** Default `table`. */
  readonly format?: AuditOutputFormat;
}

function print(records: readonly AuditRecord[], style: AuditOutputFormat, header: boolean): string {
  if (style === 'json') return records.map((r) => `${formatJsonLine(r)}\n`).join('');
  const table = formatTable(records);
  return header ? table : table.slice(table.indexOf('\n') + 1);
}

/**
 * Fails with `spool_not_found` unless `dir` is an existing directory: reading a spool that is not
 * there yields no records, which would print as an empty trail instead of the mistake it is.
 */
async function assertSpoolDirectory(dir: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dir)).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    throw new AuditError('spool_not_found', `no audit spool at ${dir}: it does not exist`);
  }
  if (!isDirectory) {
    throw new AuditError('spool_not_found', `no audit spool at ${dir}: it is not a directory`);
  }
}

/**
 * Prints the newest records of a spool; with `follow`, then prints records as they become complete
 * on disk until `io.signal` (or SIGINT/SIGTERM) ends it. Rejects with `spool_not_found` when the
 * spool directory does not exist.
 *
 * @example
 * ```ts
 * await tailAudit({ spool: './data/audit', lines: 20, format: 'json' });
 * ```
 */
export async function tailAudit(
  options: AuditTailOptions = {},
  io: AuditCliIo = {},
): Promise<void> {
  const out = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const dir = options.spool ?? DEFAULT_SPOOL_DIR;
  const lines = options.lines ?? 10;
  const style = options.format ?? 'table';
  await assertSpoolDirectory(dir);
  let last: AuditRecord[] = [];
  let position: SpoolPosition | undefined;
  for await (const entry of readSpool(dir)) {
    last.push(entry.record);
    if (last.length > lines * 2) last = last.slice(-lines);
    position = entry.next;
  }
  last = last.slice(-lines);
  out(print(last, style, true));
  if (!options.follow) return;

  const { signal, dispose } = stopSignal(io.signal);
  try {
    while (!signal.aborted) {
      const fresh: AuditRecord[] = [];
      for await (const entry of readSpool(dir, { from: position })) {
        fresh.push(entry.record);
        position = entry.next;
      }
      if (fresh.length > 0) out(print(fresh, style, false));
      await sleep(options.intervalMs ?? 500, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    dispose();
  }
}

function stopSignal(given: AbortSignal | undefined): { signal: AbortSignal; dispose: () => void } {
  if (given !== undefined) return { signal: given, dispose: () => undefined };
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/**
 * Prints the records matching `options.filter` (newest first unless `order: 'asc'`, at most
 * `limit`, default 100). A spool source that does not exist rejects with `spool_not_found`; a store
 * that cannot be opened or queried with `store_failed`.
 *
 * @example
 * ```ts
 * await queryAudit({ source: { sqlite: 'audit.db' }, filter: { outcome: 'deny' }, format: 'json' });
 * ```
 */
export async function queryAudit(
  options: AuditQueryOptions = {},
  io: AuditCliIo = {},
): Promise<void> {
  const out = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const source = options.source ?? { spool: DEFAULT_SPOOL_DIR };
  const filter = options.filter ?? {};
  let records: AuditRecord[];
  if ('spool' in source) {
    await assertSpoolDirectory(source.spool);
    records = await querySpool(source.spool, filter);
  } else {
    const store: AuditStore =
      'sqlite' in source
        ? SqliteAuditStore.open({ path: source.sqlite, readonly: true })
        : await PostgresAuditStore.open({
            connectionString: source.postgres,
            schema: source.schema,
            migrate: false,
            maxConnections: 1,
          });
    try {
      records = await store.query(filter);
    } finally {
      await store.close();
    }
  }
  out(print(records, options.format ?? 'table', true));
}
