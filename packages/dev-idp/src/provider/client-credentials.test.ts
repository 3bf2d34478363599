// Specifies machine tokens: client_credentials with client_secret_basic (ci-bot) and
// private_key_jwt (nightly-sync), scoped to the resource and to the client's allowed scopes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { DEFAULT_RESOURCES } from '../fixtures/defaults.js';
import { startDevIdp, type DevIdp } from '../server.js';
import {
  ciBotToken,
  nightlySyncToken,
  oauthError,
  validateAccessToken,
} from '../test-support/oauth.js';

describe('client_credentials', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ port: 0 });
  });
  after(() => idp.close());

  it('issues ci-bot a JWT for the CRM with client_secret_basic, sub = client id', async () => {
    const tokens = await ciBotToken(idp, { resource: DEFAULT_RESOURCES.crm, scope: 'crm.read' });
    const claims = await validateAccessToken(idp, tokens.access_token, DEFAULT_RESOURCES.crm);
    assert.equal(claims.sub, 'ci-bot');
    assert.equal(claims.client_id, 'ci-bot');
    assert.equal(claims.scope, 'crm.read');
    assert.equal(claims.acr, undefined);
  });

  it("refuses a scope outside the client's allowed scopes (invalid_scope)", async () => {
    assert.equal(
      await oauthError(
        ciBotToken(idp, { resource: DEFAULT_RESOURCES.crm, scope: 'crm.read crm.write' }),
      ),
      'invalid_scope',
    );
  });

  it('refuses ci-bot with a wrong client secret (invalid_client)', async () => {
    assert.equal(
      await oauthError(
        ciBotToken(idp, { resource: DEFAULT_RESOURCES.crm, scope: 'crm.read' }, 'wrong'),
      ),
      'invalid_client',
    );
  });

  it('refuses a resource the client has no scope for (invalid_target)', async () => {
    assert.equal(
      await oauthError(
        nightlySyncToken(idp, { resource: DEFAULT_RESOURCES.crm, scope: 'crm.read' }),
      ),
      'invalid_target',
    );
  });

  it('refuses an unknown resource (invalid_target)', async () => {
    assert.equal(
      await oauthError(ciBotToken(idp, { resource: 'http://127.0.0.1:9/mcp', scope: 'crm.read' })),
      'invalid_target',
    );
  });

  it('issues nightly-sync an opaque notes token with private_key_jwt', async () => {
    const tokens = await nightlySyncToken(idp, {
      resource: DEFAULT_RESOURCES['gateway-notes'],
      scope: 'notes.read notes.write',
    });
    assert.equal(tokens.access_token.split('.').length, 1);
    assert.equal(tokens.scope, 'notes.read notes.write');
  });

  it('refuses a client assertion signed by another key', async () => {
    const { generateKeyPair, SignJWT } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256');
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'nightly-sync-1' })
      .setIssuer('nightly-sync')
      .setSubject('nightly-sync')
      .setAudience(idp.issuer)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const res = await fetch(idp.endpoints.token, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'nightly-sync',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        resource: DEFAULT_RESOURCES['gateway-notes'],
        scope: 'notes.read',
      }),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'invalid_client');
  });
});
