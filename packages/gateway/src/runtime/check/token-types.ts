/**
 * What `typ` an IdP writes in the header of its JWT access tokens, where it can be known without a
 * token: some IdPs are recognisable by their issuer URL or metadata and write a `typ` other than
 * RFC 9068's `at+jwt`. An issuer whose `token_types` leaves that `typ` out refuses every token of
 * that IdP (`token_bad_type`); {@link tokenTypeFinding} says so before the first request does.
 */
import { normalizeTokenType, type IssuerMetadata } from '@mcp-iam/core';
import type { IssuerConfig } from '../../config/index.js';
import { finding, type CheckFinding } from './report.js';

/** An IdP family and the `typ` its access tokens carry. */
export interface KnownTokenType {
  /** The IdP, for people: `Microsoft Entra ID`. */
  readonly idp: string;
  /** The `typ` header value of its access tokens. */
  readonly typ: string;
}

const ENTRA_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.partner.microsoftonline.cn',
  'sts.windows.net',
]);

/**
 * The `typ` the IdP behind `issuer` writes, when its issuer URL or metadata gives it away:
 * Microsoft Entra ID (v1 and v2 tokens) and Keycloak write `JWT`. Undefined when unknown.
 */
export function knownTokenType(
  issuer: string,
  metadata: IssuerMetadata | undefined,
): KnownTokenType | undefined {
  const url = new URL(issuer);
  if (ENTRA_HOSTS.has(url.hostname.toLowerCase()) || metadata?.document.cloud_instance_name) {
    return { idp: 'Microsoft Entra ID', typ: 'JWT' };
  }
  const keycloakEndpoint = metadata?.token_endpoint?.endsWith('/protocol/openid-connect/token');
  if (/\/realms\/[^/]+\/?$/.test(url.pathname) && (metadata === undefined || keycloakEndpoint)) {
    return { idp: 'Keycloak', typ: 'JWT' };
  }
  return undefined;
}

/** The `token_types` an issuer accepts, as the verifier compares them (lower case, no `application/`). */
export function acceptedTokenTypes(issuer: IssuerConfig): string[] {
  return (issuer.token_types ?? ['at+jwt']).map(normalizeTokenType);
}

/** `[at+jwt]`, or `[at+jwt] (the default)` when the file leaves `token_types` out. */
export function describeTokenTypes(issuer: IssuerConfig): string {
  const list = `[${(issuer.token_types ?? ['at+jwt']).join(', ')}]`;
  return issuer.token_types ? list : `${list} (the default)`;
}

/**
 * A warning when `typ`, which tokens of this issuer carry, is not in its `token_types`: every such
 * token would be refused with `token_bad_type`. `source` says how the `typ` is known.
 */
export function tokenTypeMismatch(
  issuer: IssuerConfig,
  index: number,
  typ: string,
  source: string,
): string | undefined {
  if (acceptedTokenTypes(issuer).includes(normalizeTokenType(typ))) return undefined;
  const wanted = [...(issuer.token_types ?? ['at+jwt']), typ].join(', ');
  return (
    `${source} writes typ ${JSON.stringify(typ)}, but issuers[${index}].token_types is ` +
    `${describeTokenTypes(issuer)}: every such token is refused (token_bad_type); ` +
    `set issuers[${index}].token_types: [${wanted}]`
  );
}

/** The finding about the issuer's known `typ`, or undefined when the IdP's `typ` is unknown. */
export function tokenTypeFinding(
  issuer: IssuerConfig,
  index: number,
  metadata: IssuerMetadata | undefined,
): CheckFinding | undefined {
  const known = knownTokenType(issuer.issuer, metadata);
  if (!known) return undefined;
  const subject = `issuer ${issuer.issuer}: token types`;
  const mismatch = tokenTypeMismatch(issuer, index, known.typ, known.idp);
  return mismatch
    ? finding('warn', subject, mismatch)
    : finding('ok', subject, `${known.idp} writes typ ${known.typ}, which token_types accepts`);
}
