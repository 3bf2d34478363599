/**
 * Web-standard adapter (`Request` → `Response` or allow) for Hono, Bun, Deno-style and other
 * fetch-based servers. The body is read once under the size cap and handed back parsed, so the
 * MCP transport can use it (e.g. the SDK's `WebStandardStreamableHTTPServerTransport` with
 * `parsedBody`).
 */
import type { HttpAnswer } from '../http/answers.js';
import type { AllowResult, CompleteOptions, ResourceServer } from '../pipeline/resource-server.js';

/** An allowed Web request. Call `complete` before returning the response. */
export interface FetchAllow {
  readonly kind: 'allow';
  readonly allow: AllowResult;
  /** The parsed JSON-RPC message (POST), for the transport's `parsedBody`. */
  readonly parsedBody: unknown;
  /** Writes the audit record (see `ResourceServer.complete`). */
  complete(options?: CompleteOptions): Promise<void>;
}

/** Turns a ready-made answer into a Web `Response`. */
export function toWebResponse(answer: HttpAnswer): Response {
  const bodyless = answer.status === 204 || answer.status === 304;
  return new Response(bodyless ? null : answer.body, {
    status: answer.status,
    headers: answer.headers,
  });
}

async function readCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    return new Uint8Array(maxBytes + 1);
  }
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  const out = new Uint8Array(Math.min(size, maxBytes + 1));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, out.byteLength - offset);
    out.set(part, offset);
    offset += part.byteLength;
    if (offset >= out.byteLength) break;
  }
  return out;
}

/**
 * Runs the pipeline for a Web `Request`: metadata and denials come back as a `Response` (already
 * audited); an allow comes back as `FetchAllow`. Headers are read from the `Request` (repeated
 * `Authorization` headers arrive joined by `, ` and are refused as malformed).
 *
 * @example
 * ```ts
 * app.all('/mcp', async (c) => {
 *   const r = await authorizeFetchRequest(rs, c.req.raw);
 *   if (r instanceof Response) return r;
 *   const response = await transport.handleRequest(c.req.raw, { parsedBody: r.parsedBody });
 *   await r.complete({ status: response.status });
 *   return response;
 * });
 * ```
 */
export async function authorizeFetchRequest(
  rs: ResourceServer,
  request: Request,
): Promise<Response | FetchAllow> {
  const url = new URL(request.url);
  const metadata = rs.answerMetadata(request.method, url.pathname);
  if (metadata) return toWebResponse(metadata);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const body =
    request.method.toUpperCase() === 'POST'
      ? await readCapped(request, rs.maxBodyBytes)
      : undefined;
  const result = await rs.authorize({
    method: request.method,
    url: `${url.pathname}${url.search}`,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  if (result.kind === 'deny') return toWebResponse(result);
  return {
    kind: 'allow',
    allow: result,
    parsedBody: result.operation.message,
    complete: async (options) => {
      await rs.complete(result, options);
    },
  };
}
