/**
 * A stateful MCP upstream for the session-binding tests: the official SDK's
 * `StreamableHTTPServerTransport` with a session id per `initialize`, one `McpServer` per session,
 * and two tools that keep state in the session (`remember` stores a text, `recall` returns what
 * this session stored). Whoever can use a session id can read that session's state, which is what
 * the gateway must prevent across principals. Every request that reaches it is counted.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** A running session upstream. */
export interface SessionUpstream {
  /** `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  /** Method and session id of every request received, in order. */
  readonly requests: Array<{ readonly method: string; readonly session: string | undefined }>;
  /** Live sessions. */
  readonly sessions: ReadonlyMap<string, StreamableHTTPServerTransport>;
  close(): Promise<void>;
}

function sessionServer(): McpServer {
  const memory: string[] = [];
  const server = new McpServer({ name: 'session-upstream', version: '1.0.0' });
  server.registerTool(
    'remember',
    { description: 'Stores a text in this session', inputSchema: { text: z.string() } },
    ({ text }) => {
      memory.push(text);
      return { content: [{ type: 'text', text: `stored ${memory.length}` }] };
    },
  );
  server.registerTool('recall', { description: 'Returns what this session stored' }, () => ({
    content: [{ type: 'text', text: JSON.stringify(memory) }],
  }));
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Starts the upstream on 127.0.0.1 with an ephemeral port. */
export async function startSessionUpstream(): Promise<SessionUpstream> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const requests: Array<{ method: string; session: string | undefined }> = [];
  const http: Server = createServer((req, res) => {
    const session = req.headers['mcp-session-id'];
    const id = typeof session === 'string' ? session : undefined;
    requests.push({ method: req.method ?? '', session: id });
    void (async () => {
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      let transport = id !== undefined ? sessions.get(id) : undefined;
      if (!transport) {
        if (id !== undefined) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(
            '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}',
          );
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: randomUUID,
          enableJsonResponse: true,
          onsessioninitialized: (sid) => void sessions.set(sid, created),
        });
        created.onclose = () => {
          if (created.sessionId) sessions.delete(created.sessionId);
        };
        await sessionServer().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    sessions,
    close: async () => {
      await Promise.allSettled([...sessions.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
