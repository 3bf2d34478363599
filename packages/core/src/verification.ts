/** Token-level verification: issuers, key sets, JWT, introspection, cache, principal building. */
export {
  ASYMMETRIC_ALGORITHMS,
  normalizeTokenType,
  resolveIssuer,
  type AsymmetricAlgorithm,
  type IntrospectionOptions,
  type ResolvedIssuer,
  type TrustedIssuer,
} from './issuer/options.js';
export { assertFetchableUrl, isLoopbackHost } from './issuer/url.js';
export {
  IssuerOptionError,
  type IssuerOptionProblem,
  type OptionRemedy,
} from './issuer/option-error.js';
export { discoverIssuer, discoveryUrls, type IssuerMetadata } from './issuer/discovery.js';
export { IdpFetchError, fetchFailureCause } from './issuer/fetch.js';
export {
  IssuerKeySet,
  MAX_JWKS_KEYS,
  selectUsableKeys,
  type KeySetState,
  type VerificationKey,
} from './issuer/keyset.js';
export { IssuerRegistry, type IssuerRuntime } from './issuer/registry.js';
export { parseStrictJson, StrictJsonError, DEFAULT_MAX_JSON_DEPTH } from './token/strict-json.js';
export {
  DEFAULT_MAX_TOKEN_LENGTH,
  MAX_KID_LENGTH,
  decodeCanonicalBase64url,
  parseJwtEnvelope,
  splitCompact,
  type JwtEnvelope,
} from './token/envelope.js';
export { checkAudience, checkTimes, expectedAudiences, type TimeRules } from './token/claims.js';
export { NON_ACCESS_TOKEN_CLAIMS, verifyJwtForIssuer, type VerifiedJwt } from './token/jwt.js';
export {
  basicCredentials,
  MAX_INTROSPECTION_CACHE_ENTRIES,
  TokenIntrospector,
  type IntrospectionState,
} from './token/introspection.js';
export {
  ValidatedTokenCache,
  tokenCacheKey,
  type CachedVerification,
  type ValidatedTokenCacheOptions,
} from './token/cache.js';
export {
  createAccessTokenVerifier,
  type AccessTokenVerifierOptions,
  type IamAccessTokenVerifier,
  type IssuerState,
  type VerifierState,
} from './token/access-token-verifier.js';
export {
  MAX_ACTOR_DEPTH,
  buildPrincipal,
  parseActor,
  parseScopes,
  type ClaimMapping,
} from './principal/build.js';
