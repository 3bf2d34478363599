/**
 * Access tokens for the benchmark: one valid token and a fixed set of bad tokens, each breaking
 * exactly one rule a resource server must enforce. Every row receives the same set, so the
 * correctness table compares like with like.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey, type JWTPayload } from 'jose';

/** The bad tokens, in the order the correctness table shows them. */
export const BAD_TOKEN_KINDS = [
  'wrong-aud',
  'wrong-iss',
  'expired',
  'no-exp',
  'nbf-future',
  'no-scope',
  'alg-none',
  'other-key',
] as const;

/** A bad token: each breaks exactly one rule (see {@link TOKEN_KIND_DESCRIPTIONS}). */
export type BadTokenKind = (typeof BAD_TOKEN_KINDS)[number];

/** Every kind of token the harness mints: the valid control and the bad ones. */
export type TokenKind = 'valid' | BadTokenKind;

/** All token kinds, valid first. */
export const TOKEN_KINDS: readonly TokenKind[] = ['valid', ...BAD_TOKEN_KINDS];

/** What each token kind is, as the tables and the README say it. */
export const TOKEN_KIND_DESCRIPTIONS: Readonly<Record<TokenKind, string>> = {
  valid: 'valid token (control: must be accepted)',
  'wrong-aud': 'aud names another resource',
  'wrong-iss': 'iss is another issuer (same key)',
  expired: 'exp 5 minutes in the past',
  'no-exp': 'no exp claim',
  'nbf-future': 'nbf 10 minutes in the future',
  'no-scope': 'lacks the scope the tool call needs',
  'alg-none': 'unsigned (alg "none")',
  'other-key': 'signed by another key with the same kid',
};

/** Seconds a valid token lives: longer than any bench run. */
export const VALID_TOKEN_LIFETIME_S = 3600;

/** What {@link mintAccessToken} needs to know about the issuer and the resource. */
export interface MintSettings {
  /** The issuer's `iss`. */
  readonly issuer: string;
  /** The `aud` a valid token carries. */
  readonly audience: string;
  /** The scope a valid token carries (space-separated); it includes the one the tool call needs. */
  readonly scope: string;
  /** ES256 private key of the issuer. */
  readonly privateKey: CryptoKey;
  /** `kid` of the issuer's key in its JWKS. */
  readonly kid: string;
  /** ES256 private key the issuer does NOT publish (for `other-key`). */
  readonly otherPrivateKey: CryptoKey;
  /** Clock, in seconds since the epoch; defaults to now. */
  readonly now?: number;
}

/** Claims the harness puts in an access token (RFC 9068 shape). */
export interface BenchClaims extends JWTPayload {
  client_id: string;
  scope?: string;
}

/** The claims of a token of `kind`, before signing (exported so the tests can check them). */
export function claimsFor(kind: TokenKind, settings: MintSettings): BenchClaims {
  const now = settings.now ?? Math.floor(Date.now() / 1000);
  const claims: BenchClaims = {
    iss: settings.issuer,
    sub: 'bench-user',
    aud: settings.audience,
    client_id: 'bench-client',
    scope: settings.scope,
    iat: now,
    exp: now + VALID_TOKEN_LIFETIME_S,
    jti: randomUUID(),
  };
  switch (kind) {
    case 'wrong-aud':
      claims.aud = 'https://another-resource.bench.invalid/mcp';
      break;
    case 'wrong-iss':
      claims.iss = 'https://another-issuer.bench.invalid';
      break;
    case 'expired':
      claims.iat = now - 900;
      claims.exp = now - 300;
      break;
    case 'no-exp':
      delete claims.exp;
      break;
    case 'nbf-future':
      claims.nbf = now + 600;
      break;
    case 'no-scope':
      claims.scope = 'profile';
      break;
    default:
      break;
  }
  return claims;
}

/**
 * Mints an access token of `kind`: ES256, `typ: at+jwt`, with iss, sub, aud, client_id, scope,
 * iat, exp and a fresh jti (so no two tokens are equal, which defeats token caches).
 *
 * @example
 * ```ts
 * const token = await mintAccessToken('expired', settings);
 * ```
 */
export async function mintAccessToken(kind: TokenKind, settings: MintSettings): Promise<string> {
  const claims = claimsFor(kind, settings);
  if (kind === 'alg-none') {
    // An unsecured JWT (RFC 7519 §6): header and payload, empty signature. No cryptography here.
    const header = { alg: 'none', typ: 'at+jwt', kid: settings.kid };
    const encode = (value: object): string =>
      Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${encode(header)}.${encode(claims)}.`;
  }
  const key = kind === 'other-key' ? settings.otherPrivateKey : settings.privateKey;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: settings.kid })
    .sign(key);
}
