// Specifies MFA and step-up at the login step: acr values `pwd` and `mfa`, the one-time code, a
// password-only session sent back to authenticate when MFA is requested, and max_age.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';

import { decodeJwt } from 'jose';

import { DEFAULT_RESOURCES, DEV_CLIENTS } from '../fixtures/defaults.js';
import { totpNow } from '../fixtures/totp.js';
import { CookieJar, HeadlessLoginError, pkceChallenge } from '../headless/login.js';
import { startDevIdp, type DevIdp } from '../server.js';
import { REDIRECT_URI, userTokens } from '../test-support/oauth.js';

describe('MFA and step-up', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ port: 0 });
  });
  after(() => idp.close());

  const loginError = async (promise: Promise<unknown>): Promise<string> => {
    try {
      await promise;
    } catch (err) {
      if (err instanceof HeadlessLoginError) return err.code;
      throw err;
    }
    throw new Error('expected the login to fail');
  };

  it('asks for the one-time code on the login page when acr_values requests mfa', async () => {
    const url = new URL(idp.endpoints.authorization);
    url.search = new URLSearchParams({
      client_id: DEV_CLIENTS.demoAgent.clientId,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      scope: 'openid crm.read',
      acr_values: 'mfa',
      code_challenge: pkceChallenge('v'.repeat(43)),
      code_challenge_method: 'S256',
    }).toString();
    const jar = new CookieJar();
    const first = await fetch(url, { redirect: 'manual' });
    jar.store(first);
    const page = await fetch(new URL(first.headers.get('location') ?? '', idp.issuer), {
      headers: { cookie: jar.header() },
    });
    const html = await page.text();
    assert.match(html, /data-otp-required="true"/);
    assert.match(html, /name="otp"/);
  });

  it('refuses an mfa login without the code, or with a wrong code', async () => {
    const base = { user: 'alice', password: 'alice', acrValues: 'mfa' };
    assert.equal(await loginError(userTokens(idp, base)), 'login_failed');
    assert.equal(
      await loginError(
        userTokens(idp, { ...base, otp: '000000' === totpNow('alice') ? '111111' : '000000' }),
      ),
      'login_failed',
    );
  });

  it('ends with unmet_authentication_requirements for a user without a second factor', async () => {
    assert.equal(
      await loginError(userTokens(idp, { user: 'bob', password: 'bob', acrValues: 'mfa' })),
      'unmet_authentication_requirements',
    );
  });

  it('sends a password-only session asking for mfa back to authenticate, then issues acr mfa', async () => {
    const cookies = new CookieJar();
    const first = await userTokens(idp, { user: 'alice', password: 'alice', cookies });
    assert.equal(decodeJwt(first.access_token).acr, 'pwd');

    // Same session, no new login needed for a plain request.
    const reuse = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      cookies,
      scope: 'crm.write',
    });
    assert.equal(decodeJwt(reuse.access_token).acr, 'pwd');

    // Asking for mfa: the session is not enough, the login step comes back.
    assert.equal(
      await loginError(
        userTokens(idp, { user: 'alice', password: 'alice', cookies, acrValues: 'mfa' }),
      ),
      'login_failed',
    );
    const stepped = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      cookies,
      acrValues: 'mfa',
      otp: totpNow('alice'),
      resource: DEFAULT_RESOURCES['gateway-crm'],
    });
    const claims = decodeJwt(stepped.access_token);
    assert.equal(claims.acr, 'mfa');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  });

  it('lets a session satisfy acr_values when its acr is among them', async () => {
    const cookies = new CookieJar();
    await userTokens(idp, { user: 'alice', password: 'alice', cookies });
    // No otp given: succeeding proves no login step was required.
    const again = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      cookies,
      acrValues: 'mfa pwd',
    });
    assert.equal(decodeJwt(again.access_token).acr, 'pwd');
  });

  it('re-authenticates with the one-time code when max_age is exceeded', async () => {
    const cookies = new CookieJar();
    await userTokens(idp, { user: 'alice', password: 'alice', cookies });
    await sleep(1100);
    assert.equal(
      await loginError(userTokens(idp, { user: 'alice', password: 'alice', cookies, maxAge: 0 })),
      'login_failed',
    );
    const fresh = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      cookies,
      maxAge: 0,
      otp: totpNow('alice'),
    });
    const claims = decodeJwt(fresh.access_token);
    assert.equal(claims.acr, 'mfa');
    assert.ok(Math.floor(Date.now() / 1000) - Number(claims.auth_time) <= 1);
  });

  it('re-authenticates a user without a second factor with the password alone', async () => {
    const cookies = new CookieJar();
    await userTokens(idp, { user: 'bob', password: 'bob', cookies });
    await sleep(1100);
    const fresh = await userTokens(idp, { user: 'bob', password: 'bob', cookies, maxAge: 0 });
    assert.equal(decodeJwt(fresh.access_token).acr, 'pwd');
  });
});
