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
import { createResourceServer, type AllowResult, type DenyResult } from './resource-server.js';
import { InMemoryAuditSink } from '../audit/build.js';
import { tokenFingerprint } from '../audit/record.js';

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

test('the audit fingerprint kept with a cached verification equals a fresh keyed hash, and is computed again after the entry expires', async () => {
  let clock = Date.now();
  const issuer = idp.realm('main').issuer;
  const expiring = createAccessTokenVerifier({
    issuers: [
      {
        issuer,
        jwksUri: idp.realm('main').jwksUri,
        allowInsecureLoopbackHttp: true,
        algorithms: ['ES256'],
      },
    ],
    cache: { maxTtlSec: 60 },
    now: () => clock,
  });
  await expiring.start();
  try {
    const sink = new InMemoryAuditSink();
    const key = 'fingerprint-key-1';
    const rs = (fingerprintKey: string) =>
      createResourceServer({
        resource: CRM,
        authorizationServers: [issuer],
        verifier: expiring,
        policy: { default: 'deny', tools: { search: { scopes: ['crm.read'] } } },
        audit: { sink, fingerprintKey },
        now: () => clock,
      });
    const crm = rs(key);
    const token = mintToken(signer, accessTokenClaims(issuer, CRM, { scope: 'crm.read' }));
    const request = {
      method: 'POST',
      url: '/mcp',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: call('search'),
    };
    const allow = async (server = crm) => {
      const result = await server.authorize(request);
      assert.equal(result.kind, 'allow');
      await server.complete(result as AllowResult, { status: 200 });
      return result as AllowResult;
    };
    const expected = tokenFingerprint(token, key);
    const first = await allow();
    const second = await allow();
    assert.equal(second.principal, first.principal, 'the second request was a cache hit');
    clock += 61_000;
    const third = await allow();
    assert.notEqual(third.principal, first.principal, 'the expired entry was verified again');
    assert.deepEqual(
      sink.records.map((r) => r.tokenFingerprint),
      [expected, expected, expected],
    );
    // Another route with another key shares the verification but not the fingerprint.
    await allow(rs('fingerprint-key-2'));
    assert.equal(
      sink.records.at(-1)!.tokenFingerprint,
      tokenFingerprint(token, 'fingerprint-key-2'),
    );
    // A different token never gets the first token's fingerprint.
    const otherToken = mintToken(signer, accessTokenClaims(issuer, CRM, { scope: 'crm.read' }));
    const other = await crm.authorize({
      ...request,
      headers: { ...request.headers, authorization: `Bearer ${otherToken}` },
    });
    await crm.complete(other as AllowResult, { status: 200 });
    assert.equal(sink.records.at(-1)!.tokenFingerprint, tokenFingerprint(otherToken, key));
    assert.notEqual(sink.records.at(-1)!.tokenFingerprint, expected);
  } finally {
    expiring.close();
  }
});
