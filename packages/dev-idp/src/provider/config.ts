// Builds the oidc-provider configuration of the development IdP from its state: static clients
// from the fixtures, RFC 8707 resources with per-resource token format and lifetime, acr/amr and
// groups in access tokens, PKCE S256 everywhere, refresh-token rotation, the step-up check, and
// the token-exchange grant. Only documented configuration hooks are used.
import type {
  Account,
  ClientMetadata,
  Configuration,
  KoaContextWithOIDC,
  ResourceServer,
  UnknownObject,
} from 'oidc-provider';
import type * as OidcProviderModule from 'oidc-provider';

import { ACR } from '../fixtures/defaults.js';
import { TOKEN_EXCHANGE_GRANT } from '../fixtures/types.js';
import { escapeHtml } from '../interactions/html.js';
import type { DevIdpState } from './state.js';

/** Supported authentication context class values, weakest first. */
export const ACR_VALUES = [ACR.password, ACR.mfa];

/** Lifetimes (seconds) of artefacts that are not per-resource access tokens. */
const TTL = {
  authorizationCode: 60,
  refreshToken: 24 * 3600,
  session: 24 * 3600,
  grant: 24 * 3600,
  interaction: 600,
  idToken: 600,
  defaultAccessToken: 600,
};

function clientMetadata(state: DevIdpState): ClientMetadata[] {
  return Object.entries(state.fixtures.clients).map(([clientId, c]) => {
    const interactive = c.grant_types.includes('authorization_code');
    const meta: ClientMetadata = {
      client_id: clientId,
      token_endpoint_auth_method: c.token_endpoint_auth_method,
      // Confidential clients all reach the token-exchange handler, which answers the RFC 6749
      // `unauthorized_client` error to those the fixtures do not allow (the provider's own check
      // would answer `invalid_request`).
      grant_types:
        c.token_endpoint_auth_method === 'none' || c.grant_types.includes(TOKEN_EXCHANGE_GRANT)
          ? c.grant_types
          : [...c.grant_types, TOKEN_EXCHANGE_GRANT],
      response_types: interactive ? ['code'] : [],
      redirect_uris: interactive ? (c.redirect_uris ?? []) : [],
      application_type: c.token_endpoint_auth_method === 'none' ? 'native' : 'web',
    };
    if (c.client_secret !== undefined) meta.client_secret = c.client_secret;
    if (c.jwks) meta.jwks = c.jwks as ClientMetadata['jwks'];
    if (c.scope !== undefined && !interactive) meta.scope = c.scope;
    if (c.token_endpoint_auth_method === 'private_key_jwt') {
      meta.token_endpoint_auth_signing_alg = 'ES256';
    }
    return meta;
  });
}

function splitScope(scope: unknown): string[] {
  return typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
}

/**
 * The resource-server description oidc-provider needs for one resource URL, restricted to the
 * scopes the client may obtain. Returns undefined for unknown resources.
 */
export function resourceServerInfo(
  state: DevIdpState,
  url: string,
  clientId: string,
): ResourceServer | undefined {
  const resource = state.resourceByUrl(url);
  if (!resource) return undefined;
  const clientScopes = state.client(clientId)?.scope;
  const allowed = clientScopes
    ? resource.scopes.filter((s) => splitScope(clientScopes).includes(s))
    : resource.scopes;
  return {
    scope: allowed.join(' '),
    audience: resource.url,
    accessTokenTTL: resource.ttl_seconds,
    accessTokenFormat: resource.format,
    ...(resource.format === 'jwt'
      ? { jwt: { sign: { alg: resource.alg, kid: state.keys.signingKid(resource.alg) } } }
      : {}),
  };
}

function audiences(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/** The acr/amr/auth_time recorded by the code or refresh token a new access token comes from. */
function authenticationOf(ctx: KoaContextWithOIDC): UnknownObject {
  const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
  if (!source) return {};
  const out: UnknownObject = {};
  if (source.acr !== undefined) out.acr = source.acr;
  if (source.amr !== undefined) out.amr = source.amr;
  if (source.authTime !== undefined) out.auth_time = source.authTime;
  return out;
}

/** Builds the provider configuration for a state. */
export function buildConfiguration(
  oidc: typeof OidcProviderModule,
  state: DevIdpState,
): Configuration {
  const { errors, interactionPolicy } = oidc;

  const policy = interactionPolicy.base();
  const login = policy.get('login');
  // Voluntary acr_values does not force a new login on its own: step up when the session's acr is
  // not among the requested values.
  login?.checks.add(
    new interactionPolicy.Check(
      'acr_values_unmet',
      'the session does not satisfy the requested authentication context',
      (ctx) => {
        const wanted = splitScope(ctx.oidc.params?.acr_values);
        if (wanted.length === 0 || !ctx.oidc.session?.accountId) return false;
        if (ctx.oidc.result?.login) return false;
        return !wanted.includes(String(ctx.oidc.acr));
      },
    ),
  );

  const findAccount = async (
    _ctx: KoaContextWithOIDC,
    sub: string,
  ): Promise<Account | undefined> => {
    const user = state.activeUser(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      claims: () => ({ sub, name: user.name, email: user.email, groups: user.groups }),
    };
  };

  return {
    adapter: state.store.adapterFactory(),
    clients: clientMetadata(state),
    jwks: state.keys.privateJwks() as Configuration['jwks'],
    cookies: { keys: state.cookieKeys },
    findAccount,
    acrValues: ACR_VALUES,
    scopes: [
      ...new Set([
        'openid',
        'offline_access',
        'profile',
        'email',
        'groups',
        ...Object.values(state.fixtures.resources).flatMap((r) => r.scopes),
      ]),
    ],
    responseTypes: ['code'],
    claims: {
      openid: ['sub'],
      profile: ['name'],
      email: ['email'],
      groups: ['groups'],
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
      iss: null,
    },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    enabledJWA: { clientAuthSigningAlgValues: ['ES256', 'RS256', 'PS256', 'EdDSA'] },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    allowOmittingSingleRegisteredRedirectUri: false,
    clientBasedCORS: (_ctx, origin) => /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(origin),
    interactions: {
      policy,
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          if (client.clientAuthMethod === 'none') return false;
          const accountId = (token as { accountId?: unknown }).accountId;
          if (typeof accountId === 'string' && !state.activeUser(accountId)) return false;
          if (token.clientId === client.clientId) return true;
          const owned = state.ownedUrls(client.clientId);
          return audiences((token as { aud?: unknown }).aud).some((a) => owned.includes(a));
        },
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator, client) => {
          const info = resourceServerInfo(state, indicator, client.clientId);
          if (!info || info.scope === '') {
            throw new errors.InvalidTarget(`unknown resource or not allowed for this client`);
          }
          return info;
        },
      },
    },
    extraTokenClaims: async (ctx, token) => {
      const existing: UnknownObject = { ...(token.extra ?? {}) };
      if (token.kind !== 'AccessToken' || token.gty === TOKEN_EXCHANGE_GRANT) return existing;
      const accountId = token.accountId;
      const user = accountId ? state.activeUser(accountId) : undefined;
      if (!user) return existing;
      return {
        ...existing,
        ...(state.client(token.clientId ?? '')?.token_claims ?? {}),
        groups: user.groups,
        ...authenticationOf(ctx),
      };
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? TTL.defaultAccessToken,
      ClientCredentials: (_ctx, token) =>
        token.resourceServer?.accessTokenTTL ?? TTL.defaultAccessToken,
      AuthorizationCode: TTL.authorizationCode,
      RefreshToken: TTL.refreshToken,
      Session: TTL.session,
      Grant: TTL.grant,
      Interaction: TTL.interaction,
      IdToken: TTL.idToken,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      const rows = Object.entries(out)
        .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(String(v))}</dd>`)
        .join('');
      ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>Error</title></head><body><h1>Error</h1><dl>${rows}</dl></body></html>`;
    },
  };
}
