/**
 * Test fixtures: well-formed audit records with overridable fields, temporary directories, the ids
 * a spool holds, and polling for a condition.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newRecordId, type AuditRecord } from '@mcp-iam/core';
import { readSpool } from '../spool/reader.js';
import type { SpoolPosition } from '../spool/segments.js';

/** A valid record; `overrides` replace fields (an `undefined` override removes the field). */
export function makeRecord(overrides: Partial<AuditRecord> = {}): AuditRecord {
  const record: Record<string, unknown> = {
    id: newRecordId(),
    time: new Date().toISOString(),
    requestId: 'req-1',
    route: 'crm',
    outcome: 'allow',
    reason: 'allowed',
    issuer: 'http://127.0.0.1:4000',
    subject: 'alice',
    clientId: 'agent',
    method: 'tools/call',
    tool: 'search_contacts',
    scopesRequired: ['crm.read'],
    scopesGranted: ['crm.read'],
    status: 200,
    durationMs: 3,
    ...overrides,
  };
  for (const key of Object.keys(record)) if (record[key] === undefined) delete record[key];
  return record as unknown as AuditRecord;
}

/** A fresh temporary directory and a function that removes it. */
export function tempDir(prefix = 'mcp-iam-audit-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The ids of the records `readSpool` yields from `dir` (up to `until`), in order. */
export async function readSpoolIds(dir: string, until?: SpoolPosition): Promise<string[]> {
  const ids: string[] = [];
  for await (const { record } of readSpool(dir, { until })) ids.push(record.id);
  return ids;
}

/** Polls `ok` every 2 ms until it holds; throws after 5 s, naming `what`. */
export async function waitFor(what: string, ok: () => boolean): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > 5000) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
