/**
 * What the server asks of an upstream (an HTTP MCP endpoint or a stdio process) and what it gets
 * back: a status, safe headers and a body stream that has not been read yet.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { McpIamError, type ReasonCode } from '@mcp-iam/core';
import type { ListFilterContext } from '../lists/filter.js';
import type { ForwardedFor } from './headers.js';

/** One request for the upstream, after the guard allowed it. */
export interface UpstreamRequest {
  /** `POST`, `GET` or `DELETE`. */
  readonly method: string;
  /** Query string to forward (without `?`, already stripped of `access_token`). */
  readonly query: string;
  /** Client headers, already stripped of identity headers; credentials are removed on the way. */
  readonly headers: IncomingHttpHeaders;
  /** POST body. */
  readonly body?: Buffer;
  /** Token for the upstream, from the guard; never the caller's token. */
  readonly token?: string;
  /**
   * The caller's principal key (core's `principalKey`: issuer, kind and subject): selects the
   * stdio process with `isolation: per-subject` and scopes notifications to the caller's requests.
   */
  readonly principalKey: string;
  /** Request id, for logs. */
  readonly requestId: string;
  /** When set, list results in the answer are rewritten. */
  readonly list?: ListFilterContext;
  /** The gateway's own forwarding headers, when enabled for the route. */
  readonly forwarded?: ForwardedFor;
  /** Aborted when the client goes away or the gateway stops. */
  readonly signal: UpstreamAbortSignal;
}

/**
 * What an upstream needs of an abort signal: an `AbortSignal` fits, and so does the gateway's own
 * per-request {@link UpstreamAbort}, which is much cheaper to create than an `AbortController`.
 */
export interface UpstreamAbortSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A one-shot abort signal for one upstream request. Node's `AbortController` builds a full
 * `EventTarget` per request, a measurable share of the gateway's per-request CPU; this holds at
 * most a couple of listeners, which is all an upstream request ever registers.
 *
 * @example
 * ```ts
 * const abort = new UpstreamAbort();
 * void upstream.forward({ ...request, signal: abort });
 * res.once('close', () => abort.abort());
 * ```
 */
export class UpstreamAbort implements UpstreamAbortSignal {
  #aborted = false;
  #reason: unknown;
  #listeners: Array<() => void> = [];

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  addEventListener(type: 'abort', listener: () => void): void {
    if (type === 'abort' && !this.#aborted) this.#listeners.push(listener);
  }

  removeEventListener(type: 'abort', listener: () => void): void {
    const index = type === 'abort' ? this.#listeners.indexOf(listener) : -1;
    if (index >= 0) this.#listeners.splice(index, 1);
  }

  /** Aborts once; listeners run once, in the order they were added. */
  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const listener of listeners) listener();
  }
}

/** The upstream's answer; the body has not been consumed. */
export interface UpstreamResponse {
  readonly status: number;
  /** Headers safe for the client (hop-by-hop and identity-claiming headers removed). */
  readonly headers: OutgoingHttpHeaders;
  readonly body: Readable;
  /** Releases the answer without sending it (e.g. when the audit write failed). */
  discard(): void;
  /**
   * Optional fast path instead of reading `body`: writes the body into `out` (the client's
   * response) as it arrives, pausing the upstream while `out` is full, ends `out` when the body is
   * complete and destroys it when the body breaks off. Use either this or `body`, not both.
   */
  sendTo?(out: Writable): void;
}

/** An MCP server behind a route. */
export interface Upstream {
  /** `http` or `stdio`. */
  readonly kind: 'http' | 'stdio';
  /** Sends one request; rejects with `UpstreamError` when the upstream cannot answer. */
  forward(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** Closes connections or stops processes. */
  close(): Promise<void>;
}

/** Reason codes of upstream failures. */
export type UpstreamErrorCode = Extract<
  ReasonCode,
  'upstream_unavailable' | 'upstream_timeout' | 'upstream_error'
>;

/**
 * The upstream could not answer: `upstream_unavailable` (502: refused, reset, process gone, or 503
 * when a process limit is reached), `upstream_timeout` (504), `upstream_error` (502).
 */
export class UpstreamError extends McpIamError {
  /** HTTP status the client receives. */
  readonly status: number;

  constructor(
    code: UpstreamErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(code, message, options);
    this.status = options?.status ?? (code === 'upstream_timeout' ? 504 : 502);
  }
}
