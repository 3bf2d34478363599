/**
 * Mapping between records and table rows, shared by the SQL stores: indexed columns for filtering,
 * plus the whole record as JSON so a query returns exactly what was written.
 */
import type { AuditRecord } from '@mcp-iam/core';

/** Table columns in insert order. */
export const RECORD_COLUMNS = [
  'id',
  'time',
  'request_id',
  'route',
  'outcome',
  'reason',
  'issuer',
  'subject',
  'client_id',
  'actor',
  'actor_chain',
  'acr',
  'method',
  'tool',
  'resource',
  'prompt',
  'status',
  'upstream_status',
  'duration_ms',
  'token_fingerprint',
  'record',
] as const;

/** A row value as bound to a statement. */
export type ColumnValue = string | number | null | readonly string[];

/**
 * Column values of a record, in {@link RECORD_COLUMNS} order. `time` is epoch ms for SQLite and ISO
 * text for PostgreSQL; `actor_chain` is JSON text for SQLite and a text array for PostgreSQL.
 */
export function recordColumns(record: AuditRecord, dialect: 'sqlite' | 'postgres'): ColumnValue[] {
  // Records reach stores through the validating sink; the fallbacks below only keep a record
  // written around it (straight to the spool) from blocking the shipper forever.
  const chain = Array.isArray(record.actorChain) ? record.actorChain : [];
  const parsed = Date.parse(record.time);
  const time = new Date(Number.isNaN(parsed) ? 0 : parsed);
  return [
    record.id,
    dialect === 'sqlite' ? time.getTime() : time.toISOString(),
    text(record.requestId) ?? '',
    text(record.route),
    record.outcome ?? 'error',
    record.reason ?? 'internal_error',
    text(record.issuer),
    text(record.subject),
    text(record.clientId),
    text(chain[0]),
    dialect === 'sqlite' ? JSON.stringify(chain) : chain.map((actor) => text(actor) ?? ''),
    text(record.acr),
    text(record.method),
    text(record.tool),
    text(record.resource),
    text(record.prompt),
    record.status ?? null,
    record.upstreamStatus ?? null,
    Number.isFinite(record.durationMs) ? record.durationMs : 0,
    text(record.tokenFingerprint),
    JSON.stringify(record),
  ];
}

// PostgreSQL text cannot hold NUL; the sink escapes it already, this covers records written around it.
function text(value: string | undefined): string | null {
  return typeof value === 'string' ? value.replaceAll('\u0000', '\\u0000') : null;
}
