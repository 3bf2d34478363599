// Test support: drives the development IdP with an independent OAuth client library
// (oauth4webapi), so the tests check the IdP against someone else's reading of the standards.
// Used by the *.test.ts files only.
import * as oauth from 'oauth4webapi';
import { importJWK } from 'jose';

import { DEFAULT_RESOURCES, DEV_CLIENTS, NIGHTLY_SYNC_PRIVATE_JWK } from '../fixtures/defaults.js';
import { headlessLogin, type HeadlessLoginOptions } from '../headless/login.js';
import { TOKEN_EXCHANGE_GRANT } from '../fixtures/types.js';
import type { DevIdp } from '../server.js';

/** Options that let oauth4webapi talk plain HTTP to the loopback IdP. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** A loopback redirect URI of `demo-agent` on an arbitrary port. */
export const REDIRECT_URI = 'http://127.0.0.1:49152/callback';

/** Discovers the IdP's metadata (OIDC discovery, checked by oauth4webapi). */
export async function discover(idp: DevIdp): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(idp.issuer);
  const response = await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oidc' });
  return oauth.processDiscoveryResponse(issuer, response);
}

/** A user login plus code redemption for `demo-agent`, returning the token response. */
export async function userTokens(
  idp: DevIdp,
  login: Partial<HeadlessLoginOptions> & { user: string; password: string },
): Promise<oauth.TokenEndpointResponse> {
  const as = await discover(idp);
  const client: oauth.Client = { client_id: DEV_CLIENTS.demoAgent.clientId };
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const redirectUri = login.redirectUri ?? REDIRECT_URI;
  const result = await headlessLogin({
    issuer: idp.issuer,
    clientId: client.client_id,
    redirectUri,
    scope: 'crm.read',
    resource: DEFAULT_RESOURCES.crm,
    codeVerifier,
    ...login,
  });
  const params = oauth.validateAuthResponse(
    as,
    client,
    new URLSearchParams({ code: result.code, state: result.state ?? '', iss: result.iss ?? '' }),
    result.state ?? oauth.skipStateCheck,
  );
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    oauth.None(),
    params,
    redirectUri,
    codeVerifier,
    insecure,
  );
  return oauth.processAuthorizationCodeResponse(as, client, response);
}

/** A client-credentials token for `ci-bot` (client_secret_basic). */
export async function ciBotToken(
  idp: DevIdp,
  parameters: Record<string, string>,
  secret: string = DEV_CLIENTS.ciBot.clientSecret,
): Promise<oauth.TokenEndpointResponse> {
  const as = await discover(idp);
  const client = { client_id: DEV_CLIENTS.ciBot.clientId };
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.ClientSecretBasic(secret),
    parameters,
    insecure,
  );
  return oauth.processClientCredentialsResponse(as, client, response);
}

/** A client-credentials token for `nightly-sync` (private_key_jwt with the fixture key). */
export async function nightlySyncToken(
  idp: DevIdp,
  parameters: Record<string, string>,
): Promise<oauth.TokenEndpointResponse> {
  const as = await discover(idp);
  const client = { client_id: DEV_CLIENTS.nightlySync.clientId };
  const key = await importJWK({ ...NIGHTLY_SYNC_PRIVATE_JWK }, 'ES256');
  if (key instanceof Uint8Array) throw new Error('expected an asymmetric key');
  const response = await oauth.clientCredentialsGrantRequest(
    as,
    client,
    oauth.PrivateKeyJwt({ key, kid: NIGHTLY_SYNC_PRIVATE_JWK.kid }),
    parameters,
    insecure,
  );
  return oauth.processClientCredentialsResponse(as, client, response);
}

/** An RFC 8693 exchange request; resolves to the processed response (throws on OAuth errors). */
export async function exchange(
  idp: DevIdp,
  clientId: string,
  secret: string,
  parameters: Record<string, string>,
): Promise<oauth.TokenEndpointResponse> {
  const as = await discover(idp);
  const client = { client_id: clientId };
  const response = await oauth.genericTokenEndpointRequest(
    as,
    client,
    oauth.ClientSecretBasic(secret),
    TOKEN_EXCHANGE_GRANT,
    {
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      ...parameters,
    },
    insecure,
  );
  return oauth.processGenericTokenEndpointResponse(as, client, response);
}

/** Introspects a token as `mcp-gateway` (or another confidential client). */
export async function introspect(
  idp: DevIdp,
  token: string,
  clientId: string = DEV_CLIENTS.mcpGateway.clientId,
  secret: string = DEV_CLIENTS.mcpGateway.clientSecret,
): Promise<oauth.IntrospectionResponse> {
  const as = await discover(idp);
  const client = { client_id: clientId };
  const response = await oauth.introspectionRequest(
    as,
    client,
    oauth.ClientSecretBasic(secret),
    token,
    insecure,
  );
  return oauth.processIntrospectionResponse(as, client, response);
}

/** Validates a JWT access token for an audience the way a resource server would (RFC 9068). */
export async function validateAccessToken(
  idp: DevIdp,
  token: string,
  audience: string,
): Promise<oauth.JWTAccessTokenClaims> {
  const as = await discover(idp);
  const request = new Request('http://127.0.0.1/mcp', {
    headers: { authorization: `Bearer ${token}` },
  });
  return oauth.validateJwtAccessToken(as, request, audience, insecure);
}

/** The OAuth `error` code of a rejected promise from oauth4webapi (ResponseBodyError). */
export async function oauthError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError) return err.error;
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      const error = err.cause[0]?.parameters.error;
      if (error) return error;
    }
    throw err;
  }
  throw new Error('expected an OAuth error response');
}
