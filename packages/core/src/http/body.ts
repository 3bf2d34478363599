/**
 * Reading a node:http request body under a size cap, without a closure, iterator or promise per
 * chunk: the gateway reads every POST through it, so its cost is paid on each request.
 */
import type { IncomingMessage } from 'node:http';

/** A body larger than the cap given to `readBody` (answer 413 `body_too_large`). */
export class BodyTooLargeError extends Error {
  readonly code = 'body_too_large';

  constructor() {
    super('request body exceeds the size cap');
    this.name = 'BodyTooLargeError';
  }
}

/** The state of one body being read (see `readBody`). */
interface BodyReading {
  readonly limit: number;
  readonly chunks: Buffer[];
  size: number;
  resolve: ((body: Buffer) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

const READING = Symbol('mcp-iam.body');

/** A request whose body is being read. */
interface ReadingRequest extends IncomingMessage {
  [READING]?: BodyReading;
}

function settleBody(req: ReadingRequest, error: Error | undefined): void {
  const reading = req[READING];
  if (!reading?.resolve) return;
  const { resolve, reject } = reading;
  reading.resolve = undefined;
  reading.reject = undefined;
  req[READING] = undefined;
  if (error) reject?.(error);
  else {
    const { chunks, size } = reading;
    resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  }
}

function onBodyData(this: ReadingRequest, chunk: Buffer): void {
  const reading = this[READING];
  if (!reading) return;
  reading.size += chunk.length;
  if (reading.size <= reading.limit) {
    reading.chunks.push(chunk);
    return;
  }
  settleBody(this, new BodyTooLargeError());
  this.destroy();
}

function onBodyEnd(this: ReadingRequest): void {
  settleBody(this, undefined);
}

function onBodyError(this: ReadingRequest, error: Error): void {
  settleBody(this, error);
}

function onBodyClose(this: ReadingRequest): void {
  // Every request closes; only one whose body is still being read broke off (and an Error, with
  // its stack, is only built then).
  if (this[READING]?.resolve) settleBody(this, new Error('request body broke off'));
}

/**
 * Reads a request body up to `limit` bytes; rejects with `BodyTooLargeError` beyond it (the request
 * is then destroyed) and with an error when the body breaks off. Plain stream events rather than
 * async iteration, and listeners shared by every request (the state hangs on the request): no
 * iterator, no promise per chunk and no closures per request. The listeners stay until the
 * request is gone; once the body is settled they do nothing.
 *
 * @example
 * ```ts
 * try {
 *   const body = await readBody(req, 1024 * 1024);
 * } catch (error) {
 *   if (error instanceof BodyTooLargeError) answer413();
 * }
 * ```
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError());
  return new Promise((resolve, reject) => {
    (req as ReadingRequest)[READING] = { limit, chunks: [], size: 0, resolve, reject };
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
    req.on('error', onBodyError);
    req.on('close', onBodyClose);
  });
}
