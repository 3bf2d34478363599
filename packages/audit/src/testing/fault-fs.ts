/**
 * Fault injection for the spool writer: a file-system wrapper whose writes or syncs fail on demand,
 * standing in for a full, read-only or failing disk.
 */
import { nodeSpoolFileSystem, type SpoolFileSystem } from '../spool/file-system.js';

/** Which operation fails, and how. */
export interface FaultPlan {
  /** Fail every `write` (after writing half of the data when `tornWrite`). */
  failWrite?: boolean;
  /** Write half the data before failing, leaving a torn line on disk. */
  tornWrite?: boolean;
  /** Fail every `datasync`. */
  failSync?: boolean;
  /** Hold every `datasync` until this promise settles (data written, not yet durable). */
  holdSync?: Promise<void>;
  /** Fail every `zeroFill` (preallocation). */
  failZeroFill?: boolean;
  /** Fail every `truncate`. */
  failTruncate?: boolean;
}

/**
 * Fault-injecting {@link SpoolFileSystem}; change `plan` at any time. Counts syncs. Has `zeroFill`
 * (so the spool preallocates segments) only when constructed with `{ zeroFill: true }`; its
 * zero-fills are counted apart from `writes` and `datasyncs`.
 */
export class FaultInjectingFileSystem implements SpoolFileSystem {
  plan: FaultPlan = {};
  datasyncs = 0;
  writes = 0;
  zeroFills = 0;
  readonly zeroFill?: (fd: number, position: number, length: number) => Promise<void>;

  constructor(options: { zeroFill?: boolean } = {}) {
    if (options.zeroFill === true) {
      this.zeroFill = async (fd, position, length) => {
        this.zeroFills += 1;
        if (this.plan.failZeroFill) {
          throw Object.assign(new Error('injected fault: EIO on zero-fill'), { code: 'EIO' });
        }
        await nodeSpoolFileSystem.zeroFill?.(fd, position, length);
      };
    }
  }

  open(path: string, flags: string): Promise<number> {
    return nodeSpoolFileSystem.open(path, flags);
  }

  async write(fd: number, data: Buffer, position: number): Promise<void> {
    this.writes += 1;
    if (this.plan.failWrite) {
      if (this.plan.tornWrite && data.length > 1) {
        await nodeSpoolFileSystem.write(fd, data.subarray(0, data.length >> 1), position);
      }
      throw Object.assign(new Error('injected fault: EIO on write'), { code: 'EIO' });
    }
    await nodeSpoolFileSystem.write(fd, data, position);
  }

  async datasync(fd: number): Promise<void> {
    this.datasyncs += 1;
    await this.plan.holdSync;
    if (this.plan.failSync) {
      throw Object.assign(new Error('injected fault: EIO on fdatasync'), { code: 'EIO' });
    }
    await nodeSpoolFileSystem.datasync(fd);
  }

  async truncate(fd: number, length: number): Promise<void> {
    if (this.plan.failTruncate) {
      throw Object.assign(new Error('injected fault: EIO on ftruncate'), { code: 'EIO' });
    }
    await nodeSpoolFileSystem.truncate(fd, length);
  }

  close(fd: number): Promise<void> {
    return nodeSpoolFileSystem.close(fd);
  }

  syncDirectory(dir: string): Promise<void> {
    return nodeSpoolFileSystem.syncDirectory(dir);
  }
}
