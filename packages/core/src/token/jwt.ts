/**
 * RFC 9068 JWT access token verification for one issuer, after the strict envelope and routing:
 * algorithm allowlist, `typ`, key selection from the issuer's own key set, signature (node:crypto
 * on the jose-imported key), and the claims an access token must carry. ID tokens, logout tokens, DPoP proofs and other JWTs that
 * are not access tokens are refused by `typ` and by their distinguishing claims.
 */
import { InvalidTokenError } from '../errors.js';
import type { IssuerKeySet, VerificationKey } from '../issuer/keyset.js';
import { normalizeTokenType, type ResolvedIssuer } from '../issuer/options.js';
import { checkTimes } from './claims.js';
import type { JwtEnvelope } from './envelope.js';
import { verifyJwsSignature } from './signature.js';

/** Claims that mark a JWT as something other than an access token (ID, logout token, DPoP proof). */
export const NON_ACCESS_TOKEN_CLAIMS = [
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'events',
  'htm',
  'htu',
  'ath',
];

/** Result of a successful JWT verification (audience not yet checked). */
export interface VerifiedJwt {
  /** Verified payload. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** The key that verified it (so a cache can drop the result once the IdP removes the key). */
  readonly key: VerificationKey;
  /** `exp`, seconds. */
  readonly exp: number;
}

/**
 * Verifies a JWT whose envelope passed `parseJwtEnvelope` and whose `iss` routed to `issuer`.
 * Checks everything except the audience (which depends on the route; see `checkAudience`).
 * Rejects with `InvalidTokenError` (specific reason code) or `UnavailableError('issuer_unavailable')`.
 *
 * @example
 * ```ts
 * const env = parseJwtEnvelope(token);
 * const { claims } = await verifyJwtForIssuer(token, env, issuer, keySet, Date.now() / 1000);
 * ```
 */
export async function verifyJwtForIssuer(
  token: string,
  envelope: JwtEnvelope,
  issuer: ResolvedIssuer,
  keySet: IssuerKeySet,
  nowSec: number,
): Promise<VerifiedJwt> {
  const { header, payload } = envelope;
  if (!(issuer.algorithms as readonly string[]).includes(header.alg)) {
    throw new InvalidTokenError('token_bad_header', 'header "alg" is not allowed for this issuer');
  }
  if (header.typ === undefined || !issuer.tokenTypes.includes(normalizeTokenType(header.typ))) {
    throw new InvalidTokenError(
      'token_bad_type',
      'header "typ" is not an accepted access token type',
    );
  }
  for (const claim of NON_ACCESS_TOKEN_CLAIMS) {
    if (Object.hasOwn(payload, claim)) {
      throw new InvalidTokenError(
        'token_bad_type',
        `claim "${claim}" marks a token that is not an access token`,
      );
    }
  }
  if (payload.iss !== issuer.issuer) {
    throw new InvalidTokenError('token_bad_issuer', 'claim "iss" does not match the issuer');
  }

  const key = await keySet.select({
    alg: header.alg,
    ...(header.kid !== undefined ? { kid: header.kid } : {}),
  });
  if (!verifyJwsSignature(token, header.alg, key, envelope.signature)) {
    throw new InvalidTokenError('token_bad_signature', 'signature verification failed');
  }

  const { exp } = checkTimes(payload, issuer, nowSec, { requireIat: true });
  if (payload.sub === undefined)
    throw new InvalidTokenError('token_missing_claim', 'claim "sub" is missing');
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
    throw new InvalidTokenError('token_bad_claim', 'claim "sub" must be a non-empty string');
  }
  const clientId = payload[issuer.clientIdClaim];
  if (clientId === undefined) {
    throw new InvalidTokenError(
      'token_missing_claim',
      `claim "${issuer.clientIdClaim}" is missing`,
    );
  }
  if (typeof clientId !== 'string' || clientId.length === 0) {
    throw new InvalidTokenError(
      'token_bad_claim',
      `claim "${issuer.clientIdClaim}" must be a non-empty string`,
    );
  }
  if (payload.jti === undefined) {
    if (issuer.requireJti)
      throw new InvalidTokenError('token_missing_claim', 'claim "jti" is missing');
  } else if (typeof payload.jti !== 'string' || payload.jti.length === 0) {
    throw new InvalidTokenError('token_bad_claim', 'claim "jti" must be a non-empty string');
  }
  return { claims: payload, key, exp };
}
