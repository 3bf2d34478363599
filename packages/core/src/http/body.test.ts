// The capped body reader on a real node:http server: bodies within the cap, refusals with and
// without Content-Length, the drain of a refused body and both of its bounds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { BodyTooLargeError, endAfterBody, readBody, type BodyDrainOptions } from './body.js';

const LIMIT = 1000;
let server: Server;
let port: number;
/** What the handler saw of each request: the body's size, or the error's name. */
const seen: string[] = [];
/** Drain bounds per request path. */
const drains: Record<string, BodyDrainOptions> = {
  '/small-drain': { drainBytes: 64 * 1024 },
  '/short-drain': { drainMs: 200 },
};

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const body = await readBody(req, LIMIT, drains[req.url ?? '']);
    seen.push(String(body.length));
    res.end(`got ${body.length}`);
  } catch (error) {
    seen.push((error as Error).name);
    if (!(error instanceof BodyTooLargeError)) return;
    res.writeHead(413, { connection: 'close', 'content-length': '8' });
    endAfterBody(req, res, 'too big\n');
  }
}

before(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

interface Exchange {
  readonly answer: string;
  readonly error: string | undefined;
  readonly ms: number;
}

/**
 * Writes the request head and `parts`, never ends its side, and resolves once the server closes
 * the connection.
 */
function exchange(path: string, framing: string, parts: readonly (string | Buffer)[]) {
  return new Promise<Exchange>((resolve) => {
    const started = Date.now();
    let answer = '';
    let error: string | undefined;
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => resolve({ answer, error, ms: Date.now() - started }));
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n`);
    for (const part of parts) socket.write(part);
  });
}

test('a body within the cap is read whole', async () => {
  seen.length = 0;
  const body = 'x'.repeat(LIMIT);
  const outcome = await exchange('/', `Content-Length: ${LIMIT}\r\nConnection: close`, [body]);
  assert.match(outcome.answer, /^HTTP\/1\.1 200 [^]*got 1000$/);
  assert.deepEqual(seen, ['1000']);
});

test('an oversized body is refused and drained, so the client reads its 413', async () => {
  seen.length = 0;
  const big = Buffer.alloc(256 * 1024, 'x');
  const declared = await exchange('/', `Content-Length: ${big.length}`, [big]);
  assert.match(declared.answer, /^HTTP\/1\.1 413 [^]*too big\n$/, String(declared.error));
  assert.equal(declared.error, undefined);
  const chunks = [`${big.length.toString(16)}\r\n`, big, '\r\n0\r\n\r\n'];
  const streamed = await exchange('/', 'Transfer-Encoding: chunked', chunks);
  assert.match(streamed.answer, /^HTTP\/1\.1 413 [^]*too big\n$/, String(streamed.error));
  assert.deepEqual(seen, ['BodyTooLargeError', 'BodyTooLargeError']);
});

test('the drain stops at drainBytes: the connection is cut', async () => {
  const big = Buffer.alloc(1024 * 1024, 'x');
  const outcome = await exchange('/small-drain', `Content-Length: ${64 * big.length}`, [big]);
  // Well before drainMs (10 s): cut on bytes, not time.
  assert.ok(outcome.ms < 5_000, `cut after ${outcome.ms} ms`);
});

test('the drain stops at drainMs: a client that stalls is cut', async () => {
  const outcome = await exchange('/short-drain', `Content-Length: ${10 * LIMIT}`, ['x'.repeat(10)]);
  assert.match(outcome.answer, /^HTTP\/1\.1 413 /);
  assert.ok(outcome.ms >= 150 && outcome.ms < 5_000, `cut after ${outcome.ms} ms`);
});

test('a body that breaks off rejects the read', async () => {
  seen.length = 0;
  await new Promise<void>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${LIMIT}\r\n\r\nxx`);
      setTimeout(() => socket.destroy(), 50);
    });
    socket.on('close', () => resolve());
  });
  for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(seen, ['Error']);
});
