/**
 * Bearer token extraction (RFC 6750) from framework-neutral request parts. Only the
 * `Authorization` header carries a token; query and form tokens are never accepted, and a token
 * sent both ways is a malformed request. Nothing here parses, decodes or fetches the token.
 */
import { InvalidRequestError, InvalidTokenError } from '../errors.js';

/** Request headers as Node and most frameworks expose them (names in any case). */
export type HeaderRecord = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Default maximum token length in characters (8 KiB). */
export const DEFAULT_MAX_BEARER_LENGTH = 8192;

/** What `extractBearerToken` reads. */
export interface BearerInput {
  /** Request headers. Pass every value of a repeated header (Node: `req.headersDistinct`). */
  readonly headers: HeaderRecord;
  /** Parsed query parameters (only `access_token` is looked at). */
  readonly query?: URLSearchParams | Readonly<Record<string, unknown>>;
  /** Parsed form body when the request is `application/x-www-form-urlencoded`. */
  readonly form?: URLSearchParams | Readonly<Record<string, unknown>>;
}

/** Options of `extractBearerToken`. */
export interface BearerOptions {
  /**
   * Longest accepted token, in characters. Longer → `InvalidTokenError('token_too_large')`
   * (401 `invalid_token`), decided from the header length alone. Default 8192.
   */
  readonly maxTokenLength?: number;
}

/** Result of `extractBearerToken`: a syntactically valid token, or no usable credentials. */
export type BearerResult =
  { readonly kind: 'token'; readonly token: string } | { readonly kind: 'absent' };

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const ABSENT: BearerResult = Object.freeze({ kind: 'absent' });

/** All values of a header, looking the name up case-insensitively. */
export function headerValues(headers: HeaderRecord, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  // Called several times per request: compare lengths before folding case, and skip the
  // [key, value] pairs of Object.entries.
  for (const key of Object.keys(headers)) {
    if (key.length !== wanted.length || (key !== wanted && key.toLowerCase() !== wanted)) continue;
    const value = headers[key];
    if (value === undefined) continue;
    if (typeof value === 'string') values.push(value);
    else values.push(...value);
  }
  return values;
}

/** The single value of a header; `undefined` when absent; the values joined by `, ` when repeated. */
export function headerValue(headers: HeaderRecord, name: string): string | undefined {
  const values = headerValues(headers, name);
  return values.length === 0 ? undefined : values.join(', ');
}

function hasAccessToken(source: BearerInput['query']): boolean {
  if (source === undefined) return false;
  if (source instanceof URLSearchParams) return source.has('access_token');
  return Object.prototype.hasOwnProperty.call(source, 'access_token');
}

/**
 * Extracts the bearer token from the `Authorization` header, strictly:
 *
 * - no header, or another scheme (`Basic …`) → `{ kind: 'absent' }` (answer 401 without `error`);
 * - scheme matched case-insensitively (`bearer`, `BEARER`);
 * - two `Authorization` headers, an empty or all-space token, a token outside the RFC 6750
 *   `b64token` grammar, or a header token plus `access_token` in the query or form body →
 *   `InvalidRequestError('invalid_request')` (400);
 * - a token longer than `maxTokenLength` → `InvalidTokenError('token_too_large')` (401);
 * - `access_token` only in the query or form body → `{ kind: 'absent' }`: such tokens are never
 *   used (strip them with `stripAccessToken` before forwarding or logging a URL).
 *
 * @example
 * ```ts
 * const r = extractBearerToken({ headers: req.headersDistinct, query: url.searchParams });
 * if (r.kind === 'absent') return challenge401();
 * ```
 */
export function extractBearerToken(input: BearerInput, options: BearerOptions = {}): BearerResult {
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_BEARER_LENGTH;
  const values = headerValues(input.headers, 'authorization');
  if (values.length > 1) {
    throw new InvalidRequestError('invalid_request', 'more than one Authorization header');
  }
  const header = values[0];
  // Decide on size before looking inside: "Bearer" + spaces + token, with slack for spaces.
  if (header !== undefined && header.length > maxTokenLength + 64) {
    throw new InvalidTokenError('token_too_large', 'Authorization header exceeds the size cap');
  }
  if (header === undefined) return ABSENT;
  let start: number;
  if (header.startsWith('Bearer ')) {
    // The usual spelling: what the scheme pattern below matches, without running it.
    start = 7;
    while (header.charCodeAt(start) === 0x20) start++;
  } else {
    const match = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?: +|$)/.exec(header);
    // A scheme we do not accept: no usable credentials.
    if (match === null || match[1]!.toLowerCase() !== 'bearer') return ABSENT;
    start = match[0].length;
  }
  // Trailing spaces and tabs dropped (a loop: a `[ \t]+$` pattern tries every position).
  let end = header.length;
  for (let c = header.charCodeAt(end - 1); end > start && (c === 0x20 || c === 0x09);) {
    c = header.charCodeAt(--end - 1);
  }
  const token = header.slice(start, end);
  if (token.length === 0) {
    throw new InvalidRequestError('invalid_request', 'empty bearer token');
  }
  if (token.length > maxTokenLength) {
    throw new InvalidTokenError('token_too_large', 'bearer token exceeds the size cap');
  }
  if (!B64TOKEN.test(token)) {
    throw new InvalidRequestError('invalid_request', 'bearer token is not a b64token');
  }
  if (hasAccessToken(input.query) || hasAccessToken(input.form)) {
    throw new InvalidRequestError('invalid_request', 'token sent in more than one way');
  }
  return { kind: 'token', token };
}

/**
 * Removes every `access_token` parameter from a URL's query, for forwarding or logging. Accepts
 * an absolute URL or a request target (`/mcp?x=1`) and returns the same form.
 *
 * @example
 * ```ts
 * stripAccessToken('/mcp?access_token=abc&x=1'); // '/mcp?x=1'
 * ```
 */
export function stripAccessToken(url: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return url;
  const hashStart = url.indexOf('#', queryStart);
  const base = url.slice(0, queryStart);
  const query = url.slice(queryStart + 1, hashStart < 0 ? undefined : hashStart);
  const hash = hashStart < 0 ? '' : url.slice(hashStart);
  const kept = query.split('&').filter((pair) => {
    const name = pair.split('=', 1)[0] ?? '';
    let decoded: string;
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      decoded = name;
    }
    return decoded !== 'access_token';
  });
  return kept.length === 0 ? `${base}${hash}` : `${base}?${kept.join('&')}${hash}`;
}
