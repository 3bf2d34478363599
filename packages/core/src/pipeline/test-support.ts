/**
 * Test double for the token verifier: `LocalKeyTestVerifier` checks ES256 JWTs with jose against a
 * key pair generated in the test process. Used by this package's tests and examples only; the
 * production verifier is `createAccessTokenVerifier`.
 */
import {
  SignJWT,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  errors as joseErrors,
  type JWTPayload,
} from 'jose';
import { InvalidTokenError } from '../errors.js';
import type { Actor, Principal } from '../principal/principal.js';
import type { AccessTokenVerifier, VerifyContext } from '../token/verifier.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** Claims a test token may carry (besides the defaults `iss`, `sub`, `client_id`, `aud`, `exp`). */
export interface TestTokenClaims extends JWTPayload {
  scope?: string;
  client_id?: string;
  acr?: string;
  auth_time?: number;
  act?: Actor;
  [claim: string]: unknown;
}

/** Verifier test double: ES256 JWTs from a locally generated key, issuer and audience checked. */
export class LocalKeyTestVerifier implements AccessTokenVerifier {
  readonly issuer: string;
  readonly #keys: KeyPair;
  /** Number of `verify` calls (to show route rules run after any caching). */
  calls = 0;

  private constructor(issuer: string, keys: KeyPair) {
    this.issuer = issuer;
    this.#keys = keys;
  }

  /** Generates a fresh ES256 key pair for `issuer`. */
  static async create(issuer = 'https://idp.test.example'): Promise<LocalKeyTestVerifier> {
    return new LocalKeyTestVerifier(issuer, await generateKeyPair('ES256', { extractable: true }));
  }

  /** The public JWK (for fixtures that need it). */
  async publicJwk(): Promise<Record<string, unknown>> {
    return { ...(await exportJWK(this.#keys.publicKey)) };
  }

  /** Signs an `at+jwt` access token for `audience` with the given claims; expires in 5 minutes. */
  async issue(audience: string | string[], claims: TestTokenClaims = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      client_id: 'test-client',
      sub: 'alice',
      jti: crypto.randomUUID(),
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'test' })
      .setIssuer(this.issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(typeof claims.exp === 'number' ? claims.exp : now + 300)
      .sign(this.#keys.privateKey);
  }

  async verify(token: string, context: VerifyContext): Promise<Principal> {
    this.calls++;
    if (context.issuers && !context.issuers.includes(this.issuer)) {
      throw new InvalidTokenError('token_unknown_issuer', 'issuer not accepted here');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys.publicKey, {
        issuer: this.issuer,
        audience: [...(context.audiences ?? [context.resource])],
        algorithms: ['ES256'],
        typ: 'at+jwt',
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired)
        throw new InvalidTokenError('token_expired', 'expired');
      if (error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud') {
        throw new InvalidTokenError('token_bad_audience', 'audience mismatch');
      }
      throw new InvalidTokenError('token_malformed', 'token rejected');
    }
    const p = payload as TestTokenClaims;
    return Object.freeze({
      issuer: this.issuer,
      subject: String(p.sub),
      kind: p.sub === p.client_id ? 'client' : 'user',
      clientId: String(p.client_id),
      scopes: typeof p.scope === 'string' ? p.scope.split(' ').filter(Boolean) : [],
      audience: Array.isArray(p.aud) ? p.aud : [String(p.aud)],
      ...(p.act ? { actor: p.act } : {}),
      ...(typeof p.acr === 'string' ? { acr: p.acr } : {}),
      ...(typeof p.auth_time === 'number' ? { authTime: p.auth_time } : {}),
      expiresAt: Number(p.exp),
      ...(typeof p.iat === 'number' ? { issuedAt: p.iat } : {}),
      ...(typeof p.jti === 'string' ? { tokenId: p.jti } : {}),
      tokenFormat: 'jwt' as const,
      claims: Object.freeze({ ...p }),
    });
  }
}
