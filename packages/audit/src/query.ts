/**
 * Audit queries: one filter type shared by the SQLite, PostgreSQL and spool back ends, the in-memory
 * matcher the spool uses, and the parsing of relative times (`1h`) used by the CLI.
 */
import type { AuditOutcome, AuditRecord } from '@mcp-iam/core';
import { AuditError } from './errors.js';
import { readSpool } from './spool/reader.js';

/** Default and maximum number of records a query returns. */
export const QUERY_DEFAULT_LIMIT = 100;
export const QUERY_MAX_LIMIT = 100_000;

/**
 * A query over audit records. Every given field must match (AND); strings match exactly.
 *
 * @example
 * ```ts
 * const q: AuditQuery = { subject: 'alice', outcome: 'deny', since: new Date(Date.now() - 3600_000) };
 * ```
 */
export interface AuditQuery {
  /** Records at or after this time. */
  readonly since?: Date;
  /** Records strictly before this time. */
  readonly until?: Date;
  readonly subject?: string;
  readonly clientId?: string;
  /** Matches any member of the record's actor chain. */
  readonly actor?: string;
  readonly tool?: string;
  readonly outcome?: AuditOutcome;
  readonly route?: string;
  readonly reason?: string;
  /** Most records returned. Default {@link QUERY_DEFAULT_LIMIT}, at most {@link QUERY_MAX_LIMIT}. */
  readonly limit?: number;
  /** `desc` (default): newest first; `asc`: oldest first. The limit applies after ordering. */
  readonly order?: 'asc' | 'desc';
}

/** Clamps the query's limit to [1, QUERY_MAX_LIMIT], defaulting to QUERY_DEFAULT_LIMIT. */
export function queryLimit(query: AuditQuery): number {
  const limit = query.limit ?? QUERY_DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new AuditError('invalid_argument', 'query limit must be a positive integer');
  }
  return Math.min(limit, QUERY_MAX_LIMIT);
}

/**
 * Whether `record` satisfies every condition of `query` (limit and order aside).
 *
 * @example
 * ```ts
 * records.filter((r) => matchesAuditQuery(r, { outcome: 'deny' }));
 * ```
 */
export function matchesAuditQuery(record: AuditRecord, query: AuditQuery): boolean {
  if (query.since !== undefined || query.until !== undefined) {
    const t = Date.parse(record.time);
    if (query.since !== undefined && !(t >= query.since.getTime())) return false;
    if (query.until !== undefined && !(t < query.until.getTime())) return false;
  }
  if (query.subject !== undefined && record.subject !== query.subject) return false;
  if (query.clientId !== undefined && record.clientId !== query.clientId) return false;
  if (query.tool !== undefined && record.tool !== query.tool) return false;
  if (query.outcome !== undefined && record.outcome !== query.outcome) return false;
  if (query.route !== undefined && record.route !== query.route) return false;
  if (query.reason !== undefined && record.reason !== query.reason) return false;
  if (query.actor !== undefined && !(record.actorChain ?? []).includes(query.actor)) return false;
  return true;
}

/** Orders records by time (then id) as the query asks. */
export function compareAuditRecords(
  order: 'asc' | 'desc',
): (a: AuditRecord, b: AuditRecord) => number {
  const sign = order === 'asc' ? 1 : -1;
  return (a, b) => {
    const d = Date.parse(a.time) - Date.parse(b.time);
    if (d !== 0) return sign * d;
    return sign * (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  };
}

/**
 * Runs `query` directly over the spool in `dir` (a full scan: for an operator's look at recent
 * records; ship to a store for large histories).
 *
 * @example
 * ```ts
 * const denies = await querySpool('./data/audit', { outcome: 'deny', limit: 20 });
 * ```
 */
export async function querySpool(dir: string, query: AuditQuery = {}): Promise<AuditRecord[]> {
  const limit = queryLimit(query);
  const compare = compareAuditRecords(query.order ?? 'desc');
  let kept: AuditRecord[] = [];
  for await (const { record } of readSpool(dir)) {
    if (!matchesAuditQuery(record, query)) continue;
    kept.push(record);
    if (kept.length >= limit * 2 + 1000) kept = kept.sort(compare).slice(0, limit);
  }
  return kept.sort(compare).slice(0, limit);
}

const RELATIVE = /^(\d+)(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a CLI time: a duration before `now` (`90s`, `15m`, `1h`, `7d`, `2w`) or an ISO-8601 date.
 *
 * @example
 * ```ts
 * parseQueryTime('1h'); // one hour ago
 * parseQueryTime('2026-01-01T00:00:00Z');
 * ```
 */
export function parseQueryTime(text: string, now: Date = new Date()): Date {
  const match = RELATIVE.exec(text.trim());
  if (match?.[1] !== undefined && match[2] !== undefined) {
    return new Date(now.getTime() - Number(match[1]) * (UNIT_MS[match[2]] ?? 0));
  }
  const t = Date.parse(text);
  if (Number.isNaN(t)) {
    throw new AuditError('invalid_argument', `not a time or duration: ${JSON.stringify(text)}`);
  }
  return new Date(t);
}
