/**
 * The verified caller: what every later step (policy, audit, tool handlers) knows about who is
 * calling. Built only from a token that passed every check; never from request headers.
 */

/** Whom a principal's subject names: a user, or an OAuth client acting for itself. */
export type PrincipalKind = 'user' | 'client';

/** One link of an RFC 8693 `act` (actor) chain; `act` nests the prior actor. */
export interface Actor {
  readonly sub: string;
  readonly iss?: string;
  readonly client_id?: string;
  readonly act?: Actor;
}

/** A verified access token, reduced to what decisions need. */
export interface Principal {
  /** Exact `iss` of the token (the configured issuer string). */
  readonly issuer: string;
  /** `sub`: the user (or the machine client for client_credentials tokens). */
  readonly subject: string;
  /**
   * Whom `subject` names: `user` (a resource owner), or `client` when the token names no user:
   * it has no `sub` (the subject is the client id) or its `sub` is the client id (RFC 9068 §2.2,
   * client credentials). Part of the {@link principalKey}.
   */
  readonly kind: PrincipalKind;
  /** The OAuth client the token was issued to (`client_id`, or the issuer's mapped claim). */
  readonly clientId: string;
  /** Granted scopes, parsed per the issuer's scope claim configuration; case-sensitive. */
  readonly scopes: readonly string[];
  /** Audiences of the token (always an array). */
  readonly audience: readonly string[];
  /** The current actor (`act` claim), nesting prior actors; undefined when not delegated. */
  readonly actor?: Actor;
  /** Authentication context class reference. */
  readonly acr?: string;
  /** Authentication methods references. */
  readonly amr?: readonly string[];
  /** Time of the user's authentication (seconds since epoch). */
  readonly authTime?: number;
  /** Expiry (seconds since epoch). */
  readonly expiresAt: number;
  /** Issued at (seconds since epoch). */
  readonly issuedAt?: number;
  /** `jti`. */
  readonly tokenId?: string;
  /** Confirmation claim (RFC 7800), e.g. `{ jkt }` for DPoP-bound tokens. */
  readonly cnf?: Readonly<Record<string, unknown>>;
  /** Whether the token was a JWT verified locally or an opaque token introspected. */
  readonly tokenFormat: 'jwt' | 'opaque';
  /** All verified claims (or the introspection response), frozen. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/**
 * Flattens the actor chain, current actor first: `act: { sub: a, act: { sub: b } }` → `['a', 'b']`.
 */
export function actorChain(principal: Pick<Principal, 'actor'>): string[] {
  const chain: string[] = [];
  let current = principal.actor;
  while (current && chain.length < 32) {
    chain.push(current.sub);
    current = current.act;
  }
  return chain;
}

/**
 * The key of everything that belongs to one caller (a stdio process, a session binding, a cache
 * entry, replay state): an unambiguous encoding of issuer, kind and subject. Two principals share
 * a key only when all three are equal; no choice of strings makes two different triples produce
 * the same key (each part is a JSON string inside a JSON array), so `alice` at two issuers, or a
 * client whose id is a user's `sub`, never meet.
 *
 * The key names the caller and may appear in memory-only maps; a key stored outside the process
 * (a shared cache) is hashed first.
 *
 * @example
 * ```ts
 * principalKey({ issuer: 'https://idp.example.com', kind: 'user', subject: 'alice' });
 * // '["https://idp.example.com","user","alice"]'
 * ```
 */
export function principalKey(principal: Pick<Principal, 'issuer' | 'kind' | 'subject'>): string {
  // A principal without `kind` (from a custom verifier in plain JavaScript) counts as a user.
  const kind: PrincipalKind = principal.kind === 'client' ? 'client' : 'user';
  return JSON.stringify([principal.issuer, kind, principal.subject]);
}
