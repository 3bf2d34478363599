import { McpIamError } from '@mcp-iam/core';
// One-call token helpers for tests, examples and the demo: a user's access token (headless login
// plus code redemption with PKCE), a machine token (client credentials with a secret or the
// fixture private key), and an RFC 8693 exchange. Plain fetch against the IdP's endpoints.
import { randomBytes, randomUUID } from 'node:crypto';

import { importJWK, SignJWT } from 'jose';

import { DEV_CLIENTS } from '../fixtures/defaults.js';
import { TOKEN_EXCHANGE_GRANT } from '../fixtures/types.js';
import { CookieJar, headlessLogin } from './login.js';

/** A successful token endpoint response. */
export interface TokenSet {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  issued_token_type?: string;
}

/** The token endpoint refused the request; `error` is the OAuth error code. */
export class TokenRequestError extends McpIamError<'token_request_failed'> {
  readonly error: string;
  readonly status: number;
  constructor(status: number, error: string, description: string | undefined) {
    super('token_request_failed', description ? `${error}: ${description}` : error);
    this.name = 'TokenRequestError';
    this.status = status;
    this.error = error;
  }
}

/** Default loopback redirect URI used by {@link userAccessToken}; any port is accepted. */
export const DEMO_REDIRECT_URI = 'http://127.0.0.1:53682/callback';

async function tokenRequest(
  issuer: string,
  body: URLSearchParams,
  basic?: { id: string; secret: string },
): Promise<TokenSet> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) {
    const encode = (v: string) => encodeURIComponent(v);
    headers.authorization = `Basic ${Buffer.from(`${encode(basic.id)}:${encode(basic.secret)}`).toString('base64')}`;
  }
  const res = await fetch(new URL('/token', issuer), { method: 'POST', headers, body });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok || typeof json.access_token !== 'string') {
    throw new TokenRequestError(
      res.status,
      typeof json.error === 'string' ? json.error : 'invalid_response',
      typeof json.error_description === 'string' ? json.error_description : undefined,
    );
  }
  return json as unknown as TokenSet;
}

/** Options of {@link userAccessToken}. */
export interface UserTokenOptions {
  issuer: string;
  user: string;
  password: string;
  /** One-time code (e.g. `totpNow('alice')`); needed for acr `mfa`. */
  otp?: string;
  scope: string;
  /** RFC 8707 resource indicator; the token's audience. */
  resource: string;
  acrValues?: string;
  maxAge?: number;
  /** Default `demo-agent`. */
  clientId?: string;
  /** Default {@link DEMO_REDIRECT_URI}. */
  redirectUri?: string;
  /** Keep the IdP session between calls. */
  cookies?: CookieJar;
}

/**
 * Logs a user in headlessly and redeems the code (PKCE S256) for tokens, as `demo-agent`.
 *
 * @example
 * const { access_token } = await userAccessToken({ issuer, user: 'alice', password: 'alice',
 *   otp: totpNow('alice'), acrValues: 'mfa', scope: 'crm.read',
 *   resource: 'http://127.0.0.1:8080/crm/mcp' });
 */
export async function userAccessToken(options: UserTokenOptions): Promise<TokenSet> {
  const clientId = options.clientId ?? DEV_CLIENTS.demoAgent.clientId;
  const redirectUri = options.redirectUri ?? DEMO_REDIRECT_URI;
  const codeVerifier = randomBytes(32).toString('base64url');
  const { code } = await headlessLogin({
    issuer: options.issuer,
    clientId,
    redirectUri,
    user: options.user,
    password: options.password,
    scope: options.scope,
    resource: options.resource,
    codeVerifier,
    ...(options.otp !== undefined ? { otp: options.otp } : {}),
    ...(options.acrValues !== undefined ? { acrValues: options.acrValues } : {}),
    ...(options.maxAge !== undefined ? { maxAge: options.maxAge } : {}),
    ...(options.cookies ? { cookies: options.cookies } : {}),
  });
  return tokenRequest(
    options.issuer,
    new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      code_verifier: codeVerifier,
    }),
  );
}

/** Options of {@link clientCredentialsToken}: a secret (client_secret_basic) or a private JWK. */
export interface ClientCredentialsOptions {
  issuer: string;
  clientId: string;
  /** For `client_secret_basic` clients such as `ci-bot`. */
  clientSecret?: string;
  /** For `private_key_jwt` clients such as `nightly-sync` (`NIGHTLY_SYNC_PRIVATE_JWK`). */
  privateJwk?: Readonly<Record<string, unknown>>;
  scope: string;
  resource: string;
}

/**
 * A client-credentials token. With `privateJwk` the client authenticates with a signed assertion
 * (RFC 7523, signed with jose); otherwise with HTTP Basic.
 *
 * @example
 * await clientCredentialsToken({ issuer, clientId: 'nightly-sync',
 *   privateJwk: NIGHTLY_SYNC_PRIVATE_JWK, scope: 'notes.read',
 *   resource: 'http://127.0.0.1:8080/notes/mcp' });
 */
export async function clientCredentialsToken(options: ClientCredentialsOptions): Promise<TokenSet> {
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    scope: options.scope,
    resource: options.resource,
  });
  if (options.privateJwk) {
    const alg = typeof options.privateJwk.alg === 'string' ? options.privateJwk.alg : 'ES256';
    const key = await importJWK({ ...options.privateJwk }, alg);
    const kid = typeof options.privateJwk.kid === 'string' ? options.privateJwk.kid : undefined;
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
      .setIssuer(options.clientId)
      .setSubject(options.clientId)
      .setAudience(options.issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(key);
    body.set('client_id', options.clientId);
    body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    body.set('client_assertion', assertion);
    return tokenRequest(options.issuer, body);
  }
  if (options.clientSecret === undefined) throw new Error('clientSecret or privateJwk is required');
  return tokenRequest(options.issuer, body, { id: options.clientId, secret: options.clientSecret });
}

/** Options of {@link exchangeToken}. */
export interface ExchangeTokenOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  subjectToken: string;
  /** Target resource URL. */
  audience: string;
  scope?: string;
}

/**
 * RFC 8693 token exchange with client_secret_basic (e.g. `mcp-gateway`, `insights-server`).
 * Throws {@link TokenRequestError} with the OAuth error code when refused.
 */
export async function exchangeToken(options: ExchangeTokenOptions): Promise<TokenSet> {
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: options.subjectToken,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    audience: options.audience,
  });
  if (options.scope !== undefined) body.set('scope', options.scope);
  return tokenRequest(options.issuer, body, { id: options.clientId, secret: options.clientSecret });
}
