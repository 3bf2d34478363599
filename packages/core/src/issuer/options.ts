/**
 * Configuration of one trusted token issuer (an IdP, or one realm/tenant of it) and its validation
 * into a fully defaulted, immutable form. Unsafe settings (symmetric algorithms, `none`, plain http
 * to a non-loopback host) are refused here, at configuration time.
 */
import { IssuerOptionError } from './option-error.js';
import { assertFetchableUrl } from './url.js';

/** Asymmetric JWS algorithms an issuer may be configured with. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** One asymmetric JWS algorithm name (case-sensitive, as in the JOSE header). */
export type AsymmetricAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number];

/** RFC 7662 introspection settings (client_secret_basic). */
export interface IntrospectionOptions {
  /** Introspection endpoint URL (https, or loopback http when allowed). */
  readonly endpoint: string;
  /** The resource server's client id at the IdP. */
  readonly clientId: string;
  /** Its client secret (sent with HTTP Basic, RFC 6749 §2.3.1 encoding). */
  readonly clientSecret: string;
  /** Upper bound for caching an `active: true` answer, seconds. Default 60. Never beyond `exp`. */
  readonly positiveTtlSec?: number;
  /** How long an inactive answer is cached, seconds. Default 5. */
  readonly negativeTtlSec?: number;
}

/**
 * A trusted issuer. Tokens are routed to it by their exact `iss`.
 *
 * @example
 * ```ts
 * const idp: TrustedIssuer = {
 *   issuer: 'https://login.example.com/realms/corp',
 *   algorithms: ['ES256', 'RS256'],
 *   scopeClaim: 'scope',
 * };
 * ```
 */
export interface TrustedIssuer {
  /** Exact issuer identifier; compared with `iss` as a plain string (no normalisation). */
  readonly issuer: string;
  /**
   * JWKS URL. Default: `jwks_uri` from discovery (RFC 8414 `/.well-known/oauth-authorization-server`,
   * then OIDC `/.well-known/openid-configuration`), whose `issuer` must equal `issuer` exactly.
   */
  readonly jwksUri?: string;
  /** Accepted JWS algorithms; asymmetric only. Default `['RS256', 'ES256', 'EdDSA']`. */
  readonly algorithms?: readonly AsymmetricAlgorithm[];
  /** Accepted JWT `typ` values (case-insensitive; `application/` prefix optional). Default `['at+jwt']`. */
  readonly tokenTypes?: readonly string[];
  /** Leeway for `exp`, `nbf`, `iat`, seconds. Default 30. */
  readonly clockToleranceSec?: number;
  /** Maximum `exp − iat`, seconds. Default 86 400 (24 h). */
  readonly maxTokenLifetimeSec?: number;
  /** Claim holding scopes: a space-delimited string or an array of strings. Default `scope`. */
  readonly scopeClaim?: string;
  /** Claim holding the client id (`client_id`, `azp`, `cid`, ...). Default `client_id`. */
  readonly clientIdClaim?: string;
  /** Require a `jti` claim. Default false. */
  readonly requireJti?: boolean;
  /**
   * Token formats this issuer issues. `jwt`: verified locally; `opaque`: every token (even a
   * JWT-shaped one naming this issuer) is introspected; `both`: JWTs locally, others introspected.
   * Default `both` when `introspection` is set, else `jwt`.
   */
  readonly format?: 'jwt' | 'opaque' | 'both';
  /** RFC 7662 introspection for opaque tokens. */
  readonly introspection?: IntrospectionOptions;
  /** Allow plain http to 127.0.0.0/8, ::1 and localhost (development IdPs). Default false. */
  readonly allowInsecureLoopbackHttp?: boolean;
  /** Timeout of each discovery, JWKS and introspection request, ms. Default 5000. */
  readonly fetchTimeoutMs?: number;
  /** Interval of background key set refresh, seconds. Default 300. */
  readonly keyRefreshIntervalSec?: number;
  /** How long last-known-good keys are served after refreshes start failing, seconds. Default 600. */
  readonly staleIfErrorSec?: number;
  /** Minimum time between refetches caused by an unknown `kid`, seconds. Default 30. */
  readonly unknownKidCooldownSec?: number;
  /** Minimum time between attempts after a failed key set load, seconds. Default 5. */
  readonly failureBackoffSec?: number;
}

/** A validated issuer with every default applied. */
export interface ResolvedIssuer {
  readonly issuer: string;
  readonly jwksUri?: string;
  readonly algorithms: readonly AsymmetricAlgorithm[];
  /** Normalised (lower-case, without `application/`). */
  readonly tokenTypes: readonly string[];
  readonly clockToleranceSec: number;
  readonly maxTokenLifetimeSec: number;
  readonly scopeClaim: string;
  readonly clientIdClaim: string;
  readonly requireJti: boolean;
  readonly format: 'jwt' | 'opaque' | 'both';
  readonly introspection?: Required<IntrospectionOptions>;
  readonly allowInsecureLoopbackHttp: boolean;
  readonly fetchTimeoutMs: number;
  readonly keyRefreshIntervalSec: number;
  readonly staleIfErrorSec: number;
  readonly unknownKidCooldownSec: number;
  readonly failureBackoffSec: number;
}

/** Normalises a `typ` value: lower-case, `application/` prefix removed. */
export function normalizeTokenType(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function nonNegative(
  value: number | undefined,
  fallback: number,
  name: string,
  issuer: string,
): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new IssuerOptionError({
      issuer,
      option: name,
      problem: 'must be a non-negative finite number',
    });
  }
  return v;
}

function positive(
  value: number | undefined,
  fallback: number,
  name: string,
  issuer: string,
): number {
  const v = nonNegative(value, fallback, name, issuer);
  if (v === 0)
    throw new IssuerOptionError({ issuer, option: name, problem: 'must be greater than 0' });
  return v;
}

function claimName(
  value: string | undefined,
  fallback: string,
  name: string,
  issuer: string,
): string {
  const v = value ?? fallback;
  if (typeof v !== 'string' || v.length === 0) {
    throw new IssuerOptionError({ issuer, option: name, problem: 'must be a non-empty string' });
  }
  return v;
}

/** `assertFetchableUrl` for one option of `issuer`: its errors name the issuer. */
function fetchableOption(
  value: string,
  allowLoopback: boolean,
  option: string,
  issuer: string,
): void {
  try {
    assertFetchableUrl(value, allowLoopback, option);
  } catch (error) {
    throw error instanceof IssuerOptionError ? error.forIssuer(issuer) : error;
  }
}

/**
 * Validates a `TrustedIssuer` and applies defaults. Throws an {@link IssuerOptionError} naming
 * the option for unsafe or inconsistent settings (e.g. `HS256` or `none` in `algorithms`).
 *
 * @example
 * ```ts
 * resolveIssuer({ issuer: 'https://idp.example.com', algorithms: ['HS256'] });
 * // IssuerOptionError: issuer https://idp.example.com: algorithms must not contain "HS256" ...
 * ```
 */
export function resolveIssuer(options: TrustedIssuer): ResolvedIssuer {
  if (typeof options?.issuer !== 'string' || options.issuer.length === 0) {
    throw new IssuerOptionError({ option: 'issuer', problem: 'must be a non-empty string' });
  }
  const issuer = options.issuer;
  const allowLoopback = options.allowInsecureLoopbackHttp === true;
  fetchableOption(issuer, allowLoopback, 'issuer', issuer);
  if (new URL(issuer).search !== '')
    throw new IssuerOptionError({ issuer, option: 'issuer', problem: 'must not have a query' });
  if (options.jwksUri !== undefined) {
    fetchableOption(options.jwksUri, allowLoopback, 'jwksUri', issuer);
  }

  const algorithms = options.algorithms ?? ['RS256', 'ES256', 'EdDSA'];
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new IssuerOptionError({
      issuer,
      option: 'algorithms',
      problem: 'must be a non-empty array',
    });
  }
  for (const alg of algorithms) {
    if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new IssuerOptionError({
        issuer,
        option: 'algorithms',
        problem:
          `must not contain ${JSON.stringify(alg)}: use asymmetric algorithms only ` +
          `(${ASYMMETRIC_ALGORITHMS.join(', ')}); HS* and "none" are never accepted`,
      });
    }
  }

  const tokenTypes = (options.tokenTypes ?? ['at+jwt']).map((t) => {
    if (typeof t !== 'string' || t.length === 0) {
      throw new IssuerOptionError({
        issuer,
        option: 'tokenTypes',
        problem: 'must be non-empty strings',
      });
    }
    return normalizeTokenType(t);
  });
  if (tokenTypes.length === 0) {
    throw new IssuerOptionError({ issuer, option: 'tokenTypes', problem: 'must not be empty' });
  }

  const format = options.format ?? (options.introspection ? 'both' : 'jwt');
  if (!['jwt', 'opaque', 'both'].includes(format)) {
    throw new IssuerOptionError({
      issuer,
      option: 'format',
      problem: "must be 'jwt', 'opaque' or 'both'",
    });
  }
  if (format !== 'jwt' && !options.introspection) {
    throw new IssuerOptionError({
      issuer,
      option: 'format',
      problem: `'${format}' needs introspection settings`,
    });
  }

  let introspection: Required<IntrospectionOptions> | undefined;
  if (options.introspection) {
    const i = options.introspection;
    fetchableOption(i.endpoint, allowLoopback, 'introspection.endpoint', issuer);
    for (const key of ['clientId', 'clientSecret'] as const) {
      if (typeof i[key] !== 'string' || i[key].length === 0) {
        throw new IssuerOptionError({
          issuer,
          option: `introspection.${key}`,
          problem: 'must be a non-empty string',
        });
      }
    }
    introspection = {
      endpoint: i.endpoint,
      clientId: i.clientId,
      clientSecret: i.clientSecret,
      positiveTtlSec: nonNegative(i.positiveTtlSec, 60, 'introspection.positiveTtlSec', issuer),
      negativeTtlSec: nonNegative(i.negativeTtlSec, 5, 'introspection.negativeTtlSec', issuer),
    };
  }

  return Object.freeze({
    issuer,
    ...(options.jwksUri !== undefined ? { jwksUri: options.jwksUri } : {}),
    algorithms: Object.freeze([...algorithms]),
    tokenTypes: Object.freeze(tokenTypes),
    clockToleranceSec: nonNegative(options.clockToleranceSec, 30, 'clockToleranceSec', issuer),
    maxTokenLifetimeSec: positive(
      options.maxTokenLifetimeSec,
      86_400,
      'maxTokenLifetimeSec',
      issuer,
    ),
    scopeClaim: claimName(options.scopeClaim, 'scope', 'scopeClaim', issuer),
    clientIdClaim: claimName(options.clientIdClaim, 'client_id', 'clientIdClaim', issuer),
    requireJti: options.requireJti === true,
    format,
    ...(introspection ? { introspection: Object.freeze(introspection) } : {}),
    allowInsecureLoopbackHttp: allowLoopback,
    fetchTimeoutMs: positive(options.fetchTimeoutMs, 5000, 'fetchTimeoutMs', issuer),
    keyRefreshIntervalSec: positive(
      options.keyRefreshIntervalSec,
      300,
      'keyRefreshIntervalSec',
      issuer,
    ),
    staleIfErrorSec: nonNegative(options.staleIfErrorSec, 600, 'staleIfErrorSec', issuer),
    unknownKidCooldownSec: nonNegative(
      options.unknownKidCooldownSec,
      30,
      'unknownKidCooldownSec',
      issuer,
    ),
    failureBackoffSec: nonNegative(options.failureBackoffSec, 5, 'failureBackoffSec', issuer),
  });
}
