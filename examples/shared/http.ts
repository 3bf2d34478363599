/**
 * Shared plumbing of the example MCP servers: listen on a loopback port, hand each authorized
 * request to the SDK, complete its audit record with the status the SDK answers, answer the MCP
 * verbs a stateless Streamable HTTP server does not serve, and close cleanly. The decisions are
 * `@mcp-iam/core`'s, made by each server's `ResourceServer`.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request, type Response } from 'express';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import {
  authorizeNodeRequest,
  mcpAuthMetadata,
  nodeHeaders,
  sendAnswer,
  type McpAuthInfo,
  type NodeAllow,
  type ResourceServer,
} from '@mcp-iam/core';
import { sendWebResponse } from './web-response.js';

/** A running HTTP server and how to stop it. */
export interface RunningHttpServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting connections, drops open ones and resolves when closed. */
  close(): Promise<void>;
}

/** The SDK's `AuthInfo` for an allowed request: the token, and the principal core verified. */
function authInfoOf(rs: ResourceServer, { allow }: NodeAllow): McpAuthInfo {
  const p = allow.principal;
  return {
    token: allow.token,
    clientId: p.clientId,
    scopes: [...p.scopes],
    expiresAt: p.expiresAt,
    resource: new URL(rs.resource),
    extra: { principal: p, operation: allow.operation },
  };
}

/** The request as a Web `Request` for the SDK transport (its body is passed parsed, not here). */
function webRequest(req: IncomingMessage, rs: ResourceServer): globalThis.Request {
  const headers = new Headers();
  for (const [name, values] of Object.entries(nodeHeaders(req))) {
    for (const value of [values ?? []].flat()) headers.append(name, value);
  }
  return new globalThis.Request(new URL(req.url ?? '/', rs.resource), {
    method: req.method ?? 'POST',
    headers,
  });
}

/**
 * Serves one POST: core decides (metadata and denials are answered and audited there); an
 * allowed request runs in a fresh stateless `McpServer`, and its audit record is written with
 * the status the SDK answers, before the answer leaves. With a strict audit sink that cannot
 * write, the client gets 503 instead.
 */
async function serveMcpPost(
  rs: ResourceServer,
  buildServer: () => McpServer,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const allowed = await authorizeNodeRequest(rs, req, res);
  if (!allowed) return;
  const server = buildServer();
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  const response = await transport.handleRequest(webRequest(req, rs), {
    parsedBody: allowed.message,
    authInfo: authInfoOf(rs, allowed),
  });
  try {
    await rs.complete(allowed.allow, { status: response.status });
  } catch {
    await response.body?.cancel();
    sendAnswer(res, rs.auditUnavailableAnswer());
    return;
  }
  await sendWebResponse(res, response);
}

/**
 * Serves a stateless Streamable HTTP MCP endpoint at the path of `rs.resource`, protected by
 * core's node:http adapter: metadata routes, then authentication and authorization before the
 * SDK sees the request, and one audit record per request with the status the client got.
 * `buildServer` makes a fresh `McpServer` per request (stateless mode).
 */
export async function serveProtectedMcp(
  rs: ResourceServer,
  buildServer: () => McpServer,
  options: { port?: number; host?: string },
): Promise<RunningHttpServer> {
  const path = new URL(rs.resource).pathname;
  const app = express();
  app.use(mcpAuthMetadata(rs));
  app.post(path, (req, res, next) => {
    serveMcpPost(rs, buildServer, req, res).catch(next);
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
