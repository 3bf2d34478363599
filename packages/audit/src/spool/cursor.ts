/**
 * Durable read cursors: a shipper records how far it has shipped in `cursor.<name>.json` inside the
 * spool directory, replaced atomically (write, sync, rename, sync directory) after each store commit.
 */
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditError } from '../errors.js';
import { nodeSpoolFileSystem } from './file-system.js';
import type { SpoolPosition } from './segments.js';

const CURSOR_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function cursorPath(dir: string, name: string): string {
  if (!CURSOR_NAME.test(name)) {
    throw new AuditError('invalid_argument', 'cursor name must match [a-z0-9][a-z0-9_-]{0,63}');
  }
  return join(dir, `cursor.${name}.json`);
}

/**
 * Reads the cursor `name` of the spool in `dir`; `undefined` when there is none yet.
 *
 * @example
 * ```ts
 * const from = await readSpoolCursor('./data/audit', 'shipper');
 * ```
 */
export async function readSpoolCursor(
  dir: string,
  name: string,
): Promise<SpoolPosition | undefined> {
  let text: string;
  try {
    text = await readFile(cursorPath(dir, name), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const value = JSON.parse(text) as { segment?: unknown; offset?: unknown };
  if (!Number.isSafeInteger(value.segment) || !Number.isSafeInteger(value.offset)) {
    throw new AuditError('spool_corrupt', `cursor ${name} is damaged`);
  }
  return { segment: value.segment as number, offset: value.offset as number };
}

/**
 * Durably replaces the cursor `name` of the spool in `dir` with `position`.
 *
 * @example
 * ```ts
 * await writeSpoolCursor('./data/audit', 'shipper', entry.next);
 * ```
 */
export async function writeSpoolCursor(
  dir: string,
  name: string,
  position: SpoolPosition,
): Promise<void> {
  const target = cursorPath(dir, name);
  const tmp = `${target}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(JSON.stringify({ segment: position.segment, offset: position.offset }));
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await rename(tmp, target);
  await nodeSpoolFileSystem.syncDirectory(dir);
}
