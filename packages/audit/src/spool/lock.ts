/**
 * The spool directory's single-writer lock: a `LOCK` file holding the owner's process id. A second
 * writer gets a {@link SpoolLockedError}; a lock left by a dead process (after a crash) is taken over.
 */
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpoolLockedError } from '../errors.js';

/** Name of the lock file inside a spool directory. */
export const LOCK_FILE = 'LOCK';

/**
 * Takes the lock of `dir` for this process. The pid is written to a private file first and then
 * hard-linked to `LOCK`, so the lock file is never seen empty. Returns a function that releases it.
 */
export function acquireSpoolLock(dir: string): () => void {
  const lockPath = join(dir, LOCK_FILE);
  const tmpPath = join(dir, `.LOCK.${process.pid}.${Date.now()}`);
  writeFileSync(tmpPath, `${process.pid}\n`, { flag: 'wx', flush: true });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmpPath, lockPath);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
        const owner = readLockOwner(lockPath);
        if (owner !== undefined && isAlive(owner)) throw new SpoolLockedError(dir, owner);
        unlinkSync(lockPath);
      }
    }
  } finally {
    unlinkSync(tmpPath);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (readLockOwner(lockPath) === process.pid) unlinkSync(lockPath);
  };
}

function readLockOwner(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
