/**
 * Which URLs mcp-iam may contact for an issuer: https always; plain http only for loopback hosts and
 * only when the issuer explicitly allows it (development IdPs on 127.0.0.1).
 */
import { IssuerOptionError } from './option-error.js';

/**
 * True when `hostname` (as `URL.hostname` gives it) is a loopback host: 127.0.0.0/8, `::1`,
 * or `localhost`.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost' || host === '[::1]' || host === '::1') return true;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** The setting that allows plain http to a loopback IdP. */
const LOOPBACK_REMEDY = {
  option: 'allowInsecureLoopbackHttp',
  value: 'true',
  effect: 'to allow loopback http',
} as const;

/**
 * Parses `value` and checks that mcp-iam may fetch it: `https:`, or `http:` to a loopback host when
 * `allowInsecureLoopbackHttp` is true. Credentials in the URL and fragments are refused.
 * Throws an {@link IssuerOptionError} whose option is `what` (a configuration or metadata problem,
 * not a token problem).
 *
 * @example
 * ```ts
 * assertFetchableUrl('https://idp.example.com/jwks', false, 'jwksUri'); // URL
 * assertFetchableUrl('http://127.0.0.1:4000/jwks', true, 'jwksUri');    // URL
 * ```
 */
export function assertFetchableUrl(
  value: string,
  allowInsecureLoopbackHttp: boolean,
  what: string,
): URL {
  const refuse = (problem: string, remedy?: typeof LOOPBACK_REMEDY): IssuerOptionError =>
    new IssuerOptionError({ option: what, problem, ...(remedy ? { remedy } : {}) });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse('is not a valid URL');
  }
  if (url.username !== '' || url.password !== '') throw refuse('must not carry credentials');
  if (url.hash !== '') throw refuse('must not have a fragment');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw refuse('must use https (http is allowed only for loopback hosts)');
    }
    if (!allowInsecureLoopbackHttp) throw refuse('uses http', LOOPBACK_REMEDY);
    return url;
  }
  throw refuse('must use https');
}
