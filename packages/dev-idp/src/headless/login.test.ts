// Specifies the authorization code flow with PKCE, refresh rotation and the JWT access token shape,
// driven through the real interaction pages and redeemed with an independent client library.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as oauth from 'oauth4webapi';
import { decodeProtectedHeader } from 'jose';

import { DEFAULT_RESOURCES, DEV_CLIENTS } from '../fixtures/defaults.js';
import { totpNow } from '../fixtures/totp.js';
import { startDevIdp, type DevIdp } from '../server.js';
import {
  discover,
  insecure,
  oauthError,
  REDIRECT_URI,
  userTokens,
  validateAccessToken,
} from '../test-support/oauth.js';
import { CookieJar, headlessLogin, HeadlessLoginError, signInAt } from './login.js';

const client: oauth.Client = { client_id: DEV_CLIENTS.demoAgent.clientId };

describe('authorization code + PKCE (demo-agent)', () => {
  let idp: DevIdp;
  let as: oauth.AuthorizationServer;
  before(async () => {
    idp = await startDevIdp({
      port: 0,
      fixtures: {
        clients: {
          'third-party-agent': {
            token_endpoint_auth_method: 'none',
            grant_types: ['authorization_code'],
            redirect_uris: ['http://127.0.0.1/callback'],
          },
        },
      },
    });
    as = await discover(idp);
  });
  after(() => idp.close());

  async function login(extra: Partial<Parameters<typeof headlessLogin>[0]> = {}) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const result = await headlessLogin({
      issuer: idp.issuer,
      clientId: client.client_id,
      redirectUri: REDIRECT_URI,
      user: 'alice',
      password: 'alice',
      scope: 'crm.read',
      resource: DEFAULT_RESOURCES.crm,
      codeVerifier,
      ...extra,
    });
    return { result, codeVerifier };
  }

  it('signInAt completes an authorization URL built by another client and returns the redirect with code, state and iss', async () => {
    const url = new URL(idp.endpoints.authorization);
    url.searchParams.set('client_id', client.client_id);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('redirect_uri', 'http://127.0.0.1:49152/callback');
    url.searchParams.set('scope', 'openid crm.read');
    url.searchParams.set('acr_values', 'mfa');
    url.searchParams.set('state', 'from-elsewhere');
    url.searchParams.set('resource', DEFAULT_RESOURCES.crm);
    url.searchParams.set(
      'code_challenge',
      await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
    );
    url.searchParams.set('code_challenge_method', 'S256');
    const redirect = await signInAt(url, {
      user: 'alice',
      password: 'alice',
      otp: totpNow('alice'),
    });
    assert.equal(`${redirect.origin}${redirect.pathname}`, 'http://127.0.0.1:49152/callback');
    assert.ok(redirect.searchParams.get('code'));
    assert.equal(redirect.searchParams.get('state'), 'from-elsewhere');
    assert.equal(redirect.searchParams.get('iss'), idp.issuer);
    await assert.rejects(
      signInAt(url, { user: 'alice', password: 'wrong' }),
      (error: unknown) => error instanceof HeadlessLoginError && error.code === 'login_failed',
    );
  });

  it('returns a code with state and the RFC 9207 iss, accepted by an independent client', async () => {
    const { result } = await login({ state: 'xyz' });
    assert.equal(result.state, 'xyz');
    assert.equal(result.iss, idp.issuer);
    assert.deepEqual(result.steps, ['login']);
  });

  it('accepts the loopback redirect URI on any port (RFC 8252)', async () => {
    const tokens = await userTokens(idp, {
      user: 'bob',
      password: 'bob',
      redirectUri: 'http://127.0.0.1:61999/callback',
    });
    assert.equal(typeof tokens.access_token, 'string');
  });

  it('rejects a redirect URI that is not the registered loopback callback', async () => {
    await assert.rejects(
      login({ redirectUri: 'http://127.0.0.1:5000/elsewhere' }),
      HeadlessLoginError,
    );
  });

  it('rejects an authorization request without PKCE', async () => {
    const url = new URL(idp.endpoints.authorization);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'crm.read',
    }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    const location = new URL(res.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  });

  it('refuses the code with a wrong PKCE verifier', async () => {
    const { result } = await login();
    const params = oauth.validateAuthResponse(
      as,
      client,
      new URLSearchParams({ code: result.code, iss: idp.issuer }),
      oauth.skipStateCheck,
    );
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      REDIRECT_URI,
      oauth.generateRandomCodeVerifier(),
      insecure,
    );
    assert.equal(
      await oauthError(oauth.processAuthorizationCodeResponse(as, client, response)),
      'invalid_grant',
    );
  });

  it('refuses a code used twice', async () => {
    const { result, codeVerifier } = await login();
    const params = oauth.validateAuthResponse(
      as,
      client,
      new URLSearchParams({ code: result.code, iss: idp.issuer }),
      oauth.skipStateCheck,
    );
    const redeem = () =>
      oauth
        .authorizationCodeGrantRequest(
          as,
          client,
          oauth.None(),
          params,
          REDIRECT_URI,
          codeVerifier,
          insecure,
        )
        .then((r) => oauth.processAuthorizationCodeResponse(as, client, r));
    await redeem();
    assert.equal(await oauthError(redeem()), 'invalid_grant');
  });

  it('rejects a wrong password on the login page', async () => {
    await assert.rejects(login({ password: 'wrong' }), (err: unknown) => {
      assert.ok(err instanceof HeadlessLoginError);
      assert.equal(err.code, 'login_failed');
      return true;
    });
  });

  it('issues an RFC 9068 JWT (typ at+jwt) for the resource with the required claims', async () => {
    const tokens = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      scope: 'crm.read crm.write',
    });
    const header = decodeProtectedHeader(tokens.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(header.alg, 'ES256');
    const claims = await validateAccessToken(idp, tokens.access_token, DEFAULT_RESOURCES.crm);
    assert.equal(claims.iss, idp.issuer);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, DEFAULT_RESOURCES.crm);
    assert.equal(claims.client_id, 'demo-agent');
    assert.equal(claims.scope, 'crm.read crm.write');
    assert.equal(typeof claims.jti, 'string');
    assert.ok(claims.exp > claims.iat);
    assert.equal(claims.acr, 'pwd');
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(typeof claims.auth_time, 'number');
    assert.deepEqual(claims.groups, ['employees', 'sales']);
  });

  it('records acr mfa and amr with otp after a login with a one-time code', async () => {
    const tokens = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      otp: totpNow('alice'),
      acrValues: 'mfa',
    });
    const claims = await validateAccessToken(idp, tokens.access_token, DEFAULT_RESOURCES.crm);
    assert.equal(claims.acr, 'mfa');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  });

  it('issues only scopes the resource defines', async () => {
    const tokens = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      scope: 'crm.read insights.read',
    });
    assert.equal(tokens.scope, 'crm.read');
  });

  it('rotates refresh tokens: the new one works, the old one is refused', async () => {
    const tokens = await userTokens(idp, { user: 'alice', password: 'alice' });
    assert.ok(tokens.refresh_token);
    const refresh = (rt: string) =>
      oauth
        .refreshTokenGrantRequest(as, client, oauth.None(), rt, insecure)
        .then((r) => oauth.processRefreshTokenResponse(as, client, r));
    const next = await refresh(tokens.refresh_token);
    assert.ok(next.refresh_token);
    assert.notEqual(next.refresh_token, tokens.refresh_token);
    const claims = await validateAccessToken(idp, next.access_token, DEFAULT_RESOURCES.crm);
    assert.equal(claims.acr, 'pwd');
    assert.equal(await oauthError(refresh(tokens.refresh_token)), 'invalid_grant');
  });

  it('passes through the consent page for a client that is not first-party', async () => {
    const jar = new CookieJar();
    const { result } = await login({ clientId: 'third-party-agent', cookies: jar });
    assert.deepEqual(result.steps, ['login', 'consent']);
  });

  it('auto-approves consent for first-party fixture clients', async () => {
    const { result } = await login();
    assert.deepEqual(result.steps, ['login']);
  });

  it('escapes interpolated values in the login page', async () => {
    const url = new URL(idp.endpoints.authorization);
    url.search = new URLSearchParams({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'crm.read',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      login_hint: '"><script>alert(1)</script>',
    }).toString();
    const jar = new CookieJar();
    const first = await fetch(url, { redirect: 'manual' });
    jar.store(first);
    const page = await fetch(new URL(first.headers.get('location') ?? '', idp.issuer), {
      headers: { cookie: jar.header() },
    });
    const html = await page.text();
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('&lt;script&gt;'));
  });
});
