/**
 * The contract between request handling (bearer, policy, adapters, gateway) and token verification
 * (issuers, key sets, JWT, introspection, cache). Request-level code depends only on this interface.
 */
import type { Principal } from '../principal/principal.js';

/** What the protected resource expects of a token. */
export interface VerifyContext {
  /**
   * The canonical resource URL of the protected server/route (RFC 8707 / RFC 9728 `resource`).
   * The token's `aud` must contain exactly this string, unless `audiences` is given.
   */
  readonly resource: string;
  /** Accepted audiences instead of `[resource]` (for IdPs that stamp an API identifier). */
  readonly audiences?: readonly string[];
  /** Restrict to this subset of the registry's issuers (exact `iss` strings); default: all. */
  readonly issuers?: readonly string[];
}

/**
 * Verifies an access token. Resolves with the verified principal, or rejects with
 * `InvalidTokenError` (→ 401 invalid_token) or `UnavailableError` (→ 503). Never makes an
 * outbound request chosen by the token's contents.
 */
export interface AccessTokenVerifier {
  verify(token: string, context: VerifyContext): Promise<Principal>;
  /**
   * Optional fast path for a token this verifier has verified before and still holds: returns
   * that verification, checked for `context` exactly as `verify` would check a cached result, or
   * `undefined` when `verify` must run. Synchronous: it starts no I/O and never returns a promise;
   * it throws where `verify` would reject. Pipelines call it first and fall back to `verify`, so
   * a cached token costs no promise and no microtask. `createAccessTokenVerifier` implements it.
   */
  verifyCached?(token: string, context: VerifyContext): VerifiedToken | undefined;
}

/** A verification a verifier holds for one token: the principal, and what is derived from the token. */
export interface VerifiedToken {
  readonly principal: Principal;
  /**
   * The token's audit fingerprint under `key` (`tokenFingerprint(token, key)`), computed once per
   * verification and key. `token` must be the token this verification is for.
   */
  fingerprint(token: string, key: string | Buffer): string;
}
