/**
 * The demo's audit trail: the records of the CRM, the insights server and the gateway merged by
 * time, and the table the walkthrough prints, with a legend for the rows a newcomer would not
 * expect (the SDK's event-stream probe, the `initialized` notification, one call recorded by both
 * the gateway and the CRM).
 */
import { escapeForTerminal, querySpool } from '@mcp-iam/audit';
import type { AuditRecord } from '@mcp-iam/core';
import type { Stack } from './stack.js';

/** Every record of the stack's spools, oldest first; the gateway's routes as `gateway/<route>`. */
export async function stackAuditRecords(stack: Stack): Promise<AuditRecord[]> {
  const all: AuditRecord[] = [];
  for (const dir of [stack.auditDirs.crm, stack.auditDirs.insights]) {
    all.push(...(await querySpool(dir, { order: 'asc', limit: 10_000 })));
  }
  if (stack.gateway) {
    const records = await querySpool(stack.auditDirs.gateway, { order: 'asc', limit: 10_000 });
    all.push(...records.map((r) => ({ ...r, route: `gateway/${r.route ?? ''}` })));
  }
  return all.sort((a, b) => a.time.localeCompare(b.time));
}

/** True for the SDK client's GET that asks for a server-to-client event stream. */
export function isStreamProbe(record: AuditRecord): boolean {
  return record.method === 'GET';
}

/** What the OPERATION column shows: JSON-RPC method and target, or a label for the GET probe. */
function operationOf(record: AuditRecord): string {
  if (isStreamProbe(record)) return 'GET (event-stream probe)';
  return [record.method, record.tool ?? record.resource ?? record.prompt].filter(Boolean).join(' ');
}

/** Audit records as a plain text table (time of day, where, outcome, reason, who, what, status). */
export function auditTable(records: readonly AuditRecord[]): string[] {
  const columns: Array<[string, (r: AuditRecord) => unknown]> = [
    ['TIME', (r) => r.time.slice(11, 23)],
    ['WHERE', (r) => r.route],
    ['OUTCOME', (r) => r.outcome],
    ['REASON', (r) => r.reason],
    ['SUBJECT', (r) => r.subject],
    ['CLIENT', (r) => r.clientId],
    ['VIA', (r) => r.actorChain?.join(' < ')],
    ['ACR', (r) => r.acr],
    ['OPERATION', operationOf],
    ['STATUS', (r) => r.status],
  ];
  const rows = [
    columns.map(([name]) => name),
    ...records.map((r) => columns.map(([, get]) => escapeForTerminal(get(r) ?? ''))),
  ];
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

/** Lines explaining the kinds of rows of `records` that are not a tool call or a refusal. */
export function auditLegend(records: readonly AuditRecord[]): string[] {
  const lines: string[] = [];
  if (records.some(isStreamProbe)) {
    lines.push(
      'GET (event-stream probe) 405: after initialize, the SDK client asks with a GET for a stream of',
      '  messages from the server; these stateless servers have none and answer 405, so the client',
      '  goes on without one. The gateway checks and records that request like any other.',
    );
  }
  if (records.some((r) => r.method === 'notifications/initialized')) {
    lines.push(
      'notifications/initialized 202: the client confirms the initialize handshake; accepted, no reply.',
    );
  }
  if (records.some((r) => r.route?.startsWith('gateway/') && r.outcome === 'allow')) {
    lines.push(
      'A call through the gateway has two rows: gateway/<route> for the request the gateway',
      '  received, and crm-server (VIA mcp-gateway) for the request it sent with an exchanged token.',
    );
  }
  return lines;
}
