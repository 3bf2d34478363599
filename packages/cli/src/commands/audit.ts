/**
 * `mcp-iam audit tail|query`: reads the audit trail from a spool, a SQLite file or PostgreSQL.
 * The options are parsed here; what the commands do is @mcp-iam/audit's `tailAudit` and
 * `queryAudit`.
 */
import type { AuditOutputFormat, AuditQuery, AuditSource } from '@mcp-iam/audit';
import { defineCommand, integerOption, UsageError, type CommandGroup } from '../command.js';
import { EXIT_CODES } from '../exit-codes.js';

/** The spool read by default: @mcp-iam/audit's DEFAULT_SPOOL_DIR, without loading the package. */
export const DEFAULT_SPOOL_DIR = './data/audit';

const formatOption = {
  type: 'string',
  value: 'FORMAT',
  description: 'an aligned table, or one JSON record per line',
  choices: ['table', 'json'],
  default: 'table',
} as const;

/** An AuditError's message with its code, which scripts and issue reports can quote. */
async function withAuditCode<T>(work: () => Promise<T>): Promise<T> {
  const { AuditError } = await import('@mcp-iam/audit');
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof AuditError)) throw error;
    throw new Error(`${error.message} (${error.code})`, { cause: error.cause });
  }
}

/** The `audit tail` command. */
export const auditTailCommand = defineCommand({
  kind: 'command',
  name: 'audit tail',
  summary: 'Prints the newest records of a spool; with --follow, new ones as they are written.',
  options: {
    spool: {
      type: 'string',
      value: 'DIR',
      description: 'spool directory',
      default: DEFAULT_SPOOL_DIR,
    },
    lines: {
      type: 'string',
      short: 'n',
      value: 'N',
      description: 'records to print',
      default: '10',
    },
    follow: {
      type: 'boolean',
      short: 'f',
      description: 'keep printing records as they are appended, until Ctrl-C',
    },
    format: formatOption,
    interval: {
      type: 'string',
      value: 'MS',
      description: 'how often --follow looks for new records',
      default: '500',
    },
  },
  example: 'mcp-iam audit tail --spool ./data/audit --lines 20 --follow',
  exitCodes: {
    ok: 'the records were printed (with --follow: stopped by Ctrl-C)',
    failure: 'the spool does not exist or cannot be read',
  },
  async run(values, io) {
    const lines = integerOption(values.lines, '--lines', { min: 1 });
    const intervalMs = integerOption(values.interval, '--interval', { min: 1 });
    const { tailAudit } = await import('@mcp-iam/audit');
    const stop = values.follow ? io.stopSignal() : undefined;
    try {
      await withAuditCode(() =>
        tailAudit(
          {
            spool: values.spool,
            lines,
            follow: values.follow,
            format: values.format as AuditOutputFormat,
            intervalMs,
          },
          { stdout: io.stdout, ...(stop ? { signal: stop.signal } : {}) },
        ),
      );
    } finally {
      stop?.dispose();
    }
    return EXIT_CODES.ok;
  },
});

/** The `audit query` command. */
export const auditQueryCommand = defineCommand({
  kind: 'command',
  name: 'audit query',
  summary: 'Prints the records that match filters, from a spool, a SQLite file or PostgreSQL.',
  details:
    'Give at most one of --spool, --sqlite, --postgres; without any, the spool in ./data/audit is ' +
    'read. --since and --until take a duration before now (90s, 15m, 1h, 7d, 2w) or an ISO-8601 ' +
    'time.',
  options: {
    spool: { type: 'string', value: 'DIR', description: 'read a spool directory' },
    sqlite: { type: 'string', value: 'FILE', description: 'read a SQLite store file' },
    postgres: { type: 'string', value: 'URL', description: 'read a PostgreSQL store' },
    schema: {
      type: 'string',
      value: 'NAME',
      description: 'schema of the PostgreSQL store',
      default: 'public',
    },
    since: { type: 'string', value: 'TIME', description: 'records at or after TIME' },
    until: { type: 'string', value: 'TIME', description: 'records before TIME' },
    subject: { type: 'string', value: 'S', description: 'records of this subject' },
    client: { type: 'string', value: 'C', description: 'records of this client id' },
    actor: { type: 'string', value: 'A', description: 'records with A in the actor chain' },
    tool: { type: 'string', value: 'T', description: 'records of this tool' },
    outcome: {
      type: 'string',
      value: 'OUTCOME',
      description: 'records with this outcome',
      choices: ['allow', 'deny', 'error'],
    },
    route: { type: 'string', value: 'R', description: 'records of this gateway route' },
    reason: { type: 'string', value: 'CODE', description: 'records with this reason code' },
    limit: { type: 'string', value: 'N', description: 'at most N records', default: '100' },
    order: {
      type: 'string',
      value: 'ORDER',
      description: 'desc: newest first; asc: oldest first',
      choices: ['desc', 'asc'],
      default: 'desc',
    },
    format: formatOption,
  },
  example: 'mcp-iam audit query --spool ./data/audit --outcome deny --since 1h --format json',
  exitCodes: {
    ok: 'the matching records were printed (possibly none)',
    failure: 'the spool does not exist, or the store cannot be opened or queried',
  },
  async run(values, io) {
    const { parseQueryTime, queryAudit } = await import('@mcp-iam/audit');
    const sources: AuditSource[] = [];
    if (values.spool !== undefined) sources.push({ spool: values.spool });
    if (values.sqlite !== undefined) sources.push({ sqlite: values.sqlite });
    if (values.postgres !== undefined) {
      sources.push({ postgres: values.postgres, schema: values.schema });
    }
    if (sources.length > 1) throw new UsageError('give one of --spool, --sqlite, --postgres');
    const now = new Date();
    const time = (text: string | undefined, name: string): Date | undefined => {
      if (text === undefined) return undefined;
      try {
        return parseQueryTime(text, now);
      } catch {
        throw new UsageError(
          `${name} must be a duration (15m, 1h, 7d) or an ISO-8601 time, not ${JSON.stringify(text)}`,
        );
      }
    };
    const filter: AuditQuery = {
      since: time(values.since, '--since'),
      until: time(values.until, '--until'),
      subject: values.subject,
      clientId: values.client,
      actor: values.actor,
      tool: values.tool,
      outcome: values.outcome as AuditQuery['outcome'],
      route: values.route,
      reason: values.reason,
      limit: integerOption(values.limit, '--limit', { min: 1 }),
      order: values.order as AuditQuery['order'],
    };
    await withAuditCode(() =>
      queryAudit(
        {
          source: sources[0] ?? { spool: DEFAULT_SPOOL_DIR },
          filter,
          format: values.format as AuditOutputFormat,
        },
        { stdout: io.stdout },
      ),
    );
    return EXIT_CODES.ok;
  },
});

/** The `audit` command group. */
export const auditGroup: CommandGroup = {
  kind: 'group',
  name: 'audit',
  summary: 'Reads the audit trail: one record per request the gateway or a server answered.',
  commands: [auditTailCommand, auditQueryCommand],
  example: 'mcp-iam audit query --spool ./data/audit --outcome deny --since 1h',
};
