/**
 * The few file operations the spool writer needs, behind an interface so tests can inject faults
 * (a failing write or sync) without touching the real disk's behaviour.
 */
import { close, fdatasync, ftruncate, fsync, open, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';

const openAsync = promisify(open);
const datasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const truncateAsync = promisify(ftruncate);
const closeAsync = promisify(close);
const writeAsync = promisify(write);

const FILL_CHUNK_BYTES = 1 << 20;
let zeros: Buffer | undefined;

/**
 * File operations used by the spool writer. The default, {@link nodeSpoolFileSystem}, maps each to
 * `node:fs`; a fault-injecting wrapper can make any of them fail.
 */
export interface SpoolFileSystem {
  /** Opens a file and returns its descriptor (`flags` as in `fs.open`). */
  open(path: string, flags: string): Promise<number>;
  /** Writes all of `data` at byte `position`. */
  write(fd: number, data: Buffer, position: number): Promise<void>;
  /** Makes the file's data durable (`fdatasync`). */
  datasync(fd: number): Promise<void>;
  /** Cuts the file to `length` bytes. */
  truncate(fd: number, length: number): Promise<void>;
  close(fd: number): Promise<void>;
  /** Makes a directory's entries durable (new or renamed files survive a crash). */
  syncDirectory(dir: string): Promise<void>;
  /**
   * Writes `length` zero bytes at `position` and makes them durable (`fdatasync`). Optional: the
   * spool preallocates segments (`preallocateBytes`) only with a file system that has it.
   */
  zeroFill?(fd: number, position: number, length: number): Promise<void>;
}

/**
 * The real file system.
 *
 * @example
 * ```ts
 * const spool = await Spool.open({ dir, fileSystem: nodeSpoolFileSystem });
 * ```
 */
export const nodeSpoolFileSystem: SpoolFileSystem = {
  open: (path, flags) => openAsync(path, flags),
  // A batch write lands in the page cache in microseconds; doing it on the calling thread saves
  // one thread-pool round trip (two context switches) per batch. The sync, which waits for the
  // disk, stays on the thread pool.
  async write(fd, data, position) {
    let done = 0;
    while (done < data.length) {
      done += writeSync(fd, data, done, data.length - done, position + done);
    }
  },
  datasync: (fd) => datasyncAsync(fd),
  truncate: (fd, length) => truncateAsync(fd, length),
  close: (fd) => closeAsync(fd),
  // Off the event loop (thread pool), 1 MiB at a time, each chunk synced before the next: a batch
  // sync of the same file running meanwhile then has at most one chunk of zeros to flush.
  async zeroFill(fd, position, length) {
    zeros ??= Buffer.alloc(FILL_CHUNK_BYTES);
    const end = position + length;
    for (let at = position; at < end;) {
      const { bytesWritten } = await writeAsync(fd, zeros, 0, Math.min(zeros.length, end - at), at);
      at += bytesWritten;
      await datasyncAsync(fd);
    }
  },
  async syncDirectory(dir) {
    const fd = await openAsync(dir, 'r');
    try {
      await fsyncAsync(fd);
    } finally {
      await closeAsync(fd);
    }
  },
};
