/**
 * Request-target normalisation. The gateway routes, authorizes and forwards the same normalised
 * path; anything ambiguous (encoded separators, `//`, dot segments, `;` parameters, control bytes)
 * is refused rather than repaired, so no two components can read one path two ways (row 49).
 */

/** Why a request target was refused. */
export type PathProblem =
  | 'not_origin_form'
  | 'encoded_separator'
  | 'double_slash'
  | 'dot_segment'
  | 'path_parameter'
  | 'bad_encoding'
  | 'control_character';

/** A normalised request target, or the reason it was refused. */
export type NormalisedTarget =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly problem: PathProblem };

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * Normalises an origin-form request target (`/crm/mcp?x=1`): percent-encoded unreserved
 * characters are decoded (RFC 3986 §6.2.2.2) and other escapes upper-cased; the query is returned
 * untouched (without `?`).
 *
 * @example
 * ```ts
 * normaliseTarget('/%63rm/mcp')     // { ok: true, path: '/crm/mcp', query: '' }
 * normaliseTarget('/x/..%2fcrm')    // { ok: false, problem: 'encoded_separator' }
 * ```
 */
export function normaliseTarget(target: string): NormalisedTarget {
  if (!target.startsWith('/')) return { ok: false, problem: 'not_origin_form' };
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q + 1);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f#]/.test(raw) || /[\u0000-\u001f\u007f]/.test(query))
    return { ok: false, problem: 'control_character' };
  if (raw.includes('\\')) return { ok: false, problem: 'encoded_separator' };
  if (raw.includes(';')) return { ok: false, problem: 'path_parameter' };

  // Without escapes the path is the raw path (the usual case): no per-character rebuild.
  let path = raw;
  if (raw.includes('%')) {
    path = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i] as string;
      if (c !== '%') {
        path += c;
        continue;
      }
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return { ok: false, problem: 'bad_encoding' };
      const code = parseInt(hex, 16);
      const ch = String.fromCharCode(code);
      if (ch === '/' || ch === '\\') return { ok: false, problem: 'encoded_separator' };
      if (ch === ';') return { ok: false, problem: 'path_parameter' };
      if (code < 0x20 || code === 0x7f) return { ok: false, problem: 'control_character' };
      path += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
      i += 2;
    }
  }
  if (path.includes('//')) return { ok: false, problem: 'double_slash' };
  // Every segment follows a '/', so a dot segment needs a '/.' somewhere.
  if (path.includes('/.') && path.split('/').some((s) => s === '.' || s === '..'))
    return { ok: false, problem: 'dot_segment' };
  return { ok: true, path, query };
}

/**
 * The query string without `access_token` parameters (a token in the query is never forwarded,
 * row 6); other parameters keep their exact encoding.
 */
export function stripAccessToken(query: string): string {
  if (!query) return '';
  return query
    .split('&')
    .filter((part) => {
      const name = part.split('=')[0] ?? '';
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        return false;
      }
      return decoded !== 'access_token';
    })
    .join('&');
}
