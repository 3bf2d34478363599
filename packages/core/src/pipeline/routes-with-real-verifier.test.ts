// Row 41 through the whole pipeline with the production verifier (and its validated-token cache)
// against a loopback IdP: one token, two routes, each route's audience and policy applied after
// the cache hit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAccessTokenVerifier,
  type IamAccessTokenVerifier,
} from '../token/access-token-verifier.js';
import {
  LoopbackIdpFixture,
  accessTokenClaims,
  createSigner,
  mintToken,
  type FixtureSigner,
} from '../token/loopback-idp.fixture.js';
import { createResourceServer, type DenyResult } from './resource-server.js';

const CRM = 'https://gw.example/crm/mcp';
const NOTES = 'https://gw.example/notes/mcp';
let idp: LoopbackIdpFixture;
let signer: FixtureSigner;
let verifier: IamAccessTokenVerifier;

before(async () => {
  idp = await LoopbackIdpFixture.start();
  signer = await createSigner('ES256');
  const realm = idp.realm('main');
  realm.jwks = { keys: [signer.jwk] };
  verifier = createAccessTokenVerifier({
    issuers: [
      {
        issuer: realm.issuer,
        jwksUri: realm.jwksUri,
        allowInsecureLoopbackHttp: true,
        algorithms: ['ES256'],
      },
    ],
  });
  await verifier.start();
});

after(async () => {
  verifier.close();
  await idp.close();
});

const call = (tool: string) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool } });

test('row 41: the same token on two routes gets each route’s own audience and policy checks after a cache hit', async () => {
  const route = (resource: string, scopes: string[]) =>
    createResourceServer({
      resource,
      authorizationServers: [idp.realm('main').issuer],
      verifier,
      policy: { default: 'deny', tools: { search: { scopes } } },
    });
  const crm = route(CRM, ['crm.read']);
  const crmAdmin = route(CRM, ['crm.admin']);
  const notes = route(NOTES, ['crm.read']);
  const token = mintToken(
    signer,
    accessTokenClaims(idp.realm('main').issuer, CRM, { scope: 'crm.read' }),
  );
  const request = {
    method: 'POST',
    url: '/mcp',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: call('search'),
  };

  assert.equal((await crm.authorize(request)).kind, 'allow');
  assert.equal((await crm.authorize(request)).kind, 'allow');
  assert.ok(verifier.state().cache.hits >= 1, 'the second verification was a cache hit');

  const wrongAudience = (await notes.authorize(request)) as DenyResult;
  assert.equal(wrongAudience.status, 401);
  assert.equal(wrongAudience.reason, 'token_bad_audience');

  const stricter = (await crmAdmin.authorize(request)) as DenyResult;
  assert.equal(stricter.status, 403);
  assert.equal(stricter.reason, 'insufficient_scope');
  assert.match(stricter.headers['www-authenticate']!, /scope="crm.admin"/);
});
