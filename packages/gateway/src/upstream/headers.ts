/**
 * Header hygiene between client, gateway and upstream: which headers are hop-by-hop, which claim an
 * identity (and so may only ever be set by the gateway), and what crosses in each direction.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1), never forwarded in either direction. */
export const HOP_BY_HOP_HEADERS: readonly string[] = [
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
];

const IDENTITY_EXACT = new Set([
  'forwarded',
  'x-real-ip',
  'x-remote-user',
  'remote-user',
  'x-user',
  'x-email',
  'x-client-cert',
  'x-ssl-client-cert',
]);
const IDENTITY_PREFIXES = ['x-forwarded-', 'x-auth-request-', 'x-mcp-iam-'];

/**
 * Whether a header claims an identity or a client address (`X-Forwarded-*`, `Forwarded`,
 * `X-Auth-Request-*`, `X-Mcp-Iam-*`, `X-Real-IP`, `Remote-User` …). Such headers are stripped from
 * client requests before any decision and from upstream answers.
 */
export function isIdentityHeader(name: string): boolean {
  const lower = name.toLowerCase();
  if (IDENTITY_EXACT.has(lower)) return true;
  // Every prefix starts with "x-": most names are decided by their first two characters.
  if (!lower.startsWith('x-')) return false;
  for (const prefix of IDENTITY_PREFIXES) if (lower.startsWith(prefix)) return true;
  return false;
}

const NO_TOKENS: ReadonlySet<string> = new Set();
const HOP_BY_HOP = new Set(HOP_BY_HOP_HEADERS);

const KEEP_ALIVE_TOKENS: ReadonlySet<string> = new Set(['keep-alive']);
const CLOSE_TOKENS: ReadonlySet<string> = new Set(['close']);

/** Names listed in a `Connection` header value (they are hop-by-hop for this message). */
function connectionTokens(value: string | string[] | number | undefined): ReadonlySet<string> {
  if (value === undefined) return NO_TOKENS;
  // The values nearly every message carries, without splitting them again each time.
  if (value === 'keep-alive' || value === 'Keep-Alive') return KEEP_ALIVE_TOKENS;
  if (value === 'close' || value === 'Close') return CLOSE_TOKENS;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

function isHopByHop(name: string, named: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || named.has(name);
}

/** A copy of the client's headers without identity-claiming headers (row 48). */
export function stripClientIdentityHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    if (!isIdentityHeader(name)) out[name] = headers[name];
  }
  return out;
}

/** A copy of Node's `headersDistinct` without identity-claiming headers (row 48). */
export function stripClientIdentityHeadersDistinct(
  headers: Readonly<Record<string, readonly string[] | undefined>>,
): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value !== undefined && !isIdentityHeader(name)) out[name] = value;
  }
  return out;
}

/** What the gateway states about the client to the upstream when `x_forwarded` is on. */
export interface ForwardedFor {
  readonly for: string;
  readonly proto: string;
  readonly host: string;
}

/** Options of `upstreamRequestHeaders`. */
export interface UpstreamHeaderOptions {
  /** Token for the upstream (`Authorization: Bearer …`); omitted when undefined. */
  readonly token?: string;
  /** The gateway's own X-Forwarded-For/-Proto/-Host; omitted when undefined (the default). */
  readonly forwarded?: ForwardedFor;
}

// Never forwarded: the caller's credentials and cookies, the caller's DPoP proof (bound to the
// gateway's URL), and headers the HTTP client computes itself.
const NEVER_FORWARDED = new Set([
  'authorization',
  'cookie',
  'dpop',
  'host',
  'content-length',
  'accept-encoding',
  'expect',
]);

/**
 * Headers for the upstream request: the client's headers (MCP session and protocol headers,
 * `Accept`, `Content-Type`, `Last-Event-ID`, `traceparent`/`tracestate` …) minus hop-by-hop,
 * credential, cookie and identity headers, plus the gateway's own `Authorization` when given.
 * `Accept-Encoding` is dropped so the upstream answers uncompressed (list filtering reads bodies).
 */
export function upstreamRequestHeaders(
  headers: IncomingHttpHeaders,
  options: UpstreamHeaderOptions = {},
): Record<string, string> {
  const named = connectionTokens(headers.connection);
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (NEVER_FORWARDED.has(lower) || isHopByHop(lower, named) || isIdentityHeader(lower)) continue;
    out[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (options.token !== undefined) out.authorization = `Bearer ${options.token}`;
  if (options.forwarded) {
    out['x-forwarded-for'] = options.forwarded.for;
    out['x-forwarded-proto'] = options.forwarded.proto;
    out['x-forwarded-host'] = options.forwarded.host;
  }
  return out;
}

// Upstream answers may not set credentials, challenge the client on the upstream's behalf, set
// cookies on the gateway's origin, or decide CORS for the gateway.
const STRIPPED_RESPONSE = new Set(['www-authenticate', 'authorization', 'set-cookie']);

/**
 * Headers of the upstream's answer that may reach the client: without hop-by-hop headers,
 * identity-claiming headers, `WWW-Authenticate`, `Set-Cookie`, `Access-Control-*`, and (when the
 * body is rewritten) `Content-Length`.
 */
export function clientResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  options: { readonly bodyRewritten?: boolean } = {},
): OutgoingHttpHeaders {
  const named = connectionTokens(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (
      isHopByHop(lower, named) ||
      isIdentityHeader(lower) ||
      STRIPPED_RESPONSE.has(lower) ||
      lower.startsWith('access-control-') ||
      (options.bodyRewritten && (lower === 'content-length' || lower === 'content-md5'))
    )
      continue;
    out[lower] = value;
  }
  return out;
}
