/**
 * Streamable HTTP upstream: forwards POST, GET and DELETE to one MCP endpoint through a keep-alive
 * undici `Pool`, and hands the answer back as a stream (JSON or SSE) without buffering it, except
 * when list results must be rewritten.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';
import { filterJsonBody, SseListFilter } from '../lists/filter.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import {
  UpstreamError,
  type Upstream,
  type UpstreamRequest,
  type UpstreamResponse,
} from './types.js';

/** Options of `HttpUpstream`. */
export interface HttpUpstreamOptions {
  /** The upstream MCP endpoint, e.g. `http://127.0.0.1:5001/mcp`. */
  readonly url: string;
  /** Time to connect and to receive response headers, in ms (default 30000); then 504. */
  readonly timeoutMs?: number;
  /** Largest JSON answer read for list filtering, in bytes (default 16 MiB); larger → 502. */
  readonly maxFilteredBodyBytes?: number;
  /** Most connections to the upstream (default 64). */
  readonly connections?: number;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT']);

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Forwards requests to one Streamable HTTP MCP endpoint.
 *
 * @example
 * ```ts
 * const upstream = new HttpUpstream({ url: 'http://127.0.0.1:5001/mcp', timeoutMs: 10_000 });
 * const answer = await upstream.forward(request);
 * ```
 */
export class HttpUpstream implements Upstream {
  readonly kind = 'http' as const;
  readonly #url: URL;
  readonly #pool: Pool;
  readonly #timeoutMs: number;
  readonly #maxFiltered: number;

  constructor(options: HttpUpstreamOptions) {
    this.#url = new URL(options.url);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxFiltered = options.maxFilteredBodyBytes ?? 16 * 1024 * 1024;
    this.#pool = new Pool(this.#url.origin, {
      connections: options.connections ?? 64,
      connect: { timeout: this.#timeoutMs },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: 0,
    });
  }

  async forward(request: UpstreamRequest): Promise<UpstreamResponse> {
    const path = this.#url.pathname + (request.query ? `?${request.query}` : '');
    const headers = upstreamRequestHeaders(request.headers, {
      token: request.token,
      forwarded: request.forwarded,
    });
    let answer: Awaited<ReturnType<Pool['request']>>;
    try {
      answer = await this.#pool.request({
        path,
        method: request.method as 'GET' | 'POST' | 'DELETE',
        headers,
        body: request.body,
        // undici takes any EventTarget-like signal (it checks for addEventListener at run time).
        signal: request.signal as AbortSignal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: 0,
      });
    } catch (error) {
      if (request.signal.aborted) throw error;
      const code = errorCode(error);
      if (code && TIMEOUT_CODES.has(code))
        throw new UpstreamError('upstream_timeout', `upstream did not answer in time (${code})`, {
          cause: error,
        });
      throw new UpstreamError('upstream_unavailable', `upstream unreachable (${code ?? 'error'})`, {
        cause: error,
      });
    }

    const raw = answer.headers as Record<string, string | string[] | undefined>;
    const contentType = String(raw['content-type'] ?? '').toLowerCase();
    const body = answer.body;
    const discard = (): void => {
      body.on('error', () => undefined); // destroying an unread undici body emits an abort error
      body.destroy();
    };
    const ok = answer.statusCode >= 200 && answer.statusCode < 300;
    const list = request.list;

    if (list && ok && contentType.startsWith('application/json')) {
      const text = await this.#readCapped(body);
      const rewritten = filterJsonBody(text, list);
      return {
        status: answer.statusCode,
        headers: clientResponseHeaders(raw, { bodyRewritten: true }),
        body: Readable.from([Buffer.from(rewritten)]),
        discard: () => undefined,
      };
    }
    if (list && ok && contentType.startsWith('text/event-stream')) {
      const filtered = new SseListFilter(list);
      pipeline(body, filtered, () => undefined);
      return {
        status: answer.statusCode,
        headers: clientResponseHeaders(raw, { bodyRewritten: true }),
        body: filtered,
        discard: () => {
          discard();
          filtered.on('error', () => undefined);
          filtered.destroy();
        },
      };
    }
    return {
      status: answer.statusCode,
      headers: clientResponseHeaders(raw),
      body,
      discard,
    };
  }

  async #readCapped(body: Readable): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > this.#maxFiltered) {
          body.destroy();
          throw new UpstreamError('upstream_error', 'upstream list answer too large to filter');
        }
        chunks.push(buf);
      }
    } catch (error) {
      if (error instanceof UpstreamError) throw error;
      throw new UpstreamError('upstream_unavailable', 'upstream answer broke off', {
        cause: error,
      });
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
