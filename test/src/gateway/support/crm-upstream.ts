/**
 * The "crm" upstream of the end-to-end tests: a real MCP server (official SDK `McpServer` with a
 * stateless `StreamableHTTPServerTransport` answering in JSON) on 127.0.0.1 with an ephemeral
 * port. It records the path and every header of each request it receives, so tests can check
 * exactly what crossed the gateway (which token, which identity headers).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** One request as the upstream saw it. */
export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Raw request body text. */
  readonly body: string;
}

/** A running recording upstream. */
export interface CrmUpstream {
  /** `http://127.0.0.1:<port>/mcp`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: UpstreamRequest[];
  close(): Promise<void>;
}

function buildServer(): McpServer {
  const server = new McpServer({ name: 'e2e-crm', version: '1.0.0' });
  server.registerTool(
    'search_contacts',
    { description: 'Searches contacts', inputSchema: { query: z.string() } },
    ({ query }) => ({
      content: [{ type: 'text', text: `contacts matching ${query}: Ada Lovelace` }],
    }),
  );
  server.registerTool(
    'update_contact',
    { description: 'Updates a contact', inputSchema: { id: z.string(), name: z.string() } },
    ({ id, name }) => ({ content: [{ type: 'text', text: `contact ${id} renamed to ${name}` }] }),
  );
  server.registerTool('delete_everything', { description: 'Deletes every contact' }, () => ({
    content: [{ type: 'text', text: 'everything deleted' }],
  }));
  return server;
}

/** Starts the recording CRM upstream on 127.0.0.1 with an ephemeral port. */
export async function startCrmUpstream(): Promise<CrmUpstream> {
  const requests: UpstreamRequest[] = [];
  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: req.method ?? '',
        path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname,
        headers: { ...req.headers },
        body,
      });
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const server = buildServer();
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      server
        .connect(transport)
        .then(() => transport.handleRequest(req, res, parsed))
        .catch(() => {
          if (!res.headersSent) res.writeHead(500).end();
        });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
