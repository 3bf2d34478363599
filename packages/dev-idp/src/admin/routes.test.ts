// Specifies the lifecycle controls: disabling a user (refresh, introspection, exchange and login
// then fail) and rotating signing keys (pre-published, activated, immediate), over the loopback
// admin endpoints and the programmatic handle.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import * as oauth from 'oauth4webapi';
import { decodeProtectedHeader } from 'jose';

import { DEFAULT_RESOURCES, DEV_CLIENTS } from '../fixtures/defaults.js';
import { startDevIdp, type DevIdp } from '../server.js';
import {
  ciBotToken,
  discover,
  exchange,
  insecure,
  introspect,
  oauthError,
  userTokens,
  validateAccessToken,
} from '../test-support/oauth.js';

async function jwksKids(idp: DevIdp): Promise<string[]> {
  const body = (await (await fetch(idp.endpoints.jwks)).json()) as { keys: { kid: string }[] };
  return body.keys.map((k) => k.kid);
}

const post = (idp: DevIdp, path: string) => fetch(`${idp.issuer}${path}`, { method: 'POST' });

describe('admin: disabling a user', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ port: 0 });
  });
  after(() => idp.close());

  it('makes refresh, introspection and exchange fail, and enabling restores them', async () => {
    const crm = await userTokens(idp, {
      user: 'bob',
      password: 'bob',
      resource: DEFAULT_RESOURCES['gateway-crm'],
    });
    const notes = await userTokens(idp, {
      user: 'bob',
      password: 'bob',
      scope: 'notes.read',
      resource: DEFAULT_RESOURCES['gateway-notes'],
    });
    assert.equal((await introspect(idp, notes.access_token)).active, true);

    const res = await post(idp, '/admin/users/bob/disable');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { user: 'bob', disabled: true });

    const as = await discover(idp);
    const client = { client_id: DEV_CLIENTS.demoAgent.clientId };
    const refresh = (rt: string) =>
      oauth
        .refreshTokenGrantRequest(as, client, oauth.None(), rt, insecure)
        .then((r) => oauth.processRefreshTokenResponse(as, client, r));
    assert.ok(crm.refresh_token);
    assert.equal(await oauthError(refresh(crm.refresh_token)), 'invalid_grant');
    assert.equal((await introspect(idp, notes.access_token)).active, false);
    assert.equal(
      await oauthError(
        exchange(idp, DEV_CLIENTS.mcpGateway.clientId, DEV_CLIENTS.mcpGateway.clientSecret, {
          subject_token: crm.access_token,
          audience: DEFAULT_RESOURCES.crm,
        }),
      ),
      'invalid_grant',
    );
    await assert.rejects(userTokens(idp, { user: 'bob', password: 'bob' }));

    assert.equal((await post(idp, '/admin/users/bob/enable')).status, 200);
    assert.equal((await introspect(idp, notes.access_token)).active, true);
  });

  it('has a programmatic equivalent on the handle', async () => {
    const notes = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      scope: 'notes.read',
      resource: DEFAULT_RESOURCES['gateway-notes'],
    });
    idp.disableUser('alice');
    try {
      assert.equal((await introspect(idp, notes.access_token)).active, false);
    } finally {
      idp.enableUser('alice');
    }
    assert.equal((await introspect(idp, notes.access_token)).active, true);
  });

  it('refuses admin requests with a foreign Host or Origin (DNS rebinding, cross-site forms)', async () => {
    const { request } = await import('node:http');
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(
          `${idp.issuer}/admin/users/bob/disable`,
          { method: 'POST', headers },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status({ host: 'evil.example:80' }), 403);
    assert.equal(await status({ origin: 'http://evil.example' }), 403);
    assert.equal(idp.fixtures.users.bob?.disabled ?? false, false);
  });

  it('answers 404 for an unknown user and 400 for an unknown rotation mode', async () => {
    assert.equal((await post(idp, '/admin/users/mallory/disable')).status, 404);
    assert.equal((await post(idp, '/admin/keys/rotate?mode=sideways')).status, 400);
  });
});

describe('admin: key rotation', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ port: 0 });
  });
  after(() => idp.close());

  const crmToken = async () =>
    (await ciBotToken(idp, { resource: DEFAULT_RESOURCES.crm, scope: 'crm.read' })).access_token;

  it('pre-publishes the new key in the JWKS before it signs, then activates it', async () => {
    const before = await crmToken();
    const oldKid = decodeProtectedHeader(before).kid;
    assert.equal(oldKid, idp.keyState().signing.ES256);

    const res = await post(idp, '/admin/keys/rotate?mode=prepublish');
    assert.equal(res.status, 200);
    const state = (await res.json()) as { pending: string[] };
    assert.equal(state.pending.length, 2);
    const kids = await jwksKids(idp);
    for (const kid of state.pending) assert.ok(kids.includes(kid));
    assert.equal(decodeProtectedHeader(await crmToken()).kid, oldKid);

    await post(idp, '/admin/keys/rotate?mode=activate');
    const after = await crmToken();
    const newKid = decodeProtectedHeader(after).kid;
    assert.ok(newKid && state.pending.includes(newKid));
    assert.ok((await jwksKids(idp)).includes(String(oldKid)));
    // Tokens signed before and after the rotation both verify against the published keys.
    await validateAccessToken(idp, before, DEFAULT_RESOURCES.crm);
    await validateAccessToken(idp, after, DEFAULT_RESOURCES.crm);
  });

  it('rotates immediately: only the new keys remain published', async () => {
    const before = await crmToken();
    const state = await idp.rotateKeys('immediate');
    const kids = await jwksKids(idp);
    assert.deepEqual(kids.sort(), [state.signing.ES256, state.signing.RS256].sort());
    assert.ok(!kids.includes(String(decodeProtectedHeader(before).kid)));
    assert.equal(decodeProtectedHeader(await crmToken()).kid, state.signing.ES256);
  });

  it('keeps sessions and tokens issued before a rotation', async () => {
    const notes = await userTokens(idp, {
      user: 'alice',
      password: 'alice',
      scope: 'notes.read',
      resource: DEFAULT_RESOURCES['gateway-notes'],
    });
    await idp.rotateKeys('immediate');
    assert.equal((await introspect(idp, notes.access_token)).active, true);
  });
});
