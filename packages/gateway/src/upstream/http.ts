/**
 * Streamable HTTP upstream: forwards POST, GET and DELETE to one MCP endpoint through a keep-alive
 * undici `Pool`, and hands the answer back without buffering it, except when list results must be
 * rewritten.
 *
 * The exchange runs on undici's `dispatch` handler API rather than `request`: the answer's chunks
 * go straight from the upstream socket into the client's response (`UpstreamResponse.sendTo`),
 * with the upstream paused while the client's response is full. No `Readable` sits in between
 * unless a caller asks for `body` (list filtering of SSE streams, tests, embedders).
 */
import { pipeline, Readable, type Writable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { filterJsonBody, SseListFilter, type ListFilterContext } from '../lists/filter.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import {
  UpstreamError,
  type Upstream,
  type UpstreamAbortSignal,
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

/** The error the caller sees when the upstream could not be asked or did not answer. */
function requestFailure(error: Error): UpstreamError {
  const code = errorCode(error);
  if (code && TIMEOUT_CODES.has(code))
    return new UpstreamError('upstream_timeout', `upstream did not answer in time (${code})`, {
      cause: error,
    });
  return new UpstreamError('upstream_unavailable', `upstream unreachable (${code ?? 'error'})`, {
    cause: error,
  });
}

const noop = (): void => undefined;

/** The media type of a Content-Type value, lower-cased, without parameters. */
function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** The 502 a list answer gets when the gateway cannot filter it. */
function unfilterable(error: unknown): UpstreamError {
  const detail = error instanceof Error ? error.message : String(error);
  return new UpstreamError('upstream_error', `upstream list answer cannot be filtered: ${detail}`, {
    cause: error,
  });
}

/** Chunks held for a client that is not attached yet (the audit record is being written). */
const HELD_BYTES_LIMIT = 64 * 1024;

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

  forward(request: UpstreamRequest): Promise<UpstreamResponse> {
    const signal = request.signal;
    // An aborted signal rejects with its reason before anything is sent (as undici's request does).
    if (signal.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const call = new UpstreamCall(resolve, reject, signal, request.list, this.#maxFiltered);
      this.#pool.dispatch(
        {
          path: request.query ? `${this.#url.pathname}?${request.query}` : this.#url.pathname,
          method: request.method as Dispatcher.HttpMethod,
          headers: upstreamRequestHeaders(request.headers, {
            token: request.token,
            forwarded: request.forwarded,
          }),
          body: request.body ?? null,
          headersTimeout: this.#timeoutMs,
          bodyTimeout: 0,
        },
        call,
      );
    });
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/**
 * One upstream exchange: undici's dispatch handler and, once the status and headers are in, the
 * `UpstreamResponse` handed to the gateway. Body chunks that arrive before the gateway attaches the
 * client (`sendTo`) are held, up to {@link HELD_BYTES_LIMIT} before the upstream is paused; a small
 * JSON answer is usually complete by then and goes out with the headers in one write.
 */
class UpstreamCall implements Dispatcher.DispatchHandler, UpstreamResponse {
  status = 0;
  headers: UpstreamResponse['headers'] = {};
  #resolve: ((answer: UpstreamResponse) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  readonly #signal: UpstreamAbortSignal;
  readonly #list: ListFilterContext | undefined;
  readonly #maxFiltered: number;
  #controller: Dispatcher.DispatchController | undefined;
  /**
   * A list answer read whole before it is answered: `json` to be filtered, `empty` of another type,
   * which may only be empty (it cannot be filtered).
   */
  #collect: 'json' | 'empty' | undefined;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #ended = false;
  #error: Error | undefined;
  #discarded = false;
  #out: Writable | undefined;
  #waitingDrain = false;
  #readable: Readable | undefined;

  constructor(
    resolve: (answer: UpstreamResponse) => void,
    reject: (error: unknown) => void,
    signal: UpstreamAbortSignal,
    list: ListFilterContext | undefined,
    maxFiltered: number,
  ) {
    this.#resolve = resolve;
    this.#reject = reject;
    this.#signal = signal;
    this.#list = list;
    this.#maxFiltered = maxFiltered;
    signal.addEventListener('abort', this.#onAbort);
  }

  readonly #onAbort = (): void => {
    const reason = this.#signal.reason ?? new Error('aborted');
    // Not yet started: onRequestStart aborts it. Started: undici reports it to onResponseError.
    this.#controller?.abort(reason instanceof Error ? reason : new Error(String(reason)));
  };

  readonly #onDrain = (): void => {
    this.#waitingDrain = false;
    this.#controller?.resume();
  };

  // ---- undici's dispatch handler ----

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#signal.aborted) this.#onAbort();
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx informational: the answer is still to come
    if (Array.isArray(headers['content-type'])) {
      // Two Content-Types make the answer's kind ambiguous: list filtering and the stream rules
      // (token-expiry cut-off) key on it, so it is refused rather than passed through.
      this.#fail(
        new UpstreamError('upstream_error', 'upstream answered with more than one Content-Type'),
      );
      _controller.abort(new Error('ambiguous upstream content type'));
      return;
    }
    this.status = statusCode;
    const list = this.#list;
    if (list && statusCode < 300) {
      // A 2xx answer that may carry a list: it leaves only filtered, as JSON or SSE. Any other
      // type may only be empty (202, 204, or an empty body); with a body it is refused.
      this.headers = clientResponseHeaders(headers, { bodyRewritten: true });
      const type = mediaType(headers['content-type']);
      if (type === 'text/event-stream') this.#filterStream(list);
      else this.#collect = type === 'application/json' ? 'json' : 'empty'; // see onResponseEnd
      return;
    }
    this.headers = clientResponseHeaders(headers);
    this.#settle(this);
  }

  /**
   * Sends an SSE answer through `SseListFilter`. A GET stream is handed out at once (it may stay
   * silent for long, and the client waits for its headers). A POST list answer is handed out with
   * the filter's first output, so a stream that fails before it is refused 502 rather than cut;
   * once output went out, a failure cuts the client's stream.
   */
  #filterStream(list: ListFilterContext): void {
    const filtered = new SseListFilter(list);
    pipeline(this.body, filtered, noop);
    const answer: UpstreamResponse = {
      status: this.status,
      headers: this.headers,
      body: filtered,
      // The filter may have failed before the client is attached (while the audit record is
      // written): the client's stream is then cut at once rather than left waiting.
      sendTo: (out) => {
        if (filtered.errored) {
          out.destroy();
          return;
        }
        filtered.once('error', () => {
          if (!out.writableEnded) out.destroy();
        });
        filtered.pipe(out);
      },
      discard: () => {
        this.discard();
        filtered.on('error', noop);
        filtered.destroy();
      },
    };
    if (list.method === undefined) {
      this.#settle(answer);
      return;
    }
    const onFirstOutput = (): void => {
      filtered.off('error', onFailure);
      this.#settle(answer);
    };
    const onFailure = (error: Error): void => {
      filtered.off('readable', onFirstOutput);
      if (!this.#resolve) return; // the exchange already failed (onResponseError)
      this.#fail(unfilterable(error));
      if (!this.#ended) this.#controller?.abort(new Error('list stream cannot be filtered'));
    };
    // 'readable' comes with the first output or at the end of an empty stream; once the listener
    // is gone the stream flows again when the gateway pipes it to the client.
    filtered.once('readable', onFirstOutput);
    filtered.once('error', onFailure);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#discarded) return;
    const out = this.#out;
    if (out) {
      if (!out.write(chunk) && !this.#waitingDrain) {
        this.#waitingDrain = true;
        controller.pause();
        out.once('drain', this.#onDrain);
      }
      return;
    }
    const readable = this.#readable;
    if (readable) {
      if (!readable.push(chunk)) controller.pause();
      return;
    }
    if (this.#collect === 'empty') {
      if (chunk.length === 0) return;
      this.#fail(unfilterable(new Error('neither JSON nor SSE')));
      controller.abort(new Error('list answer of another type'));
      return;
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (this.#collect) {
      if (this.#heldBytes > this.#maxFiltered) {
        this.#fail(new UpstreamError('upstream_error', 'upstream list answer too large to filter'));
        controller.abort(new Error('list answer too large'));
      }
    } else if (this.#heldBytes > HELD_BYTES_LIMIT) controller.pause();
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#signal.removeEventListener('abort', this.#onAbort);
    if (this.#discarded) return;
    if (this.#collect) {
      const list = this.#list as ListFilterContext;
      const text = Buffer.concat(this.#held, this.#heldBytes).toString('utf8');
      this.#held = [];
      if (
        text === '' &&
        (this.#collect === 'empty' || this.status === 202 || this.status === 204)
      ) {
        this.#settle(new BufferedAnswer(this.status, this.headers, ''));
        return;
      }
      let filtered: string;
      try {
        filtered = filterJsonBody(text, list);
      } catch (error) {
        this.#fail(unfilterable(error));
        return;
      }
      this.#settle(new BufferedAnswer(this.status, this.headers, filtered));
      return;
    }
    if (this.#out) this.#out.end();
    else if (this.#readable) this.#readable.push(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    if (this.#resolve) {
      // No answer yet (or a list answer still being read).
      if (this.#signal.aborted) this.#fail(error);
      else if (this.#collect)
        this.#fail(
          new UpstreamError('upstream_unavailable', 'upstream answer broke off', { cause: error }),
        );
      else this.#fail(requestFailure(error));
      // A POST SSE list answer still waiting for its first output: its filter is let go.
      this.#readable?.destroy();
      return;
    }
    this.#error = error;
    this.#held = [];
    if (this.#discarded) return; // the gateway let go of this answer: leave the client alone
    const out = this.#out;
    if (out) {
      if (!out.writableEnded) out.destroy();
    } else if (this.#readable) this.#readable.destroy(error);
  }

  // ---- the answer ----

  /** The body as a stream (built on first use; then `sendTo` is no longer available). */
  get body(): Readable {
    if (this.#readable) return this.#readable;
    const readable = new Readable({
      read: () => this.#controller?.resume(),
      destroy: (error, done) => {
        if (!this.#ended) this.discard();
        done(error);
      },
    });
    this.#readable = readable;
    for (const chunk of this.#held) readable.push(chunk);
    this.#held = [];
    if (this.#error) readable.destroy(this.#error);
    else if (this.#ended) readable.push(null);
    return readable;
  }

  sendTo(out: Writable): void {
    if (this.#readable) {
      this.#readable.pipe(out);
      return;
    }
    if (this.#error) {
      out.destroy();
      return;
    }
    this.#out = out;
    const held = this.#held;
    this.#held = [];
    if (this.#ended) {
      if (held.length === 1) out.end(held[0]);
      else {
        for (const chunk of held) out.write(chunk);
        out.end();
      }
      return;
    }
    let writable = true;
    for (const chunk of held) writable = out.write(chunk);
    if (!writable) {
      // The client cannot take more now: the upstream waits too (it may not be paused yet when
      // less than the held limit arrived before the client was attached).
      this.#waitingDrain = true;
      this.#controller?.pause();
      out.once('drain', this.#onDrain);
    } else this.#controller?.resume();
  }

  discard(): void {
    if (this.#discarded) return;
    this.#discarded = true;
    this.#held = [];
    const out = this.#out;
    this.#out = undefined;
    if (out && this.#waitingDrain) out.off('drain', this.#onDrain);
    this.#signal.removeEventListener('abort', this.#onAbort);
    if (!this.#ended && !this.#error) this.#controller?.abort(new Error('answer discarded'));
    const readable = this.#readable;
    if (readable && !readable.destroyed) {
      readable.on('error', noop);
      readable.destroy();
    }
  }

  #settle(answer: UpstreamResponse): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#reject = undefined;
    resolve?.(answer);
  }

  #fail(error: unknown): void {
    const reject = this.#reject;
    this.#resolve = undefined;
    this.#reject = undefined;
    this.#discarded = true;
    this.#held = [];
    reject?.(error);
  }
}

/** A list answer after filtering: read whole, sent whole. */
class BufferedAnswer implements UpstreamResponse {
  readonly status: number;
  readonly headers: UpstreamResponse['headers'];
  readonly #bytes: Buffer;
  #body: Readable | undefined;

  constructor(status: number, headers: UpstreamResponse['headers'], text: string) {
    this.status = status;
    this.headers = headers;
    this.#bytes = Buffer.from(text);
  }

  get body(): Readable {
    this.#body ??= Readable.from([this.#bytes]);
    return this.#body;
  }

  sendTo(out: Writable): void {
    out.end(this.#bytes);
  }

  discard(): void {}
}
