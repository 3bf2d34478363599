// RFC 8693 token exchange as an oidc-provider custom grant. A client that owns a resource trades
// an access token issued for that resource for a token for another resource it is allowed to call,
// on behalf of the same user: `sub` stays the user, `act` names the client (nesting earlier actors),
// scope only narrows, authentication context is kept, and the lifetime never exceeds the subject's.
import type { KoaContextWithOIDC, ResourceServerInstance, UnknownObject } from 'oidc-provider';
import type * as OidcProviderModule from 'oidc-provider';
import { createLocalJWKSet, errors as joseErrors, jwtVerify } from 'jose';

import { TOKEN_EXCHANGE_GRANT } from '../fixtures/types.js';
import { resourceServerInfo } from './config.js';
import type { DevIdpState } from './state.js';

/** RFC 8693 token type URIs. */
export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
} as const;

/** Default maximum depth of the `act` chain of an exchanged token. */
export const DEFAULT_MAX_ACT_DEPTH = 3;

const PARAMS = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
];

/** The facts taken from a validated subject token. */
interface SubjectToken {
  sub: string;
  aud: string[];
  scope: string[];
  exp: number;
  extra: UnknownObject;
  /** `client_id` of a JWT subject token (a machine's own token has `client_id` = `sub`). */
  clientId?: string;
}

function words(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter(Boolean) : [];
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Depth of a nested `act` claim (0 when absent). */
export function actDepth(act: unknown): number {
  let depth = 0;
  let node = act;
  while (isObject(node)) {
    depth += 1;
    node = node.act;
  }
  return depth;
}

/** Registers the token-exchange grant on a provider. */
export function registerTokenExchange(
  provider: OidcProviderModule.Provider,
  oidc: typeof OidcProviderModule,
  state: DevIdpState,
): void {
  const { errors } = oidc;
  const described = <E extends { error_description?: string | undefined }>(
    err: E,
    d: string,
  ): E => {
    err.error_description = d;
    return err;
  };
  const invalidGrant = (d: string) => described(new errors.InvalidGrant(), d);
  const invalidRequest = (d: string) => new errors.InvalidRequest(d);
  const invalidTarget = (d: string) => new errors.InvalidTarget(d);

  async function readSubject(ctx: KoaContextWithOIDC, value: string): Promise<SubjectToken> {
    if (value.split('.').length === 3) {
      try {
        const { payload } = await jwtVerify(value, createLocalJWKSet(state.keys.publicJwks()), {
          issuer: state.issuer,
          typ: 'at+jwt',
          algorithms: ['ES256', 'RS256'],
        });
        const {
          sub,
          aud,
          scope,
          exp,
          iss: _iss,
          iat: _iat,
          jti: _jti,
          client_id: _c,
          ...rest
        } = payload;
        if (typeof sub !== 'string' || typeof exp !== 'number') {
          throw invalidGrant('subject token lacks sub or exp');
        }
        return {
          sub,
          aud: strings(aud),
          scope: words(scope),
          exp,
          extra: rest,
          ...(typeof _c === 'string' ? { clientId: _c } : {}),
        };
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw invalidGrant('subject token expired');
        if (err instanceof errors.InvalidGrant) throw err;
        throw invalidGrant('subject token invalid');
      }
    }
    const token = await ctx.oidc.provider.AccessToken.find(value);
    if (!token) throw invalidGrant('subject token invalid or expired');
    if (!token.isValid || token.isExpired) throw invalidGrant('subject token expired');
    if (!token.accountId) throw invalidGrant('subject token does not name a user');
    return {
      sub: token.accountId,
      aud: strings(token.aud),
      scope: words(token.scope),
      exp: token.exp ?? 0,
      extra: { ...(token.extra ?? {}) },
    };
  }

  async function handler(ctx: KoaContextWithOIDC): Promise<void> {
    const params = (ctx.oidc.params ?? {}) as Record<string, unknown>;
    const client = ctx.oidc.client;
    if (!client) throw invalidRequest('client authentication required');
    const clientId = client.clientId;
    const fixture = state.client(clientId);
    const rules = fixture?.grant_types.includes(TOKEN_EXCHANGE_GRANT)
      ? fixture.exchange
      : undefined;
    if (!rules) {
      throw new errors.UnauthorizedClient('this client may not exchange tokens');
    }

    const subjectToken = params.subject_token;
    if (typeof subjectToken !== 'string' || subjectToken === '') {
      throw invalidRequest('missing subject_token');
    }
    const subjectType = params.subject_token_type;
    if (subjectType !== TOKEN_TYPE.accessToken && subjectType !== TOKEN_TYPE.jwt) {
      throw invalidRequest('subject_token_type must be an access token type');
    }
    if (params.actor_token !== undefined) {
      throw invalidRequest('actor_token is not supported: the authenticated client is the actor');
    }
    const requestedType = params.requested_token_type;
    if (requestedType !== undefined && requestedType !== TOKEN_TYPE.accessToken) {
      throw invalidRequest('only access tokens can be requested');
    }

    const targets = [...new Set([...strings(params.audience), ...strings(params.resource)])];
    if (targets.length === 0) throw invalidRequest('audience or resource is required');
    if (targets.length > 1) throw invalidTarget('exactly one target audience is supported');
    const targetUrl = targets[0] as string;
    const target = state.resourceByUrl(targetUrl);
    if (!target || !rules.audiences.includes(target.name)) {
      throw invalidTarget('this client may not obtain tokens for the requested audience');
    }

    const subject = await readSubject(ctx, subjectToken);
    const owned = state.ownedUrls(clientId);
    if (!subject.aud.some((a) => owned.includes(a))) {
      throw invalidGrant("subject token was not issued for this client's resource");
    }
    const user = state.activeUser(subject.sub);
    // A machine's own client-credentials token (sub = client_id = a registered client) may be
    // exchanged too, so a gateway can give a machine caller a token for the upstream.
    const machine =
      user === undefined &&
      subject.clientId === subject.sub &&
      state.client(subject.sub) !== undefined;
    if (!user && !machine) {
      throw invalidGrant('the subject is neither an active user nor a machine client of this IdP');
    }
    const now = Math.floor(Date.now() / 1000);
    const remaining = subject.exp - now;
    if (remaining <= 0) throw invalidGrant('subject token expired');

    const mayAct = subject.extra.may_act;
    if (mayAct !== undefined && (!isObject(mayAct) || mayAct.sub !== clientId)) {
      throw invalidGrant('the subject token does not allow this client to act for the user');
    }

    const info = resourceServerInfo(state, target.url, clientId);
    if (!info) throw invalidTarget('unknown audience');
    const allowed = words(info.scope);
    const requested = params.scope === undefined ? subject.scope : words(params.scope);
    const scope = requested.filter((s) => subject.scope.includes(s) && allowed.includes(s));
    if (scope.length === 0) {
      throw described(
        new errors.InvalidScope('no requested scope is both held and allowed', requested.join(' ')),
        'no requested scope is both held by the subject token and allowed at the audience',
      );
    }

    const priorAct = subject.extra.act;
    const act = rules.impersonate
      ? priorAct
      : { sub: clientId, ...(isObject(priorAct) ? { act: priorAct } : {}) };
    if (actDepth(act) > (rules.max_depth ?? DEFAULT_MAX_ACT_DEPTH)) {
      throw invalidGrant('delegation chain too deep');
    }

    const extra: UnknownObject = user ? { groups: user.groups } : {};
    for (const claim of ['acr', 'amr', 'auth_time']) {
      if (subject.extra[claim] !== undefined) extra[claim] = subject.extra[claim];
    }
    if (act !== undefined) extra.act = act;

    const resourceServer: ResourceServerInstance = {
      ...info,
      scopes: new Set(allowed),
      identifier: () => target.url,
    };
    const expiresIn = Math.min(target.ttl_seconds, remaining);
    const init = {
      accountId: subject.sub,
      client,
      scope: scope.join(' '),
      gty: TOKEN_EXCHANGE_GRANT,
      expiresIn,
      extra,
      resourceServer,
    };
    const token = new ctx.oidc.provider.AccessToken(
      init as unknown as ConstructorParameters<typeof ctx.oidc.provider.AccessToken>[0],
    );
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: TOKEN_TYPE.accessToken,
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope: scope.join(' '),
    };
  }

  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, handler, PARAMS, ['audience', 'resource']);
}
