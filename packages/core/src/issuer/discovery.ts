/**
 * Authorization server metadata discovery (RFC 8414, then OpenID Connect Discovery 1.0) used to find
 * an issuer's `jwks_uri` when it is not configured. The document's `issuer` must equal the configured
 * issuer exactly (RFC 8414 §3.3), or discovery fails.
 */
import { fetchJsonObject, IdpFetchError } from './fetch.js';
import { assertFetchableUrl } from './url.js';

/** The metadata fields verification uses, and the whole document for tools that read others. */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwks_uri?: string;
  readonly introspection_endpoint?: string;
  readonly token_endpoint?: string;
  /** The metadata document as the IdP served it (its `issuer` equals `issuer`). */
  readonly document: Readonly<Record<string, unknown>>;
  /** Where the document was found. */
  readonly url: string;
}

/**
 * The well-known URLs tried for `issuer`, in order: RFC 8414 path-inserted
 * `/.well-known/oauth-authorization-server{path}`, then OIDC `{issuer}/.well-known/openid-configuration`.
 */
export function discoveryUrls(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const rfc8414 = new URL(`/.well-known/oauth-authorization-server${path}`, url.origin);
  const oidc = new URL(`${url.origin}${path}/.well-known/openid-configuration`);
  return [rfc8414, oidc];
}

/**
 * Fetches and validates the issuer's metadata. Throws `IdpFetchError` when no document could be
 * fetched, or when a fetched document's `issuer` differs from `issuer` (no fallback in that case).
 *
 * @example
 * ```ts
 * const meta = await discoverIssuer('https://idp.example.com', { timeoutMs: 5000, allowInsecureLoopbackHttp: false });
 * meta.jwks_uri; // 'https://idp.example.com/jwks'
 * ```
 */
export async function discoverIssuer(
  issuer: string,
  options: { timeoutMs: number; allowInsecureLoopbackHttp: boolean },
): Promise<IssuerMetadata> {
  const failures: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    let doc: Record<string, unknown>;
    try {
      doc = await fetchJsonObject(url, options.timeoutMs);
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    if (doc.issuer !== issuer) {
      const named = typeof doc.issuer === 'string' ? JSON.stringify(doc.issuer) : '(none)';
      throw new IdpFetchError(
        `metadata at ${url.href} names the issuer ${named}, a different issuer than the ` +
          `configured ${JSON.stringify(issuer)} (the two must be equal character for character)`,
      );
    }
    const jwksUri = doc.jwks_uri;
    if (jwksUri !== undefined) {
      if (typeof jwksUri !== 'string')
        throw new IdpFetchError(`metadata at ${url.href}: bad jwks_uri`);
      try {
        assertFetchableUrl(jwksUri, options.allowInsecureLoopbackHttp, 'discovered jwks_uri');
      } catch (cause) {
        throw new IdpFetchError(`metadata at ${url.href}: ${(cause as Error).message}`, { cause });
      }
    }
    const introspection = doc.introspection_endpoint;
    const tokenEndpoint = doc.token_endpoint;
    return {
      issuer,
      document: Object.freeze(doc),
      url: url.href,
      ...(typeof jwksUri === 'string' ? { jwks_uri: jwksUri } : {}),
      ...(typeof introspection === 'string' ? { introspection_endpoint: introspection } : {}),
      ...(typeof tokenEndpoint === 'string' ? { token_endpoint: tokenEndpoint } : {}),
    };
  }
  throw new IdpFetchError(`discovery for ${issuer} failed: ${failures.join('; ')}`);
}
