/**
 * Builds a `Principal` from verified claims (a JWT payload or an introspection response), applying
 * the issuer's claim mapping: which claim holds scopes and which the client id, the `act` chain
 * (shape-checked, depth-capped), and the authentication context claims.
 */
import { InvalidTokenError } from '../errors.js';
import type { Actor, Principal } from './principal.js';

/** Deepest `act` nesting accepted. */
export const MAX_ACTOR_DEPTH = 10;

/** Claim mapping of the issuer that produced the claims. */
export interface ClaimMapping {
  /** Exact issuer string (becomes `Principal.issuer`). */
  readonly issuer: string;
  /** Claim holding scopes. Default `scope`. */
  readonly scopeClaim?: string;
  /** Claim holding the client id. Default `client_id`. */
  readonly clientIdClaim?: string;
}

function badClaim(name: string, why: string): InvalidTokenError {
  return new InvalidTokenError('token_bad_claim', `claim "${name}" ${why}`);
}

/**
 * Parses a scope claim value: a string is split on spaces only (RFC 6749 §3.3), an array must hold
 * strings. Empty entries are dropped, duplicates removed, order kept; comparison stays
 * case-sensitive. Missing → `[]`. Other shapes → `InvalidTokenError('token_bad_claim')`.
 *
 * @example
 * ```ts
 * parseScopes('crm.read  crm.read crm.write', 'scope'); // ['crm.read', 'crm.write']
 * parseScopes(['a', 'b'], 'scp');                       // ['a', 'b']
 * ```
 */
export function parseScopes(value: unknown, claim = 'scope'): string[] {
  if (value === undefined) return [];
  let items: string[];
  if (typeof value === 'string') {
    items = value.split(' ');
  } else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    items = value as string[];
  } else {
    throw badClaim(claim, 'must be a space-delimited string or an array of strings');
  }
  return [...new Set(items.filter((s) => s.length > 0))];
}

/**
 * Validates an `act` claim (RFC 8693 §4.1): an object with a string `sub`, optional string `iss` and
 * `client_id`, and optionally a nested `act`, at most `MAX_ACTOR_DEPTH` deep. Only those members are
 * kept. Rejects other shapes with `InvalidTokenError('token_bad_claim')`.
 */
export function parseActor(value: unknown): Actor | undefined {
  if (value === undefined) return undefined;
  const chain: Array<{ sub: string; iss?: string; client_id?: string }> = [];
  let current: unknown = value;
  while (current !== undefined) {
    if (chain.length >= MAX_ACTOR_DEPTH)
      throw badClaim('act', `is nested deeper than ${MAX_ACTOR_DEPTH}`);
    if (current === null || typeof current !== 'object' || Array.isArray(current)) {
      throw badClaim('act', 'must be an object');
    }
    const link = current as Record<string, unknown>;
    if (typeof link.sub !== 'string' || link.sub.length === 0)
      throw badClaim('act', 'needs a string "sub"');
    if (link.iss !== undefined && typeof link.iss !== 'string')
      throw badClaim('act', '"iss" must be a string');
    if (link.client_id !== undefined && typeof link.client_id !== 'string') {
      throw badClaim('act', '"client_id" must be a string');
    }
    chain.push({
      sub: link.sub,
      ...(link.iss !== undefined ? { iss: link.iss as string } : {}),
      ...(link.client_id !== undefined ? { client_id: link.client_id as string } : {}),
    });
    current = link.act;
  }
  let actor: Actor | undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    actor = Object.freeze({ ...(chain[i] as Actor), ...(actor ? { act: actor } : {}) });
  }
  return actor;
}

function deepFreeze<T>(value: T, depth = 0): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value) && depth < 64) {
    for (const child of Object.values(value)) deepFreeze(child, depth + 1);
    Object.freeze(value);
  }
  return value;
}

/** Reads the audience as an array; `aud` must already have been checked by the caller. */
function audienceOf(claims: Record<string, unknown>): string[] {
  const aud = claims.aud;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

/**
 * Builds a frozen `Principal` from claims that already passed signature (or introspection), issuer,
 * audience and time checks. Checks the shapes of the claims it maps (`sub`, client id, scopes, `act`,
 * `acr`, `amr`, `auth_time`, `cnf`, `jti`). `subjectFallback` lets opaque tokens without `sub`
 * (client credentials) use the client id.
 *
 * @example
 * ```ts
 * const p = buildPrincipal(claims, { issuer: 'https://idp.example.com', scopeClaim: 'scp' }, 'jwt');
 * p.scopes; // ['crm.read']
 * ```
 */
export function buildPrincipal(
  claims: Record<string, unknown>,
  mapping: ClaimMapping,
  tokenFormat: 'jwt' | 'opaque',
  options: {
    subjectFallbackToClientId?: boolean;
    /**
     * The claims object is fresh and referenced nowhere else (a payload the verifier just parsed):
     * it is frozen in place instead of being copied first. Default false.
     */
    claimsOwned?: boolean;
  } = {},
): Principal {
  const clientIdClaim = mapping.clientIdClaim ?? 'client_id';
  const scopeClaim = mapping.scopeClaim ?? 'scope';

  let clientId = claims[clientIdClaim];
  if (clientId === undefined && tokenFormat === 'opaque') clientId = claims.client_id;
  if (clientId === undefined) {
    throw new InvalidTokenError('token_missing_claim', `claim "${clientIdClaim}" is missing`);
  }
  if (typeof clientId !== 'string' || clientId.length === 0)
    throw badClaim(clientIdClaim, 'must be a non-empty string');

  let subject = claims.sub;
  const named = subject !== undefined;
  if (subject === undefined && options.subjectFallbackToClientId) subject = clientId;
  if (subject === undefined)
    throw new InvalidTokenError('token_missing_claim', 'claim "sub" is missing');
  if (typeof subject !== 'string' || subject.length === 0)
    throw badClaim('sub', 'must be a non-empty string');

  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw badClaim('exp', 'must be a number');

  const optionalString = (name: string): string | undefined => {
    const v = claims[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw badClaim(name, 'must be a string');
    return v;
  };
  const optionalNumber = (name: string): number | undefined => {
    const v = claims[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw badClaim(name, 'must be a number');
    return v;
  };

  const amr = claims.amr;
  if (amr !== undefined && (!Array.isArray(amr) || !amr.every((m) => typeof m === 'string'))) {
    throw badClaim('amr', 'must be an array of strings');
  }
  const cnf = claims.cnf;
  if (cnf !== undefined && (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf))) {
    throw badClaim('cnf', 'must be an object');
  }
  const acr = optionalString('acr');
  const authTime = optionalNumber('auth_time');
  const issuedAt = optionalNumber('iat');
  const tokenId = optionalString('jti');
  const actor = parseActor(claims.act);
  const frozenClaims = deepFreeze(options.claimsOwned ? claims : structuredClone(claims));

  return Object.freeze({
    issuer: mapping.issuer,
    subject,
    // No user in the token: no `sub`, or a `sub` that is the client itself (client credentials).
    kind: !named || subject === clientId ? 'client' : 'user',
    clientId,
    scopes: Object.freeze(parseScopes(claims[scopeClaim], scopeClaim)),
    audience: Object.freeze(audienceOf(claims)),
    ...(actor ? { actor } : {}),
    ...(acr !== undefined ? { acr } : {}),
    ...(amr !== undefined ? { amr: Object.freeze([...(amr as string[])]) } : {}),
    ...(authTime !== undefined ? { authTime } : {}),
    expiresAt: exp,
    ...(issuedAt !== undefined ? { issuedAt } : {}),
    ...(tokenId !== undefined ? { tokenId } : {}),
    ...(cnf !== undefined ? { cnf: frozenClaims.cnf as Readonly<Record<string, unknown>> } : {}),
    tokenFormat,
    claims: frozenClaims,
  });
}
