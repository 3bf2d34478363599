/**
 * Express adapter for `@modelcontextprotocol/sdk` servers: serves the RFC 9728 metadata routes and
 * guards the MCP endpoint, so the SDK only sees authorized JSON-RPC calls. Tool handlers read the
 * caller from `extra.authInfo.extra.principal`. Express is not imported: handlers are typed
 * structurally over node:http, so this package does not depend on it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpOperation } from '../mcp/operation.js';
import type { Principal } from '../principal/principal.js';
import type { ResourceServer } from '../pipeline/resource-server.js';
import { nodeHeaders, readBodyCapped, requestPath, sendAnswer } from './node.js';

/**
 * The SDK's `AuthInfo` shape (`@modelcontextprotocol/sdk/server/auth/types.js`), set as `req.auth`.
 * `extra.principal` is the verified `Principal`, `extra.operation` the authorized operation.
 */
export interface McpAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: URL;
  extra?: Record<string, unknown> & { principal?: Principal; operation?: McpOperation };
}

/** The parts of an Express request the adapter uses. */
export type ExpressLikeRequest = IncomingMessage & {
  body?: unknown;
  auth?: McpAuthInfo;
  originalUrl?: string;
};
/** Express `next`. */
export type NextFunctionLike = (error?: unknown) => void;
/** An Express-compatible middleware. */
export type ExpressLikeHandler = (
  req: ExpressLikeRequest,
  res: ServerResponse,
  next: NextFunctionLike,
) => void;

/** Reads the verified principal from an SDK handler's `extra.authInfo` (undefined if absent). */
export function principalOf(
  authInfo: { extra?: Record<string, unknown> } | undefined,
): Principal | undefined {
  return authInfo?.extra?.['principal'] as Principal | undefined;
}

/**
 * Middleware serving the metadata document at its well-known paths (GET, OPTIONS with CORS);
 * every other request passes to `next`. Mount it at the application root.
 *
 * @example
 * ```ts
 * app.use(mcpAuthMetadata(rs));
 * ```
 */
export function mcpAuthMetadata(rs: ResourceServer): ExpressLikeHandler {
  return (req, res, next) => {
    const answer = rs.answerMetadata(req.method ?? 'GET', requestPath(req.originalUrl ?? req.url));
    if (answer) sendAnswer(res, answer);
    else next();
  };
}

/**
 * Middleware guarding the MCP endpoint: reads the body (or `express.json()`'s result),
 * authenticates the bearer token, authorizes the JSON-RPC operation, writes the audit record,
 * then sets `req.auth` (SDK `AuthInfo`) and `req.body` (the parsed message) and calls `next`.
 * Denials are answered here (401/400/403/413/415/503 per the error model); the SDK never runs.
 * Pass `req.body` to `transport.handleRequest(req, res, req.body)`: the stream has been read.
 *
 * The audit record of an allowed request is written before the SDK handles it, so its `status`
 * is unset (the SDK's answer is not known yet).
 *
 * @example
 * ```ts
 * app.post('/mcp', requireMcpAuth(rs), (req, res) => transport.handleRequest(req, res, req.body));
 * ```
 */
export function requireMcpAuth(rs: ResourceServer): ExpressLikeHandler {
  return (req, res, next) => {
    void (async () => {
      const method = req.method ?? 'GET';
      const parsed =
        req.body !== undefined && !Buffer.isBuffer(req.body) && typeof req.body !== 'string';
      const body =
        method.toUpperCase() !== 'POST' || parsed
          ? undefined
          : Buffer.isBuffer(req.body) || typeof req.body === 'string'
            ? req.body
            : await readBodyCapped(req, rs.maxBodyBytes);
      const result = await rs.authorize({
        method,
        url: req.originalUrl ?? req.url ?? '/',
        headers: nodeHeaders(req),
        ...(body !== undefined ? { body } : {}),
        ...(parsed && method.toUpperCase() === 'POST' ? { json: req.body } : {}),
      });
      if (result.kind === 'deny') {
        sendAnswer(res, result);
        return;
      }
      try {
        await rs.complete(result);
      } catch {
        sendAnswer(res, rs.auditUnavailableAnswer());
        return;
      }
      const p = result.principal;
      req.auth = {
        token: result.token,
        clientId: p.clientId,
        scopes: [...p.scopes],
        expiresAt: p.expiresAt,
        resource: new URL(rs.resource),
        extra: { principal: p, operation: result.operation },
      };
      if (result.operation.message !== undefined) req.body = result.operation.message;
      next();
    })().catch(next);
  };
}
