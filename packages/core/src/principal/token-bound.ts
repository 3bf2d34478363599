/**
 * Principals that stand for exactly one token. The built-in verifier builds one principal per
 * verified JWT and returns it, from its cache, only for that same token (entries are keyed by the
 * token's SHA-256), so a value derived from the token, such as the audit fingerprint, can be kept
 * beside the principal and computed once per verification instead of once per request. Principals
 * from any other source (introspection, custom verifiers) are never marked. Internal to the
 * package: not exported.
 */
import type { Principal } from './principal.js';

const bound = new WeakSet<Principal>();

/** Marks a principal built for one verified token and handed out only for it. */
export function markTokenBound(principal: Principal): void {
  bound.add(principal);
}

/** Whether `principal` was marked by {@link markTokenBound}. */
export function isTokenBound(principal: Principal): boolean {
  return bound.has(principal);
}
