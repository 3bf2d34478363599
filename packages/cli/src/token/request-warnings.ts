/**
 * Warnings about a token request that the IdP may well answer with a token nobody accepts: no
 * `--scope` (the token grants nothing), a scope the IdP does not list in `scopes_supported` (a
 * typo it silently drops), no `--resource` (the token is meant for no MCP server in particular,
 * RFC 8707), and requested scopes the answer does not grant. Each names what is missing and what
 * the IdP supports.
 */
import type * as oauth from 'oauth4webapi';

/** Scopes OpenID Connect defines; they grant nothing at an MCP server. */
const OIDC_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email', 'address', 'phone']);

/** What the request asks for. */
export interface RequestedToken {
  /** Space-separated scopes as given (`--scope`), or undefined. */
  readonly scope: string | undefined;
  /** `--resource`, or undefined. */
  readonly resource: string | undefined;
}

/** Levenshtein distance of two short strings. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The supported scope closest to `scope`, when one is a likely typo of it. */
function closest(scope: string, supported: readonly string[]): string | undefined {
  let best: { scope: string; distance: number } | undefined;
  for (const candidate of supported) {
    const d = distance(scope, candidate);
    if (d <= 2 && (best === undefined || d < best.distance))
      best = { scope: candidate, distance: d };
  }
  return best?.scope;
}

/** The IdP's `scopes_supported`, when its metadata lists them. */
function supportedScopes(as: oauth.AuthorizationServer): string[] | undefined {
  const value = as.scopes_supported;
  return Array.isArray(value) ? value.filter((s): s is string => typeof s === 'string') : undefined;
}

function supportedText(supported: readonly string[] | undefined): string {
  return supported
    ? `the IdP supports: ${supported.join(' ')}`
    : 'the IdP does not list its scopes';
}

/**
 * Warnings about the request before it is sent, one sentence each.
 *
 * @example
 * ```ts
 * requestWarnings(as, { scope: 'crm.raed', resource: undefined });
 * // ['scope "crm.raed" is not in the IdP\'s scopes_supported (did you mean crm.read?) ...', ...]
 * ```
 */
export function requestWarnings(as: oauth.AuthorizationServer, request: RequestedToken): string[] {
  const warnings: string[] = [];
  const supported = supportedScopes(as);
  const scopes = (request.scope ?? '').split(' ').filter(Boolean);
  if (scopes.filter((s) => !OIDC_SCOPES.has(s)).length === 0) {
    warnings.push(
      `${request.scope === undefined ? 'no --scope given' : `--scope "${request.scope}" names no API scope`}: ` +
        `the token will grant no scope an MCP server checks, so every operation that needs one ` +
        `is refused; ${supportedText(supported)}`,
    );
  }
  if (supported) {
    for (const scope of scopes.filter((s) => !supported.includes(s))) {
      const guess = closest(scope, supported);
      warnings.push(
        `scope "${scope}" is not in the IdP's scopes_supported` +
          `${guess ? ` (did you mean ${guess}?)` : ''}; the IdP may drop it without an error; ` +
          supportedText(supported),
      );
    }
  }
  if (request.resource === undefined) {
    warnings.push(
      'no --resource given: the token names no MCP server as its audience (RFC 8707), and the ' +
        "gateway and MCP servers refuse tokens not issued for them; give --resource with the server's " +
        "URL (for a gateway route: its public_url followed by the route's path)",
    );
  }
  return warnings;
}

/** Warnings about the answer: requested scopes it does not grant (when it says what it granted). */
export function grantWarnings(
  response: oauth.TokenEndpointResponse,
  scope: string | undefined,
): string[] {
  if (typeof response.scope !== 'string' || scope === undefined) return [];
  const granted = response.scope.split(' ').filter(Boolean);
  const dropped = scope.split(' ').filter((s) => s && !granted.includes(s));
  return dropped.length === 0
    ? []
    : [
        `the IdP did not grant ${dropped.join(' ')}; the token grants ` +
          `${granted.length > 0 ? granted.join(' ') : 'no scope'}`,
      ];
}
