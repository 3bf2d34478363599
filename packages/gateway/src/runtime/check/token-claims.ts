/**
 * The claims of a pasted token set against what one route expects, claim by claim, each with what
 * was expected (and the YAML key that says so) and what was found: issuer, `typ`, algorithm,
 * audience, expiry, and the scopes the route's policy names. The verifier stops at the first
 * problem; this lists every one. It reads the token without verifying it, so it explains a
 * verdict and never gives one: the verdict is the verifier's.
 */
import { expandScopes, normalizeTokenType, parseScopes, resolveIssuer } from '@mcp-iam/core';
import {
  resourceUrl,
  trustedIssuer,
  type GatewayConfig,
  type RouteConfig,
} from '../../config/index.js';
import { routeScopes } from '../guard.js';
import type { FindingLevel } from './report.js';

/** One claim compared with what the route expects. */
export interface ClaimComparison {
  /** `issuer`, `typ`, `algorithm`, `audience`, `expiry`, `scopes`. */
  readonly claim: string;
  /** `fail`: the route refuses the token for it; `warn`: some operations refuse it. */
  readonly level: FindingLevel;
  readonly detail: string;
}

/** A token read without verification: a JWT's header and claims, or an opaque string. */
export type DecodedToken =
  | {
      readonly kind: 'jwt';
      readonly header: Readonly<Record<string, unknown>>;
      readonly claims: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: 'opaque' }
  | { readonly kind: 'malformed'; readonly problem: string };

function jsonSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a token's header and claims without verifying anything. */
export function decodeToken(token: string): DecodedToken {
  const parts = token.split('.');
  if (parts.length === 1) return { kind: 'opaque' };
  if (parts.length !== 3) {
    return { kind: 'malformed', problem: `it has ${parts.length} dot-separated parts, not 3` };
  }
  const header = jsonSegment(parts[0]!);
  const claims = jsonSegment(parts[1]!);
  if (!header) return { kind: 'malformed', problem: 'its header is not a base64url JSON object' };
  if (!claims) return { kind: 'malformed', problem: 'its payload is not a base64url JSON object' };
  return { kind: 'jwt', header, claims };
}

const show = (value: unknown): string => (value === undefined ? 'none' : JSON.stringify(value));
const list = (values: readonly string[]): string => `[${values.join(', ')}]`;

function duration(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function at(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** What the claims are compared with. */
export interface ClaimExpectations {
  readonly config: GatewayConfig;
  readonly route: RouteConfig;
  /** The token's claims (a JWT's payload, or an introspection answer). */
  readonly claims: Readonly<Record<string, unknown>>;
  /** A JWT's header; absent for opaque tokens. */
  readonly header?: Readonly<Record<string, unknown>>;
  /** Now, seconds since the epoch. */
  readonly nowSec: number;
}

function compareTimes(
  claims: Readonly<Record<string, unknown>>,
  tolerance: number,
  maxLifetime: number,
  nowSec: number,
): ClaimComparison {
  const { exp, nbf, iat } = claims;
  if (typeof exp !== 'number') {
    return { claim: 'expiry', level: 'fail', detail: `expected an exp claim; found ${show(exp)}` };
  }
  if (exp <= nowSec - tolerance) {
    return {
      claim: 'expiry',
      level: 'fail',
      detail: `expired at ${at(exp)}, ${duration(nowSec - exp)} ago (clock tolerance ${tolerance} s)`,
    };
  }
  const early = [nbf, iat].find((t) => typeof t === 'number' && t > nowSec + tolerance);
  if (typeof early === 'number') {
    return {
      claim: 'expiry',
      level: 'fail',
      detail: `not valid before ${at(early)}, in ${duration(early - nowSec)} (is a clock wrong?)`,
    };
  }
  if (typeof iat === 'number' && exp - iat > maxLifetime) {
    return {
      claim: 'expiry',
      level: 'fail',
      detail: `lives ${duration(exp - iat)} (exp − iat); the issuer's max_token_lifetime_s is ${maxLifetime}`,
    };
  }
  return {
    claim: 'expiry',
    level: 'ok',
    detail: `expires at ${at(exp)}, in ${duration(exp - nowSec)}`,
  };
}

/**
 * Every claim of the token compared with what `route` expects. The issuer's settings (`typ`,
 * algorithms, clock tolerance, scope claim) are those of the configured issuer the token names,
 * with core's defaults.
 */
export function compareClaims(input: ClaimExpectations): ClaimComparison[] {
  const { config, route, claims, header, nowSec } = input;
  const routeIndex = config.routes.indexOf(route);
  const out: ClaimComparison[] = [];
  const accepted = route.issuers ?? config.issuers.map((i) => i.issuer);
  const issuersKey = route.issuers ? `routes[${routeIndex}].issuers` : 'issuers[].issuer';
  const index = config.issuers.findIndex((i) => i.issuer === claims.iss);
  const known = index >= 0 && accepted.includes(claims.iss as string);
  out.push({
    claim: 'issuer',
    level: known ? 'ok' : 'fail',
    detail: known
      ? `${show(claims.iss)} is issuers[${index}]`
      : `expected one of ${list(accepted)} (${issuersKey}); found ${show(claims.iss)}`,
  });
  const issuerConfig = index >= 0 ? config.issuers[index]! : undefined;
  // A token from an issuer the route does not know is compared with core's defaults.
  const resolved = resolveIssuer(
    issuerConfig ? trustedIssuer(issuerConfig) : { issuer: 'https://unknown-issuer.invalid' },
  );
  const key = (name: string): string => (index >= 0 ? `issuers[${index}].${name}` : name);

  if (header) {
    const typ = header.typ;
    const typOk = typeof typ === 'string' && resolved.tokenTypes.includes(normalizeTokenType(typ));
    out.push({
      claim: 'typ',
      level: typOk ? 'ok' : 'fail',
      detail: typOk
        ? `${show(typ)} is in ${key('token_types')}`
        : `expected one of ${list(issuerConfig?.token_types ?? ['at+jwt'])} (${key('token_types')}); ` +
          `found ${show(typ)}` +
          (typeof typ === 'string'
            ? `; if this IdP writes ${typ} in its access tokens, add it to ${key('token_types')}`
            : '; a JWT without typ is never accepted'),
    });
    const alg = header.alg;
    const algOk =
      typeof alg === 'string' && (resolved.algorithms as readonly string[]).includes(alg);
    out.push({
      claim: 'algorithm',
      level: algOk ? 'ok' : 'fail',
      detail: algOk
        ? `${show(alg)} is in ${key('algorithms')}`
        : `expected one of ${list(resolved.algorithms)} (${key('algorithms')}); found ${show(alg)}`,
    });
  }

  const audiences = route.audiences ?? [resourceUrl(config, route)];
  const audKey = route.audiences ? `routes[${routeIndex}].audiences` : 'public_url + path';
  const aud = claims.aud;
  const found = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  const audOk = found.some((a) => typeof a === 'string' && audiences.includes(a));
  out.push({
    claim: 'audience',
    level: audOk ? 'ok' : 'fail',
    detail: audOk
      ? `${show(aud)} includes ${list(audiences)}`
      : `expected ${list(audiences)} (${audKey}); found ${show(aud)}` +
        `; get a token issued for this route (mcp-iam token … --resource ${audiences[0]})`,
  });

  out.push(compareTimes(claims, resolved.clockToleranceSec, resolved.maxTokenLifetimeSec, nowSec));

  const needed = routeScopes(route);
  let granted: string[];
  try {
    granted = parseScopes(claims[resolved.scopeClaim], resolved.scopeClaim);
  } catch {
    granted = [];
  }
  const implied = expandScopes(granted, route.policy?.scope_hierarchy);
  const missing = needed.filter((s) => !implied.has(s));
  out.push({
    claim: 'scopes',
    level: missing.length === 0 ? 'ok' : 'warn',
    detail:
      `the route's policy names ${list(needed)}; the token grants ${list(granted)} ` +
      `(claim ${resolved.scopeClaim})` +
      (missing.length > 0 ? `; missing ${list(missing)}` : ''),
  });
  return out;
}
