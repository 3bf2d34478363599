// End-to-end: a real SDK McpServer (Streamable HTTP, stateless) behind the Express middleware,
// called with the SDK Client. The server part is the README snippet's shape, line for line,
// with the verifier and URLs passed in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  InMemoryAuditSink,
  createResourceServer,
  mcpAuthMetadata,
  principalOf,
  requireMcpAuth,
  type AccessTokenVerifier,
  type ExpressLikeRequest,
  type Principal,
} from '../index.js';
import { LocalKeyTestVerifier } from '../pipeline/test-support.js';

let verifier: LocalKeyTestVerifier;
let http: Server;
let base: string;
const sink = new InMemoryAuditSink();
const seen: Array<Principal | undefined> = [];

// --- README snippet shape (docs/core.md) -------------------------------------------------------
function protectedCrmApp(verifier: AccessTokenVerifier, resource: string, issuer: string) {
  const rs = createResourceServer({
    resource, // e.g. 'https://crm.example.com/mcp'
    authorizationServers: [issuer],
    scopesSupported: ['crm.read'],
    verifier, // createAccessTokenVerifier({ issuers: [{ issuer }] })
    policy: {
      methods: { initialize: {}, 'tools/list': {} }, // anything not listed is denied
      tools: { search: { scopes: ['crm.read'] }, update: { scopes: ['crm.write'], acr: ['mfa'] } },
    },
    audit: { sink, fingerprintKey: 'test-fingerprint-key', route: 'crm' },
  });
  return express()
    .use(mcpAuthMetadata(rs))
    .post('/mcp', requireMcpAuth(rs), async (req, res) => {
      const server = new McpServer({ name: 'crm', version: '1.0.0' });
      server.registerTool('search', { description: 'Search contacts' }, async (extra) => {
        seen.push(principalOf(extra.authInfo));
        return {
          content: [{ type: 'text', text: `hello ${principalOf(extra.authInfo)?.subject}` }],
        };
      });
      server.registerTool('update', { description: 'Update a contact' }, async () => ({
        content: [],
      }));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    }); // .listen(3000) in the snippet; the test mounts it on its own loopback server
}
// -----------------------------------------------------------------------------------------------

before(async () => {
  verifier = await LocalKeyTestVerifier.create('https://idp.test.example');
  // Bind first to learn the port, then mount the app with its canonical URL.
  const { createServer } = await import('node:http');
  http = createServer();
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  http.on('request', protectedCrmApp(verifier, `${base}/mcp`, verifier.issuer));
});

after(async () => {
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
});

async function connect(token: string | undefined): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
  await client.connect(transport);
  return client;
}

test('an allowed tools/call reaches the tool, which sees the verified principal', async () => {
  const token = await verifier.issue(`${base}/mcp`, { sub: 'alice', scope: 'crm.read' });
  const client = await connect(token);
  try {
    const result = await client.callTool({ name: 'search', arguments: {} });
    assert.deepEqual(result.content, [{ type: 'text', text: 'hello alice' }]);
    const principal = seen.at(-1);
    assert.equal(principal?.subject, 'alice');
    assert.deepEqual(principal?.scopes, ['crm.read']);
    const rec = sink.records.find((r) => r.tool === 'search');
    assert.equal(rec?.outcome, 'allow');
    assert.ok(!JSON.stringify(sink.records).includes(token), 'no record holds the token');
  } finally {
    await client.close();
  }
});

test('a tools/call without the tool’s scope is refused with 403 insufficient_scope before the tool runs', async () => {
  const token = await verifier.issue(`${base}/mcp`, { scope: 'crm.read' });
  const client = await connect(token);
  try {
    const before = sink.records.length;
    await assert.rejects(client.callTool({ name: 'update', arguments: {} }));
    const rec = sink.records.slice(before).find((r) => r.tool === 'update');
    assert.equal(rec?.reason, 'insufficient_scope');
    assert.equal(rec?.status, 403);
  } finally {
    await client.close();
  }
  const raw = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'update', arguments: {} },
    }),
  });
  assert.equal(raw.status, 403);
  assert.equal(
    raw.headers.get('www-authenticate'),
    `Bearer error="insufficient_scope", scope="crm.write", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
  );
});

test('a request without a token gets 401 naming resource_metadata, and the metadata is served with CORS', async () => {
  await assert.rejects(connect(undefined));
  const raw = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      host: 'evil.example',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
  });
  assert.equal(raw.status, 401);
  assert.equal(
    raw.headers.get('www-authenticate'),
    `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp", scope="crm.read"`,
  );
  const meta = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`, {
    headers: { origin: 'https://app.example' },
  });
  assert.equal(meta.status, 200);
  assert.equal(meta.headers.get('access-control-allow-origin'), '*');
  const doc = (await meta.json()) as Record<string, unknown>;
  assert.equal(doc['resource'], `${base}/mcp`);
  assert.deepEqual(doc['authorization_servers'], [verifier.issuer]);
  const preflight = await fetch(`${base}/.well-known/oauth-protected-resource`, {
    method: 'OPTIONS',
  });
  assert.equal(preflight.status, 204);
});

test('a tool that needs mfa answers a password-only token with a step-up challenge', async () => {
  const token = await verifier.issue(`${base}/mcp`, { scope: 'crm.read crm.write', acr: 'pwd' });
  const client = await connect(token);
  try {
    const tools = await client.listTools();
    assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['search', 'update']);
  } finally {
    await client.close();
  }
  const raw = await fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'update' },
    }),
  });
  assert.equal(raw.status, 401);
  assert.equal(
    raw.headers.get('www-authenticate'),
    `Bearer error="insufficient_user_authentication", acr_values="mfa", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
  );
});

test('requireMcpAuth also works after express.json(), checking the parsed body', async () => {
  const rs = createResourceServer({
    resource: 'http://127.0.0.1/json/mcp',
    authorizationServers: [verifier.issuer],
    verifier,
    policy: { tools: { search: { scopes: ['crm.read'] } } },
  });
  const app = express()
    .use(express.json())
    .post('/json/mcp', requireMcpAuth(rs), (req, res) => {
      res.json({
        subject: principalOf((req as ExpressLikeRequest).auth)?.subject,
        method: (req.body as { method: string }).method,
      });
    });
  const { createServer } = await import('node:http');
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/json/mcp`;
  try {
    const token = await verifier.issue('http://127.0.0.1/json/mcp', {
      sub: 'bob',
      scope: 'crm.read',
    });
    const send = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await send({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'search' },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { subject: 'bob', method: 'tools/call' });
    const batch = await send([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search' } },
    ]);
    assert.equal(batch.status, 400);
    const other = await send({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'drop' },
    });
    assert.equal(other.status, 403);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
