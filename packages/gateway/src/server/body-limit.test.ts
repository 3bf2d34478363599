/**
 * Specification of oversized request bodies against the running gateway (row 52): the client gets
 * its 413 even when it writes the whole body before reading anything, with or without
 * Content-Length, and a body too large to drain still ends with the connection closed.
 */
import { strict as assert } from 'node:assert';
import { connect } from 'node:net';
import { BODY_DRAIN_BYTES } from '@mcp-iam/core';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  answerJson,
  startUpstream,
  testConfig,
  TestGuard,
  type RecordingUpstream,
} from '../testing/harness.js';
import { Gateway, type Rejection } from './server.js';

const MIB = 1024 * 1024;
const TOKEN = 'alice.body-limit-token';

/** What a raw client saw: the answer bytes, and the socket error if the connection broke. */
interface RawOutcome {
  readonly answer: string;
  readonly error: string | undefined;
  /** Body bytes the client handed to the socket before the connection closed. */
  readonly sent: number;
}

function head(port: number, framing: string): string {
  return [
    'POST /crm/mcp HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    `Authorization: Bearer ${TOKEN}`,
    'Content-Type: application/json',
    framing,
    '',
    '',
  ].join('\r\n');
}

/**
 * Writes `head` and every part of the body, waits until all of it is handed to the kernel, and only
 * then starts reading; resolves once the connection closes. A gateway that closes with the body
 * unread resets the connection and the answer is lost, as it is for such a client.
 */
function postWholeThenRead(port: number, headText: string, parts: Buffer[]): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let answer = '';
    let error: string | undefined;
    let sent = 0;
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(20_000, () => socket.destroy(new Error('timed out')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => resolve({ answer, error, sent }));
    socket.write(headText);
    const last = parts.length - 1;
    parts.forEach((part, i) => {
      socket.write(part, (e) => {
        if (e) return;
        sent += part.length;
        if (i === last) socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
      });
    });
  });
}

/** Chunked framing of `total` bytes in `size`-byte chunks, terminator included. */
function chunked(total: number, size: number): Buffer[] {
  const parts: Buffer[] = [];
  const data = Buffer.alloc(size, 'x');
  for (let left = total; left > 0; left -= size) {
    const n = Math.min(size, left);
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), data.subarray(0, n), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return parts;
}

/**
 * Declares a huge body and keeps writing (with backpressure) until the connection closes or
 * `cap` bytes are written; reads the answer as it comes.
 */
function flood(port: number, cap: number): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let answer = '';
    let error: string | undefined;
    let sent = 0;
    let closed = false;
    const chunk = Buffer.alloc(256 * 1024, 'x');
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(30_000, () => socket.destroy(new Error('timed out')));
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () => {
      closed = true;
      resolve({ answer, error, sent });
    });
    const pump = (): void => {
      while (!closed && sent < cap) {
        sent += chunk.length;
        if (!socket.write(chunk)) return;
      }
    };
    socket.on('drain', pump);
    socket.write(head(port, `Content-Length: ${4 * cap}`));
    pump();
  });
}

function assert413(outcome: RawOutcome, what: string): void {
  assert.match(
    outcome.answer,
    /^HTTP\/1\.1 413 /,
    `${what}: got ${JSON.stringify(outcome.answer.slice(0, 40))} (socket error: ${outcome.error})`,
  );
  assert.match(outcome.answer, /\r\nconnection: close\r\n/i, what);
  assert.match(
    outcome.answer,
    /\{"error":"body_too_large","error_description":"[^"]+","reason":"body_too_large"\}$/,
    what,
  );
}

describe('gateway: oversized bodies (default 1 MiB limit)', () => {
  let upstream: RecordingUpstream;
  let gateway: Gateway;
  let port: number;
  let rejections: Rejection[];

  before(async () => {
    upstream = await startUpstream((_req, res) => answerJson(res, 200, { jsonrpc: '2.0', id: 1 }));
    rejections = [];
    gateway = new Gateway({
      config: testConfig(upstream.url, '', 'log_level: warn\n'),
      guards: () => new TestGuard(),
      recordRejection: async (r) => {
        rejections.push(r);
      },
    });
    port = (await gateway.listen()).port;
  });

  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  beforeEach(() => {
    rejections.length = 0;
    upstream.requests.length = 0;
  });

  test('a 5 MiB body with Content-Length, written whole before reading, gets its 413 (20 times)', async () => {
    const body = Buffer.alloc(5 * MIB, 'x');
    for (let i = 0; i < 20; i++) {
      const outcome = await postWholeThenRead(port, head(port, `Content-Length: ${body.length}`), [
        body,
      ]);
      assert413(outcome, `try ${i + 1}`);
      assert.equal(outcome.sent, body.length, `try ${i + 1}: the whole body was accepted`);
    }
    assert.equal(rejections.length, 20);
    assert.ok(rejections.every((r) => r.reason === 'body_too_large' && r.status === 413));
    assert.equal(upstream.requests.length, 0);
  });

  test('a chunked 5 MiB body (no Content-Length) gets its 413', async () => {
    for (let i = 0; i < 5; i++) {
      const outcome = await postWholeThenRead(
        port,
        head(port, 'Transfer-Encoding: chunked'),
        chunked(5 * MIB, 64 * 1024),
      );
      assert413(outcome, `chunked try ${i + 1}`);
    }
    assert.equal(rejections.length, 5);
    assert.equal(upstream.requests.length, 0);
  });

  test('a body beyond what the gateway drains ends with the connection closed', async () => {
    const cap = 8 * BODY_DRAIN_BYTES;
    const outcome = await flood(port, cap);
    assert.ok(
      outcome.sent < cap,
      `the gateway kept reading: ${outcome.sent} bytes accepted (socket error: ${outcome.error})`,
    );
    assert.equal(upstream.requests.length, 0);
  });
});
