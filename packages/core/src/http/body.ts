/**
 * Reading a node:http request body under a size cap, without a closure, iterator or promise per
 * chunk (the gateway reads every POST through it, so its cost is paid on each request), and
 * refusing an oversized body so that the client reads its 413: the rest of the body is drained,
 * within bounds, before the connection closes.
 */
import { McpIamError } from '../errors.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Bytes of an oversized body read and discarded after it was refused; beyond them the connection
 * is cut. Enough for a client that sends a few MiB too many before reading the answer.
 */
export const BODY_DRAIN_BYTES = 8 * 1024 * 1024;

/** How long a refused body may keep arriving before the connection is cut, in ms. */
export const BODY_DRAIN_MS = 10_000;

/** A body larger than the cap given to `readBody` (answer 413 `body_too_large`). */
export class BodyTooLargeError extends McpIamError<'body_too_large'> {
  constructor() {
    super('body_too_large', 'request body exceeds the size cap');
  }
}

/** Bounds of the drain of a refused body (defaults `BODY_DRAIN_BYTES`, `BODY_DRAIN_MS`). */
export interface BodyDrainOptions {
  /** Bytes read and discarded after the refusal before the connection is cut. */
  readonly drainBytes?: number;
  /** Time after the refusal before the connection is cut, in ms. */
  readonly drainMs?: number;
}

/**
 * The state of one body (see `readBody`). While the body is read, `limit` is the cap; once it is
 * refused, `limit` is -1 (nothing more is kept), `resolve` is gone, and the request is cut when
 * `size` passes `cutAt` or when `timer` fires.
 */
interface BodyReading {
  limit: number;
  chunks: Buffer[];
  size: number;
  resolve: ((body: Buffer) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
  readonly drain: BodyDrainOptions | undefined;
  cutAt: number;
  timer: NodeJS.Timeout | undefined;
}

const READING = Symbol('mcp-iam.body');

/** A request whose body is being read or drained. */
interface ReadingRequest extends IncomingMessage {
  [READING]?: BodyReading;
}

const NOTHING: Buffer[] = [];

function settleBody(reading: BodyReading, error: Error | undefined): void {
  const { resolve, reject } = reading;
  reading.resolve = undefined;
  reading.reject = undefined;
  if (error) reject?.(error);
  else {
    const { chunks, size } = reading;
    resolve?.(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  }
}

/** Stops keeping the body and starts draining it: bounded in bytes from here, and in time. */
function startDrain(req: ReadingRequest, reading: BodyReading): void {
  reading.limit = -1;
  reading.chunks = NOTHING;
  reading.cutAt = reading.size + (reading.drain?.drainBytes ?? BODY_DRAIN_BYTES);
  reading.timer = setTimeout(cutRequest, reading.drain?.drainMs ?? BODY_DRAIN_MS, req);
  reading.timer.unref();
}

function cutRequest(req: ReadingRequest): void {
  req.destroy();
}

function stopDrain(req: ReadingRequest): void {
  const reading = req[READING];
  req[READING] = undefined;
  if (reading?.timer) clearTimeout(reading.timer);
}

function onBodyData(this: ReadingRequest, data: Buffer | string): void {
  const reading = this[READING];
  if (!reading) return;
  // Strings only when the caller set an encoding on the request.
  const chunk =
    typeof data === 'string' ? Buffer.from(data, this.readableEncoding ?? 'utf8') : data;
  reading.size += chunk.length;
  if (reading.size <= reading.limit) {
    reading.chunks.push(chunk);
    return;
  }
  if (reading.resolve) {
    startDrain(this, reading);
    settleBody(reading, new BodyTooLargeError());
  } else if (reading.size > reading.cutAt) this.destroy();
}

function onBodyEnd(this: ReadingRequest): void {
  const reading = this[READING];
  if (!reading) return;
  if (reading.resolve) {
    this[READING] = undefined;
    settleBody(reading, undefined);
  } else stopDrain(this);
}

function onBodyError(this: ReadingRequest, error: Error): void {
  const reading = this[READING];
  if (reading?.resolve) settleBody(reading, error);
}

function onBodyClose(this: ReadingRequest): void {
  // Every request closes; only one whose body is still being read broke off (and an Error, with
  // its stack, is only built then).
  const reading = this[READING];
  if (!reading) return;
  if (reading.resolve) settleBody(reading, new Error('request body broke off'));
  stopDrain(this);
}

function listen(req: IncomingMessage): void {
  req.on('data', onBodyData);
  req.on('end', onBodyEnd);
  req.on('error', onBodyError);
  req.on('close', onBodyClose);
}

function drainState(req: IncomingMessage, options: BodyDrainOptions | undefined): BodyReading {
  const reading: BodyReading = {
    limit: -1,
    chunks: NOTHING,
    size: 0,
    resolve: undefined,
    reject: undefined,
    drain: options,
    cutAt: 0,
    timer: undefined,
  };
  startDrain(req, reading);
  return reading;
}

/**
 * Reads a request body up to `limit` bytes. Rejects with `BodyTooLargeError` beyond it (at once
 * when Content-Length says so) and with an error when the body breaks off.
 *
 * A refused body is drained: read and discarded, nothing kept, up to `drainBytes` more (default
 * 8 MiB) and for at most `drainMs` (default 10 s), after which the request and its connection are
 * destroyed. Answer it with `endAfterBody`, so the connection stays open until the client has sent
 * its body and can read the answer: closing a connection with unread bytes resets it, and a client
 * still sending loses the answer.
 *
 * Plain stream events rather than async iteration, and listeners shared by every request (the
 * state hangs on the request): no iterator, no promise per chunk and no closures per request. The
 * listeners stay until the request is gone; once the body is settled and drained they do nothing.
 *
 * @example
 * ```ts
 * try {
 *   const body = await readBody(req, 1024 * 1024);
 * } catch (error) {
 *   if (!(error instanceof BodyTooLargeError)) throw error;
 *   res.writeHead(413, { connection: 'close', 'content-length': '0' });
 *   endAfterBody(req, res);
 * }
 * ```
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  options?: BodyDrainOptions,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) {
    (req as ReadingRequest)[READING] = drainState(req, options);
    listen(req);
    return Promise.reject(new BodyTooLargeError());
  }
  return new Promise((resolve, reject) => {
    (req as ReadingRequest)[READING] = {
      limit,
      chunks: [],
      size: 0,
      resolve,
      reject,
      drain: options,
      cutAt: 0,
      timer: undefined,
    };
    listen(req);
  });
}

/**
 * Ends `res` (after writing `chunk`) once the request's body has arrived in full. The answer is
 * written at once; only its end waits, because node:http closes a `Connection: close` connection
 * as soon as the answer ends, and one closed with the client's bytes unread is reset, losing the
 * answer. A body not being read yet is drained within the bounds of `readBody`; when they are
 * passed the request is destroyed, which closes `res` too.
 */
export function endAfterBody(
  req: IncomingMessage,
  res: ServerResponse,
  chunk?: Buffer | string,
  options?: BodyDrainOptions,
): void {
  if (req.complete || req.destroyed) {
    res.end(chunk);
    return;
  }
  if (chunk !== undefined) res.write(chunk);
  req.once('end', () => {
    if (!res.writableEnded && !res.destroyed) res.end();
  });
  if (!(req as ReadingRequest)[READING]) {
    (req as ReadingRequest)[READING] = drainState(req, options);
    listen(req);
  }
}
