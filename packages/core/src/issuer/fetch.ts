/**
 * The one way verification code talks to an IdP: global fetch (undici) with a timeout, no redirects
 * and a response size cap. Callers decide which URLs are allowed (see url.ts) before calling.
 */
import { McpIamError } from '../errors.js';

/** Largest metadata, JWKS or introspection response read, bytes. */
export const MAX_RESPONSE_BYTES = 512 * 1024;

/** A failed IdP request; `status` is set when the IdP answered. Messages never contain secrets. */
export class IdpFetchError extends McpIamError<'idp_request_failed'> {
  readonly status?: number;
  constructor(message: string, options?: { status?: number; cause?: unknown }) {
    super(
      'idp_request_failed',
      message,
      options?.cause !== undefined ? { cause: options.cause } : undefined,
    );
    this.name = 'IdpFetchError';
    if (options?.status !== undefined) this.status = options.status;
  }
}

/** Largest depth of `cause` links {@link fetchFailureCause} follows. */
const MAX_CAUSE_DEPTH = 5;

/**
 * Why a request got no answer, in a few words an operator can act on: the system error code
 * (`ECONNREFUSED`, `ENOTFOUND`, `ECONNRESET`, a TLS code such as `CERT_HAS_EXPIRED`), or
 * `ETIMEDOUT` for a timeout, found by following the error's `cause` chain (global fetch wraps
 * them in a `TypeError: fetch failed`). Falls back to the innermost message.
 *
 * @example
 * ```ts
 * try { await fetch('http://127.0.0.1:1/') } catch (e) { fetchFailureCause(e) } // 'ECONNREFUSED'
 * ```
 */
export function fetchFailureCause(error: unknown): string {
  let current: unknown = error;
  let innermost = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current instanceof Error; depth++) {
    if (current.name === 'TimeoutError' || current.name === 'AbortError') return 'ETIMEDOUT';
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) {
      return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT'
        ? 'ETIMEDOUT'
        : code;
    }
    innermost = current.message;
    current = current.cause;
  }
  return innermost;
}

/**
 * Performs one request with `redirect: 'manual'` (a redirect is an error) and a timeout, and reads
 * the body as text, refusing bodies above `MAX_RESPONSE_BYTES`. Resolves with status and text.
 */
export async function fetchText(
  url: URL,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  timeoutMs: number,
): Promise<{ status: number; contentType: string; text: string }> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      ...(init.headers ? { headers: init.headers } : {}),
      ...(init.body !== undefined ? { body: init.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new IdpFetchError(
      `request to ${url.origin}${url.pathname} failed (${fetchFailureCause(cause)})`,
      { cause },
    );
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new IdpFetchError(
      `${url.origin}${url.pathname} answered with a redirect (not followed)`,
      {
        status: response.status,
      },
    );
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_RESPONSE_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new IdpFetchError(`${url.origin}${url.pathname} response too large`, {
      status: response.status,
    });
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    if (response.body) {
      for await (const chunk of response.body) {
        total += chunk.byteLength;
        if (total > MAX_RESPONSE_BYTES) {
          await response.body.cancel().catch(() => undefined);
          throw new IdpFetchError(`${url.origin}${url.pathname} response too large`);
        }
        chunks.push(chunk);
      }
    }
  } catch (cause) {
    if (cause instanceof IdpFetchError) throw cause;
    throw new IdpFetchError(
      `reading ${url.origin}${url.pathname} failed (${fetchFailureCause(cause)})`,
      { cause },
    );
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text: Buffer.concat(chunks).toString('utf8'),
  };
}

/** GETs a JSON object document (metadata, JWKS). Non-200, non-JSON or non-object → `IdpFetchError`. */
export async function fetchJsonObject(
  url: URL,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const { status, text } = await fetchText(
    url,
    { headers: { accept: 'application/json' } },
    timeoutMs,
  );
  if (status !== 200) {
    throw new IdpFetchError(`${url.origin}${url.pathname} answered ${status}`, { status });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new IdpFetchError(`${url.origin}${url.pathname} did not return JSON`, { status, cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new IdpFetchError(`${url.origin}${url.pathname} did not return a JSON object`, {
      status,
    });
  }
  return parsed as Record<string, unknown>;
}
