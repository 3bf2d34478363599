/**
 * Origin validation against DNS rebinding (MCP Streamable HTTP: servers must validate `Origin`).
 * A request without `Origin` (not a browser) passes; a present but unlisted origin is refused.
 */
import { headerValues, type HeaderRecord } from '../bearer/bearer.js';

/** Normalises an origin (`scheme://host[:port]`, lower-case, default port dropped); undefined if invalid. */
export function normalizeOrigin(origin: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\s@]+$/.test(origin)) return undefined;
  try {
    const url = new URL(origin);
    if (url.origin === 'null' || `${url.protocol}//${url.host}` !== url.origin) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Whether the request's `Origin` is acceptable: absent → true; present → it must equal one of
 * `allowedOrigins` (compared normalised; `'null'` and malformed origins never match; repeated
 * Origin headers are refused).
 *
 * @example
 * ```ts
 * if (!isOriginAllowed(headers, ['https://app.example.com'])) return forbidden('origin_forbidden');
 * ```
 */
export function isOriginAllowed(headers: HeaderRecord, allowedOrigins: readonly string[]): boolean {
  const values = headerValues(headers, 'origin');
  if (values.length === 0) return true;
  if (values.length > 1) return false;
  const origin = normalizeOrigin(values[0]!.trim());
  if (origin === undefined) return false;
  return allowedOrigins.some((allowed) => normalizeOrigin(allowed) === origin);
}
