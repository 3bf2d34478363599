// Specifies the one-call token helpers the demo and other packages' tests use, checked with an
// independent client library's validation.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { decodeJwt } from 'jose';

import { DEFAULT_RESOURCES, DEV_CLIENTS, NIGHTLY_SYNC_PRIVATE_JWK } from '../fixtures/defaults.js';
import { totpNow } from '../fixtures/totp.js';
import { startDevIdp, type DevIdp } from '../server.js';
import { introspect, validateAccessToken } from '../test-support/oauth.js';
import {
  clientCredentialsToken,
  exchangeToken,
  TokenRequestError,
  userAccessToken,
} from './tokens.js';

describe('token helpers', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ port: 0 });
  });
  after(() => idp.close());

  it('gets alice an MFA user token for a gateway route and exchanges it for the CRM', async () => {
    const user = await userAccessToken({
      issuer: idp.issuer,
      user: 'alice',
      password: 'alice',
      otp: totpNow('alice'),
      acrValues: 'mfa',
      scope: 'crm.read crm.write',
      resource: DEFAULT_RESOURCES['gateway-crm'],
    });
    const claims = await validateAccessToken(
      idp,
      user.access_token,
      DEFAULT_RESOURCES['gateway-crm'],
    );
    assert.equal(claims.acr, 'mfa');
    assert.ok(user.refresh_token);
    const exchanged = await exchangeToken({
      issuer: idp.issuer,
      clientId: DEV_CLIENTS.mcpGateway.clientId,
      clientSecret: DEV_CLIENTS.mcpGateway.clientSecret,
      subjectToken: user.access_token,
      audience: DEFAULT_RESOURCES.crm,
      scope: 'crm.write',
    });
    assert.equal(exchanged.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    assert.deepEqual(decodeJwt(exchanged.access_token).act, { sub: 'mcp-gateway' });
  });

  it('surfaces the OAuth error code of a refused exchange', async () => {
    const user = await userAccessToken({
      issuer: idp.issuer,
      user: 'bob',
      password: 'bob',
      scope: 'crm.read',
      resource: DEFAULT_RESOURCES['gateway-crm'],
    });
    await assert.rejects(
      exchangeToken({
        issuer: idp.issuer,
        clientId: DEV_CLIENTS.insightsServer.clientId,
        clientSecret: DEV_CLIENTS.insightsServer.clientSecret,
        subjectToken: user.access_token,
        audience: DEFAULT_RESOURCES.crm,
      }),
      (err: unknown) => err instanceof TokenRequestError && err.error === 'invalid_grant',
    );
  });

  it('gets ci-bot a token with its secret and nightly-sync one with its private key', async () => {
    const ci = await clientCredentialsToken({
      issuer: idp.issuer,
      clientId: DEV_CLIENTS.ciBot.clientId,
      clientSecret: DEV_CLIENTS.ciBot.clientSecret,
      scope: 'crm.read',
      resource: DEFAULT_RESOURCES.crm,
    });
    assert.equal(
      (await validateAccessToken(idp, ci.access_token, DEFAULT_RESOURCES.crm)).sub,
      'ci-bot',
    );
    const nightly = await clientCredentialsToken({
      issuer: idp.issuer,
      clientId: DEV_CLIENTS.nightlySync.clientId,
      privateJwk: NIGHTLY_SYNC_PRIVATE_JWK,
      scope: 'notes.read notes.write',
      resource: DEFAULT_RESOURCES['gateway-notes'],
    });
    const info = await introspect(idp, nightly.access_token);
    assert.equal(info.active, true);
    assert.equal(info.scope, 'notes.read notes.write');
  });
});
