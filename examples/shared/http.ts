/**
 * Shared plumbing of the example MCP servers: listen on a loopback port, answer the MCP verbs a
 * stateless Streamable HTTP server does not serve, and close cleanly. Nothing here is about
 * authorization; that is `@mcp-iam/core`'s job in each server.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type Response } from 'express';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { mcpAuthMetadata, requireMcpAuth, type ResourceServer } from '@mcp-iam/core';

/** A running HTTP server and how to stop it. */
export interface RunningHttpServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting connections, drops open ones and resolves when closed. */
  close(): Promise<void>;
}

/**
 * Serves a stateless Streamable HTTP MCP endpoint at the path of `rs.resource`, protected by core's
 * Express adapter: metadata routes, then authentication and authorization before the SDK sees the
 * request. `buildServer` makes a fresh `McpServer` per request (stateless mode).
 */
export async function serveProtectedMcp(
  rs: ResourceServer,
  buildServer: () => McpServer,
  options: { port?: number; host?: string },
): Promise<RunningHttpServer> {
  const path = new URL(rs.resource).pathname;
  const app = express();
  app.use(mcpAuthMetadata(rs));
  app.post(path, requireMcpAuth(rs), async (req, res) => {
    const server = buildServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  });
  app.get(path, methodNotAllowed);
  app.delete(path, methodNotAllowed);
  return listen(app, options.port ?? Number(new URL(rs.resource).port), options.host);
}

/** Listens with `app` on `host:port` (port 0 picks a free port). */
export async function listen(
  app: Express,
  port: number,
  host = '127.0.0.1',
): Promise<RunningHttpServer> {
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(s)));
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Answers GET and DELETE on a stateless endpoint with 405: there is no session to resume or end,
 * which tells SDK clients not to open a server-to-client stream.
 */
export function methodNotAllowed(_req: Request, res: Response): void {
  res
    .status(405)
    .set('Allow', 'POST')
    .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
}
