/**
 * Claim checks shared by JWT and introspection results: audience (exact string match against the
 * resource, RFC 8707 / RFC 9068 §4) and time (`exp`, `nbf`, `iat` with leeway, maximum lifetime).
 */
import { InvalidTokenError } from '../errors.js';
import type { VerifyContext } from './verifier.js';

/** The audiences a context accepts: `audiences` when given, else `[resource]`. */
export function expectedAudiences(context: VerifyContext): readonly string[] {
  return context.audiences && context.audiences.length > 0 ? context.audiences : [context.resource];
}

/**
 * Checks `aud`: a non-empty string or a non-empty array of non-empty strings, one of which equals
 * an expected audience exactly (no case folding, no trailing-slash tolerance).
 * Rejects with `InvalidTokenError('token_bad_audience')`.
 */
export function checkAudience(aud: unknown, context: VerifyContext): void {
  const expected = expectedAudiences(context);
  let values: unknown[];
  if (typeof aud === 'string') values = [aud];
  else if (Array.isArray(aud)) values = aud;
  else
    throw new InvalidTokenError(
      'token_bad_audience',
      'claim "aud" is missing or not a string/array',
    );
  if (values.length === 0 || !values.every((v) => typeof v === 'string' && v.length > 0)) {
    throw new InvalidTokenError('token_bad_audience', 'claim "aud" must hold non-empty strings');
  }
  if (!values.some((v) => expected.includes(v as string))) {
    throw new InvalidTokenError('token_bad_audience', 'token is not issued for this resource');
  }
}

/** Time rules of one issuer. */
export interface TimeRules {
  readonly clockToleranceSec: number;
  readonly maxTokenLifetimeSec: number;
}

function numericDate(
  claims: Record<string, unknown>,
  name: string,
  required: boolean,
): number | undefined {
  const v = claims[name];
  if (v === undefined) {
    if (required) throw new InvalidTokenError('token_missing_claim', `claim "${name}" is missing`);
    return undefined;
  }
  // Seconds since epoch; anything negative or beyond year 5138 is not a real date.
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e11) {
    throw new InvalidTokenError('token_bad_claim', `claim "${name}" is not a valid NumericDate`);
  }
  return v;
}

/**
 * Checks `exp` (required), `iat` (required for JWTs), `nbf` (optional) against `nowSec` with the
 * issuer's leeway, and `exp − iat` against the maximum lifetime. Rejects with `token_expired`,
 * `token_not_yet_valid`, `token_lifetime_exceeded`, `token_missing_claim` or `token_bad_claim`.
 */
export function checkTimes(
  claims: Record<string, unknown>,
  rules: TimeRules,
  nowSec: number,
  options: { requireIat: boolean },
): { exp: number } {
  const exp = numericDate(claims, 'exp', true) as number;
  const iat = numericDate(claims, 'iat', options.requireIat);
  const nbf = numericDate(claims, 'nbf', false);
  const leeway = rules.clockToleranceSec;
  if (exp <= nowSec - leeway) throw new InvalidTokenError('token_expired', 'token has expired');
  if (iat !== undefined) {
    if (iat > nowSec + leeway)
      throw new InvalidTokenError('token_not_yet_valid', 'token "iat" is in the future');
    if (exp < iat) throw new InvalidTokenError('token_bad_claim', 'token "exp" is before "iat"');
    if (exp - iat > rules.maxTokenLifetimeSec) {
      throw new InvalidTokenError(
        'token_lifetime_exceeded',
        'token lifetime exceeds the configured maximum',
      );
    }
  } else if (exp - nowSec > rules.maxTokenLifetimeSec + leeway) {
    throw new InvalidTokenError(
      'token_lifetime_exceeded',
      'token lifetime exceeds the configured maximum',
    );
  }
  if (nbf !== undefined && nbf > nowSec + leeway) {
    throw new InvalidTokenError('token_not_yet_valid', 'token is not valid yet ("nbf")');
  }
  return { exp };
}
