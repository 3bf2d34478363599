/**
 * Which URLs mcp-iam may contact for an issuer: https always; plain http only for loopback hosts and
 * only when the issuer explicitly allows it (development IdPs on 127.0.0.1).
 */

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

/**
 * Parses `value` and checks that mcp-iam may fetch it: `https:`, or `http:` to a loopback host when
 * `allowInsecureLoopbackHttp` is true. Credentials in the URL and fragments are refused.
 * Throws a plain `Error` naming `what` (a configuration or metadata problem, not a token problem).
 *
 * @example
 * ```ts
 * assertFetchableUrl('https://idp.example.com/jwks', false, 'jwks_uri'); // URL
 * assertFetchableUrl('http://127.0.0.1:4000/jwks', true, 'jwks_uri');    // URL
 * ```
 */
export function assertFetchableUrl(
  value: string,
  allowInsecureLoopbackHttp: boolean,
  what: string,
): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${what} is not a valid URL`);
  }
  if (url.username !== '' || url.password !== '')
    throw new Error(`${what} must not carry credentials`);
  if (url.hash !== '') throw new Error(`${what} must not have a fragment`);
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:') {
    if (!isLoopbackHost(url.hostname)) {
      throw new Error(`${what} must use https (http is allowed only for loopback hosts)`);
    }
    if (!allowInsecureLoopbackHttp) {
      throw new Error(
        `${what} uses http; set allowInsecureLoopbackHttp: true to allow loopback http`,
      );
    }
    return url;
  }
  throw new Error(`${what} must use https`);
}
