/**
 * A YAML issuer as core sees it, in both directions: {@link trustedIssuer} maps `issuers[N]` onto
 * core's `TrustedIssuer`, and {@link issuerKeyPath} names a `TrustedIssuer` option (as core's
 * messages do) by the key a gateway user writes, `issuers[N].allow_insecure_loopback_http`.
 * {@link verifierProblems} runs core's own rules on the issuers and routes, so a setting core would
 * refuse is reported while the file is loaded, at its key and line.
 */
import {
  IssuerOptionError,
  assertFetchableUrl,
  resolveIssuer,
  type AsymmetricAlgorithm,
  type TrustedIssuer,
} from '@mcp-iam/core';
import { formatKeyPath } from './errors.js';
import type { GatewayConfig, IssuerConfig } from './schema.js';
import type { ValidationProblem } from './validate.js';

/**
 * The YAML key (dot path under `issuers[N]`) of each `TrustedIssuer` option the gateway sets.
 * Options the YAML has no key for keep core's name.
 */
export const YAML_KEY_OF_ISSUER_OPTION: Readonly<Record<string, string>> = Object.freeze({
  issuer: 'issuer',
  jwksUri: 'jwks_uri',
  algorithms: 'algorithms',
  tokenTypes: 'token_types',
  scopeClaim: 'scope_claim',
  clientIdClaim: 'client_id_claim',
  clockToleranceSec: 'clock_tolerance_s',
  maxTokenLifetimeSec: 'max_token_lifetime_s',
  requireJti: 'require_jti',
  format: 'format',
  introspection: 'introspection',
  'introspection.endpoint': 'introspection.endpoint',
  'introspection.clientId': 'introspection.client_id',
  'introspection.clientSecret': 'introspection.client_secret',
  allowInsecureLoopbackHttp: 'allow_insecure_loopback_http',
  fetchTimeoutMs: 'fetch_timeout_ms',
  keyRefreshIntervalSec: 'key_refresh_interval_s',
  staleIfErrorSec: 'stale_if_error_s',
});

/**
 * The key path a gateway user edits for a `TrustedIssuer` option of the issuer at `index`:
 * `issuerKeyPath(0, 'allowInsecureLoopbackHttp')` is `issuers[0].allow_insecure_loopback_http`.
 * A name that is no option (`discovered jwks_uri`, a value the IdP published) is returned as is.
 */
export function issuerKeyPath(index: number, option: string): string {
  const key = Object.hasOwn(YAML_KEY_OF_ISSUER_OPTION, option)
    ? YAML_KEY_OF_ISSUER_OPTION[option]
    : undefined;
  return key === undefined ? option : formatKeyPath(['issuers', index, ...key.split('.')]);
}

/**
 * Renders core's {@link IssuerOptionError} for the issuer at `index` with YAML key paths:
 * `issuers[0].issuer uses http; set issuers[0].allow_insecure_loopback_http: true to allow loopback http`.
 */
export function describeIssuerOptionError(error: IssuerOptionError, index: number): string {
  return error.describe((option) => issuerKeyPath(index, option));
}

/**
 * The message of an error core raised for the issuer at `index` (a failed discovery, a refused
 * URL), with every `TrustedIssuer` option in it named by its YAML key path.
 */
export function describeIssuerError(error: unknown, index: number): string {
  if (error instanceof IssuerOptionError) return describeIssuerOptionError(error, index);
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof IssuerOptionError
    ? message.replace(cause.message, describeIssuerOptionError(cause, index))
    : message;
}

/** Maps one YAML issuer onto core's `TrustedIssuer`. */
export function trustedIssuer(issuer: IssuerConfig): TrustedIssuer {
  const introspection = issuer.introspection;
  return {
    issuer: issuer.issuer,
    ...(issuer.jwks_uri ? { jwksUri: issuer.jwks_uri } : {}),
    ...(issuer.algorithms
      ? {
          algorithms: issuer.algorithms.map((a) =>
            a === 'Ed25519' ? 'EdDSA' : a,
          ) as AsymmetricAlgorithm[],
        }
      : {}),
    ...(issuer.token_types ? { tokenTypes: issuer.token_types } : {}),
    ...(issuer.scope_claim ? { scopeClaim: issuer.scope_claim } : {}),
    ...(issuer.client_id_claim ? { clientIdClaim: issuer.client_id_claim } : {}),
    ...(issuer.clock_tolerance_s !== undefined
      ? { clockToleranceSec: issuer.clock_tolerance_s }
      : {}),
    ...(issuer.max_token_lifetime_s !== undefined
      ? { maxTokenLifetimeSec: issuer.max_token_lifetime_s }
      : {}),
    ...(issuer.require_jti !== undefined ? { requireJti: issuer.require_jti } : {}),
    ...(issuer.key_refresh_interval_s !== undefined
      ? { keyRefreshIntervalSec: issuer.key_refresh_interval_s }
      : {}),
    ...(issuer.stale_if_error_s !== undefined ? { staleIfErrorSec: issuer.stale_if_error_s } : {}),
    ...(issuer.fetch_timeout_ms !== undefined ? { fetchTimeoutMs: issuer.fetch_timeout_ms } : {}),
    format: issuer.format ?? (introspection ? 'both' : 'jwt'),
    ...(introspection
      ? {
          introspection: {
            endpoint: introspection.endpoint,
            clientId: introspection.client_id,
            clientSecret: introspection.client_secret ?? '',
          },
        }
      : {}),
    allowInsecureLoopbackHttp: issuer.allow_insecure_loopback_http ?? false,
  };
}

/** A problem placed at the YAML key of `error`'s option, worded with YAML key paths. */
function problemAt(error: IssuerOptionError, index: number): ValidationProblem {
  const key = YAML_KEY_OF_ISSUER_OPTION[error.option] ?? error.option;
  return {
    path: ['issuers', index, ...key.split('.')],
    message: error.describeProblem((option) => issuerKeyPath(index, option)),
  };
}

/**
 * Core's rules for the token verifier the gateway builds from `config`, as problems at YAML keys:
 * every issuer as `resolveIssuer` checks it; the URL of `client.token_endpoint` (fetched under the
 * first issuer's `allow_insecure_loopback_http`); and at most one issuer that introspects opaque
 * tokens per route (an opaque token names no issuer). `startGateway` and `mcp-iam check` load the
 * file with these rules; a server built with another verifier does not need them.
 *
 * @example
 * ```ts
 * const { config } = await loadConfigFile('gateway.yaml', { rules: [verifierProblems] });
 * ```
 */
export function verifierProblems(config: GatewayConfig): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  config.issuers.forEach((issuer, index) => {
    try {
      resolveIssuer(trustedIssuer(issuer));
    } catch (error) {
      if (!(error instanceof IssuerOptionError)) throw error;
      problems.push(problemAt(error, index));
    }
  });
  const tokenEndpoint = config.client?.token_endpoint;
  const first = config.issuers[0];
  if (tokenEndpoint !== undefined && first !== undefined) {
    try {
      assertFetchableUrl(
        tokenEndpoint,
        first.allow_insecure_loopback_http ?? false,
        'tokenEndpoint',
      );
    } catch (error) {
      if (!(error instanceof IssuerOptionError)) throw error;
      problems.push({
        path: ['client', 'token_endpoint'],
        message: error.describeProblem((option) => issuerKeyPath(0, option)),
      });
    }
  }
  const introspecting = config.issuers
    .filter((issuer) => issuer.introspection !== undefined && issuer.format !== 'jwt')
    .map((issuer) => issuer.issuer);
  config.routes.forEach((route, i) => {
    const ambiguous = introspecting.filter((iss) => route.issuers?.includes(iss) ?? true);
    if (ambiguous.length > 1) {
      problems.push({
        path: route.issuers ? ['routes', i, 'issuers'] : ['routes', i],
        message:
          `issuers ${ambiguous.join(', ')} all introspect opaque tokens; list at most one of ` +
          `them in routes[${i}].issuers (or set format: jwt on the others)`,
      });
    }
  });
  return problems;
}
