/**
 * node:http adapter: read a request's body under the size cap, answer metadata and denials, and
 * hand allowed requests to your handler. Also the helpers the Express adapter builds on.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderRecord } from '../bearer/bearer.js';
import type { HttpAnswer } from '../http/answers.js';
import { BodyTooLargeError, endAfterBody, readBody } from '../http/body.js';
import type { AllowResult, ResourceServer } from '../pipeline/resource-server.js';

/**
 * Reads a request body up to `maxBytes`. A larger one gives `maxBytes + 1` bytes, so the pipeline
 * answers 413 without holding the body in memory; its remainder is drained within the bounds of
 * `readBody` (`BODY_DRAIN_BYTES`, `BODY_DRAIN_MS`) while the answer is sent.
 */
export async function readBodyCapped(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  try {
    return await readBody(req, maxBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return Buffer.alloc(maxBytes + 1);
    throw error;
  }
}

/** Headers of a Node request with every value of repeated headers (two Authorization → both). */
export function nodeHeaders(req: IncomingMessage): HeaderRecord {
  return req.headersDistinct ?? req.headers;
}

/** Sends a ready-made answer on a Node response. */
export function sendAnswer(res: ServerResponse, answer: HttpAnswer): void {
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-length': Buffer.byteLength(answer.body),
  });
  res.end(answer.body);
}

/** Path of a request target without query (`/mcp?x=1` → `/mcp`). */
export function requestPath(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.search(/[?#]/);
  return q < 0 ? target : target.slice(0, q);
}

/** An allowed node:http request: the pipeline's result and the body already read. */
export interface NodeAllow {
  readonly allow: AllowResult;
  /** Raw body bytes (POST) — the request stream has been consumed. */
  readonly body: Buffer | undefined;
  /** Parsed JSON-RPC message (POST). */
  readonly message: unknown;
}

/**
 * Runs the pipeline for one node:http request. Metadata requests and denials are answered here
 * (and `undefined` returned); an allow is returned for the caller to serve, after which the caller
 * must call `resourceServer.complete(allow, { status })`.
 *
 * @example
 * ```ts
 * http.createServer(async (req, res) => {
 *   const ok = await authorizeNodeRequest(rs, req, res);
 *   if (!ok) return;
 *   await rs.complete(ok.allow, { status: 200 });
 *   res.end('...');
 * });
 * ```
 */
export async function authorizeNodeRequest(
  rs: ResourceServer,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<NodeAllow | undefined> {
  const method = req.method ?? 'GET';
  const metadata = rs.answerMetadata(method, requestPath(req.url));
  if (metadata) {
    sendAnswer(res, metadata);
    return undefined;
  }
  const body =
    method.toUpperCase() === 'POST' ? await readBodyCapped(req, rs.maxBodyBytes) : undefined;
  const result = await rs.authorize({
    method,
    url: req.url ?? '/',
    headers: nodeHeaders(req),
    ...(body !== undefined ? { body } : {}),
  });
  if (result.kind === 'deny') {
    if (result.status !== 413) {
      sendAnswer(res, result);
      return undefined;
    }
    // The connection closes after a 413; it stays open until the client has sent its body.
    res.writeHead(result.status, {
      ...result.headers,
      connection: 'close',
      'content-length': Buffer.byteLength(result.body),
    });
    endAfterBody(req, res, result.body);
    return undefined;
  }
  return { allow: result, body, message: result.operation.message };
}

/** Handler of an allowed request; the audit record is already written when it runs. */
export type ProtectedNodeHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  context: NodeAllow,
) => void | Promise<void>;

/**
 * Wraps a node:http handler so it only sees authenticated, authorized requests. The allow record
 * is written before the handler runs (its status is the decision; the handler's answer is not
 * known yet); with a strict sink that cannot write, the client gets 503.
 *
 * @example
 * ```ts
 * http.createServer(protectNodeHandler(rs, (req, res, { allow }) => res.end(allow.principal.subject)));
 * ```
 */
export function protectNodeHandler(
  rs: ResourceServer,
  handler: ProtectedNodeHandler,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void (async () => {
      const ok = await authorizeNodeRequest(rs, req, res);
      if (!ok) return;
      try {
        await rs.complete(ok.allow);
      } catch {
        sendAnswer(res, rs.auditUnavailableAnswer());
        return;
      }
      await handler(req, res, ok);
    })().catch(() => {
      if (!res.headersSent)
        sendAnswer(res, {
          status: 500,
          headers: { 'content-type': 'application/json' },
          body: '{"error":"server_error"}',
        });
      else res.destroy();
    });
  };
}
