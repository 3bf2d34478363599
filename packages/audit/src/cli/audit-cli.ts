/**
 * The `mcp-iam audit` command: `tail` (recent records of a spool, optionally following it) and
 * `query` (filtered records from a spool, a SQLite file or PostgreSQL), as a table or JSON lines.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditOutcome, AuditRecord } from '@mcp-iam/core';
import { AuditError } from '../errors.js';
import { parseQueryTime, querySpool, type AuditQuery } from '../query.js';
import { readSpool } from '../spool/reader.js';
import type { SpoolPosition } from '../spool/segments.js';
import { PostgresAuditStore } from '../store/postgres.js';
import { SqliteAuditStore } from '../store/sqlite.js';
import type { AuditStore } from '../store/store.js';
import { formatJsonLine, formatTable } from './format.js';

/** Where the command writes, and how a test stops `tail --follow`. Defaults: the process's own. */
export interface AuditCliIo {
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  /** Ends `tail --follow`. Default: SIGINT or SIGTERM. */
  readonly signal?: AbortSignal;
  /** Reference time for relative `--since`/`--until`. Default: now. */
  readonly now?: Date;
}

/** Default spool directory (the gateway's default `audit.path`). */
export const DEFAULT_SPOOL_DIR = './data/audit';

const USAGE = `usage:
  mcp-iam audit tail  [--spool DIR] [--lines N] [--follow] [--format table|json]
  mcp-iam audit query [--spool DIR | --sqlite FILE | --postgres URL [--schema NAME]]
                      [--since 1h|ISO] [--until 1h|ISO] [--subject S] [--client C] [--actor A]
                      [--tool T] [--outcome allow|deny|error] [--route R] [--reason CODE]
                      [--limit N] [--order desc|asc] [--format table|json]
`;

class UsageError extends AuditError {
  constructor(message: string) {
    super('invalid_argument', message);
  }
}

/**
 * Runs `mcp-iam audit …`. `argv` holds the arguments after `audit` (a leading `audit` is skipped).
 * Resolves with the exit code: 0 success, 1 failure (unreadable spool, store down), 2 bad usage.
 *
 * @example
 * ```ts
 * process.exitCode = await runAuditCli(['query', '--spool', './data/audit', '--outcome', 'deny']);
 * ```
 */
export async function runAuditCli(argv: string[], io: AuditCliIo = {}): Promise<number> {
  const out = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => void process.stderr.write(text));
  const args = argv[0] === 'audit' ? argv.slice(1) : argv;
  const [command, ...rest] = args;
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      (command === undefined ? err : out)(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === 'tail') return await tail(rest, out, io);
    if (command === 'query') return await query(rest, out, io);
    throw new UsageError(`unknown audit command ${JSON.stringify(command)}`);
  } catch (error) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      err(`mcp-iam audit: ${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    const code = error instanceof AuditError ? ` (${error.code})` : '';
    const cause =
      error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    err(`mcp-iam audit: ${(error as Error).message}${code}${cause}\n`);
    return 1;
  }
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

function format(value: string | undefined): 'table' | 'json' {
  if (value === undefined || value === 'table' || value === 'json') return value ?? 'table';
  throw new UsageError('--format must be table or json');
}

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${name} must be a positive integer`);
  return n;
}

function print(records: readonly AuditRecord[], style: 'table' | 'json', header: boolean): string {
  if (style === 'json') return records.map((r) => `${formatJsonLine(r)}\n`).join('');
  const table = formatTable(records);
  return header ? table : table.slice(table.indexOf('\n') + 1);
}

async function tail(argv: string[], out: (text: string) => void, io: AuditCliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      spool: { type: 'string', default: DEFAULT_SPOOL_DIR },
      lines: { type: 'string', short: 'n' },
      follow: { type: 'boolean', short: 'f', default: false },
      format: { type: 'string' },
      interval: { type: 'string' },
    },
  });
  const style = format(values.format);
  const lines = positiveInt(values.lines, '--lines', 10);
  const intervalMs = positiveInt(values.interval, '--interval', 500);
  const dir = values.spool;
  let last: AuditRecord[] = [];
  let position: SpoolPosition | undefined;
  for await (const entry of readSpool(dir)) {
    last.push(entry.record);
    if (last.length > lines * 2) last = last.slice(-lines);
    position = entry.next;
  }
  last = last.slice(-lines);
  out(print(last, style, true));
  if (!values.follow) return 0;

  const { signal, dispose } = stopSignal(io.signal);
  try {
    while (!signal.aborted) {
      const fresh: AuditRecord[] = [];
      for await (const entry of readSpool(dir, { from: position })) {
        fresh.push(entry.record);
        position = entry.next;
      }
      if (fresh.length > 0) out(print(fresh, style, false));
      await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    dispose();
  }
  return 0;
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

async function query(argv: string[], out: (text: string) => void, io: AuditCliIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      spool: { type: 'string' },
      sqlite: { type: 'string' },
      postgres: { type: 'string' },
      schema: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      subject: { type: 'string' },
      client: { type: 'string' },
      actor: { type: 'string' },
      tool: { type: 'string' },
      outcome: { type: 'string' },
      route: { type: 'string' },
      reason: { type: 'string' },
      limit: { type: 'string' },
      order: { type: 'string' },
      format: { type: 'string' },
    },
  });
  const sources = [values.spool, values.sqlite, values.postgres].filter((v) => v !== undefined);
  if (sources.length > 1) throw new UsageError('give one of --spool, --sqlite, --postgres');
  if (values.outcome !== undefined && !['allow', 'deny', 'error'].includes(values.outcome)) {
    throw new UsageError('--outcome must be allow, deny or error');
  }
  if (values.order !== undefined && values.order !== 'asc' && values.order !== 'desc') {
    throw new UsageError('--order must be asc or desc');
  }
  const style = format(values.format);
  const now = io.now ?? new Date();
  const time = (text: string | undefined, name: string): Date | undefined => {
    if (text === undefined) return undefined;
    try {
      return parseQueryTime(text, now);
    } catch {
      throw new UsageError(`${name} must be a duration (15m, 1h, 7d) or an ISO-8601 time`);
    }
  };
  const filter: AuditQuery = {
    since: time(values.since, '--since'),
    until: time(values.until, '--until'),
    subject: values.subject,
    clientId: values.client,
    actor: values.actor,
    tool: values.tool,
    outcome: values.outcome as AuditOutcome | undefined,
    route: values.route,
    reason: values.reason,
    limit: positiveInt(values.limit, '--limit', 100),
    order: values.order as 'asc' | 'desc' | undefined,
  };

  let records: AuditRecord[];
  if (values.sqlite === undefined && values.postgres === undefined) {
    records = await querySpool(values.spool ?? DEFAULT_SPOOL_DIR, filter);
  } else {
    const store: AuditStore =
      values.sqlite !== undefined
        ? SqliteAuditStore.open({ path: values.sqlite, readonly: true })
        : await PostgresAuditStore.open({
            connectionString: values.postgres,
            schema: values.schema,
            migrate: false,
            maxConnections: 1,
          });
    try {
      records = await store.query(filter);
    } finally {
      await store.close();
    }
  }
  out(print(records, style, true));
  return 0;
}
