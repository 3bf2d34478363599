/**
 * Host and Origin allowlists (DNS-rebinding defence, rows 50–51): a request whose `Host` is not the
 * gateway's, or whose `Origin` is present but not allowed, is refused with 403 before any
 * authentication.
 */

/** Lower-cased `host[:port]` forms a URL's authority may be written in. */
function authorityForms(url: URL): string[] {
  const host = url.hostname.toLowerCase();
  const defaultPort = url.protocol === 'https:' ? '443' : '80';
  const port = url.port || defaultPort;
  return port === defaultPort ? [host, `${host}:${port}`] : [`${host}:${port}`];
}

/** Formats a listen address as a Host value (`[::1]:8080`). */
function listenAuthority(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${h.toLowerCase()}:${port}`;
}

/**
 * The Host values accepted by default: the authority of `public_url` (with and without its default
 * port) and the listen address (unless it is a wildcard such as 0.0.0.0).
 */
export function defaultAllowedHosts(
  publicUrl: string,
  listen?: { host: string; port: number },
): string[] {
  const hosts = authorityForms(new URL(publicUrl));
  if (listen && !['0.0.0.0', '::', '[::]'].includes(listen.host))
    hosts.push(listenAuthority(listen.host, listen.port));
  return [...new Set(hosts)];
}

/** Whether a Host header value is in the allowlist (case-insensitive). */
export function isHostAllowed(host: string | undefined, allowed: ReadonlySet<string>): boolean {
  return host !== undefined && allowed.has(host.trim().toLowerCase());
}

/** The origin (scheme://host[:port]) of `public_url`: the default Origin allowlist. */
export function defaultAllowedOrigins(publicUrl: string): string[] {
  return [new URL(publicUrl).origin];
}

/** Whether an Origin header value is allowed; `null` and malformed origins never are. */
export function isOriginAllowed(origin: string, allowed: ReadonlySet<string>): boolean {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.origin === 'null' || parsed.origin !== origin.toLowerCase()) return false;
  return allowed.has(parsed.origin);
}
