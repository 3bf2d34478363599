/**
 * Test support: runs the compiled `mcp-iam` entry as a child process, as a user's shell would, and
 * makes spools full of well-formed audit records.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Spool } from '@mcp-iam/audit';
import { newRecordId, type AuditRecord } from '@mcp-iam/core';

/** The compiled entry of the `mcp-iam` command (dist/main.js). */
export const MCP_IAM_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** How a child `mcp-iam` ended. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/main.js ...args` and resolves once it has exited. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MCP_IAM_MAIN, ...args],
      { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A fresh temporary directory and a function that removes it. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-iam-cli-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `count` allow records, one second apart, the `i`-th with subject `user-i`. */
export function auditRecords(count: number): AuditRecord[] {
  const start = Date.parse('2026-03-01T12:00:00.000Z');
  return Array.from({ length: count }, (_, i) => ({
    id: newRecordId(),
    time: new Date(start + i * 1000).toISOString(),
    requestId: `req-${i}`,
    route: 'crm',
    outcome: 'allow',
    reason: 'allowed',
    issuer: 'http://127.0.0.1:4000',
    subject: `user-${i}`,
    clientId: 'agent',
    method: 'tools/call',
    tool: 'search_contacts',
    scopesRequired: ['crm.read'],
    scopesGranted: ['crm.read'],
    status: 200,
    durationMs: 3,
  }));
}

/** Writes `records` to a new spool in `dir`, in order (appended together: one group commit). */
export async function writeSpool(dir: string, records: readonly AuditRecord[]): Promise<void> {
  const spool = await Spool.open({ dir });
  try {
    await Promise.all(records.map((record) => spool.append(record)));
  } finally {
    await spool.close();
  }
}
