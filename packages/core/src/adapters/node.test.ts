// The node:http and Web Request adapters, on real servers and real Request objects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { InMemoryAuditSink } from '../audit/build.js';
import { createResourceServer, type ResourceServer } from '../pipeline/resource-server.js';
import { LocalKeyTestVerifier } from '../pipeline/test-support.js';
import { protectNodeHandler } from './node.js';
import { authorizeFetchRequest } from './fetch.js';

let verifier: LocalKeyTestVerifier;
let rs: ResourceServer;
let http: Server;
let base: string;
const sink = new InMemoryAuditSink();
const policy = { default: 'deny', tools: { search: { scopes: ['crm.read'] } } } as const;
const call = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'search' },
});

before(async () => {
  verifier = await LocalKeyTestVerifier.create();
  http = createServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  rs = createResourceServer({
    resource: `${base}/mcp`,
    authorizationServers: [verifier.issuer],
    scopesSupported: ['crm.read'],
    verifier,
    policy,
    maxBodyBytes: 4096,
    audit: { sink, fingerprintKey: 'k' },
  });
  http.on(
    'request',
    protectNodeHandler(rs, (_req, res, { allow }) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${allow.principal.subject} may ${allow.operation.tool}`);
    }),
  );
});

after(async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

const post = (headers: Record<string, string>, body = call) =>
  fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

test('node:http: an authorized call reaches the handler with the principal', async () => {
  const token = await verifier.issue(`${base}/mcp`, { scope: 'crm.read' });
  const res = await post({ authorization: `Bearer ${token}` });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'alice may search');
});

test('node:http: no token → 401 challenge; oversized body → 413; metadata served', async () => {
  const res = await post({});
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate')!, /^Bearer resource_metadata="/);
  const token = await verifier.issue(`${base}/mcp`, { scope: 'crm.read' });
  const big = await post(
    { authorization: `Bearer ${token}` },
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x', params: { s: 'a'.repeat(10_000) } }),
  );
  assert.equal(big.status, 413);
  const meta = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`);
  assert.equal(((await meta.json()) as { resource: string }).resource, `${base}/mcp`);
});

test('row 5: node:http: two Authorization headers on the wire → 400 invalid_request', async () => {
  const token = await verifier.issue(`${base}/mcp`, { scope: 'crm.read' });
  const { port } = http.address() as AddressInfo;
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\n` +
          `Authorization: Bearer ${token}\r\nContent-Length: ${Buffer.byteLength(call)}\r\nConnection: close\r\n\r\n${call}`,
      );
    });
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  assert.match(raw, /^HTTP\/1\.1 400/);
  assert.match(raw, /www-authenticate: Bearer error="invalid_request"/i);
});

test('node:http: a client that writes a whole oversized body before reading gets its 413', async () => {
  const token = await verifier.issue(`${base}/mcp`, { scope: 'crm.read' });
  const { port } = http.address() as AddressInfo;
  const body = Buffer.alloc(2 * 1024 * 1024, 'x');
  for (let i = 0; i < 5; i++) {
    const raw = await new Promise<string>((resolve) => {
      let data = '';
      let error = '';
      const socket = connect(port, '127.0.0.1');
      socket.on('error', (e: NodeJS.ErrnoException) => (error = String(e.code)));
      socket.on('close', () => resolve(data || error));
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
          `Authorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      // Reads only once the whole body is in the kernel's hands.
      socket.write(body, () => socket.on('data', (d: Buffer) => (data += d.toString())));
    });
    assert.match(raw, /^HTTP\/1\.1 413 [^]*connection: close/i, `try ${i + 1}`);
  }
});

test('fetch adapter: metadata, denial and allow from Web Requests', async () => {
  const token = await verifier.issue(`${base}/mcp`, { scope: 'crm.read' });
  const meta = await authorizeFetchRequest(
    rs,
    new Request(`${base}/.well-known/oauth-protected-resource`, { method: 'OPTIONS' }),
  );
  assert.ok(meta instanceof Response);
  assert.equal(meta.status, 204);
  assert.equal(meta.headers.get('access-control-allow-origin'), '*');
  const denied = await authorizeFetchRequest(
    rs,
    new Request(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: call,
    }),
  );
  assert.ok(denied instanceof Response);
  assert.equal(denied.status, 401);
  const before = sink.records.length;
  const ok = await authorizeFetchRequest(
    rs,
    new Request(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: call,
    }),
  );
  assert.ok(!(ok instanceof Response));
  assert.equal(ok.allow.principal.subject, 'alice');
  assert.deepEqual(ok.parsedBody, JSON.parse(call));
  await ok.complete({ status: 200 });
  assert.equal(sink.records.length, before + 1);
  assert.equal(sink.records.at(-1)!.status, 200);
  const big = await authorizeFetchRequest(
    rs,
    new Request(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: 'x'.repeat(9000),
    }),
  );
  assert.ok(big instanceof Response);
  assert.equal(big.status, 413);
});
