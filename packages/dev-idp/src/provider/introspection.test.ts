// Specifies RFC 7662 introspection and RFC 7009 revocation of opaque tokens (the notes route), and
// who may introspect.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as oauth from 'oauth4webapi';

import { DEFAULT_RESOURCES, DEV_CLIENTS } from '../fixtures/defaults.js';
import { startDevIdp, type DevIdp } from '../server.js';
import {
  discover,
  insecure,
  introspect,
  nightlySyncToken,
  userTokens,
} from '../test-support/oauth.js';

describe('introspection and revocation', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ port: 0 });
  });
  after(() => idp.close());

  const notesToken = async () =>
    (
      await userTokens(idp, {
        user: 'alice',
        password: 'alice',
        scope: 'notes.read',
        resource: DEFAULT_RESOURCES['gateway-notes'],
      })
    ).access_token;

  it('reports an opaque user token as active to the gateway, with sub, aud, scope, acr and groups', async () => {
    const token = await notesToken();
    assert.equal(token.split('.').length, 1);
    const info = await introspect(idp, token);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice');
    assert.equal(info.client_id, 'demo-agent');
    assert.equal(info.aud, DEFAULT_RESOURCES['gateway-notes']);
    assert.equal(info.scope, 'notes.read');
    assert.equal(info.iss, idp.issuer);
    assert.equal(info.acr, 'pwd');
    assert.deepEqual(info.groups, ['employees', 'sales']);
  });

  it('reports a machine token as active with sub = client id', async () => {
    const { access_token } = await nightlySyncToken(idp, {
      resource: DEFAULT_RESOURCES['gateway-notes'],
      scope: 'notes.read',
    });
    const info = await introspect(idp, access_token);
    assert.equal(info.active, true);
    assert.equal(info.client_id, 'nightly-sync');
  });

  it('answers active:false to a client that neither holds nor owns the token', async () => {
    const token = await notesToken();
    const info = await introspect(
      idp,
      token,
      DEV_CLIENTS.ciBot.clientId,
      DEV_CLIENTS.ciBot.clientSecret,
    );
    assert.equal(info.active, false);
  });

  it('answers active:false for an unknown token', async () => {
    assert.equal((await introspect(idp, 'not-a-token')).active, false);
  });

  it('revokes a token at the holder request; introspection then says inactive', async () => {
    const { access_token } = await nightlySyncToken(idp, {
      resource: DEFAULT_RESOURCES['gateway-notes'],
      scope: 'notes.read',
    });
    const as = await discover(idp);
    const client = { client_id: DEV_CLIENTS.nightlySync.clientId };
    const { importJWK } = await import('jose');
    const { NIGHTLY_SYNC_PRIVATE_JWK } = await import('../fixtures/defaults.js');
    const key = await importJWK({ ...NIGHTLY_SYNC_PRIVATE_JWK }, 'ES256');
    if (key instanceof Uint8Array) throw new Error('expected an asymmetric key');
    const response = await oauth.revocationRequest(
      as,
      client,
      oauth.PrivateKeyJwt({ key, kid: NIGHTLY_SYNC_PRIVATE_JWK.kid }),
      access_token,
      insecure,
    );
    await oauth.processRevocationResponse(response);
    assert.equal((await introspect(idp, access_token)).active, false);
  });
});
