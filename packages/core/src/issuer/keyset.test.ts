// Specification of issuer key sets and discovery against a loopback IdP fixture: key filtering
// (rows 28–30), unknown-kid refetch budget (row 15), and infrastructure faults (rows 57–59).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { McpIamError, UnavailableError } from '../errors.js';
import { createAccessTokenVerifier } from '../token/access-token-verifier.js';
import {
  accessTokenClaims,
  createSigner,
  LoopbackIdpFixture,
  mintToken,
  type FixtureSigner,
} from '../token/loopback-idp.fixture.js';
import { selectUsableKeys } from './keyset.js';
import { resolveIssuer, type TrustedIssuer } from './options.js';
import { discoveryUrls } from './discovery.js';

const RESOURCE = 'https://mcp.example.com/crm/mcp';

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<McpIamError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof McpIamError, `expected McpIamError, got ${String(error)}`);
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`);
    return error;
  }
  assert.fail(`expected rejection with ${code}`);
}

let idp: LoopbackIdpFixture;
let es: FixtureSigner;
let es2: FixtureSigner;
let rs: FixtureSigner;

before(async () => {
  idp = await LoopbackIdpFixture.start();
  [es, es2, rs] = await Promise.all([
    createSigner('ES256'),
    createSigner('ES256'),
    createSigner('RS256'),
  ]);
});
after(() => idp.close());

/** A fresh realm (its own counters) with the given keys, and a verifier on it with a movable clock. */
function setup(keys: unknown[], extra: Partial<TrustedIssuer> = {}, cache = false) {
  const realm = idp.realm(`r-${randomUUID()}`);
  realm.jwks = { keys };
  let offsetMs = 0;
  const verifier = createAccessTokenVerifier({
    issuers: [
      {
        issuer: realm.issuer,
        allowInsecureLoopbackHttp: true,
        algorithms: ['ES256', 'RS256'],
        jwksUri: realm.jwksUri,
        ...extra,
      },
    ],
    now: () => Date.now() + offsetMs,
    ...(cache ? {} : { cache: false }),
  });
  const token = (signer: FixtureSigner, header: Record<string, unknown> = {}): string => {
    const now = Math.floor((Date.now() + offsetMs) / 1000);
    return mintToken(
      signer,
      accessTokenClaims(realm.issuer, RESOURCE, { iat: now, exp: now + 3600 }),
      header,
    );
  };
  return {
    realm,
    verifier,
    token,
    verify: (t: string) => verifier.verify(t, { resource: RESOURCE }),
    advance: (sec: number) => {
      offsetMs += sec * 1000;
    },
    fetches: () => idp.jwksFetches(realm.name),
  };
}

describe('key filtering', () => {
  test('ignores RSA under 2048 bits, use:enc, key_ops without verify and wrong curves (row 28)', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'jwk',
    });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
      format: 'jwk',
    });
    const keys = await selectUsableKeys(
      {
        keys: [
          { ...weak, kid: 'weak' },
          { ...es.jwk, kid: 'enc', use: 'enc' },
          { ...es.jwk, kid: 'ops', key_ops: ['encrypt'] },
          { ...es.jwk, kid: 'ops-string', key_ops: 'verify' },
          { ...p384, kid: 'p384-as-es256', alg: 'ES256' },
          { ...es.jwk, kid: 'good' },
          { ...es.jwk, kid: 'good-ops', key_ops: ['verify'] },
        ],
      },
      ['ES256', 'RS256'],
    );
    assert.deepEqual(keys.map((k) => k.kid).sort(), ['good', 'good-ops']);
  });

  test('a token signed by an ignored weak RSA key is rejected end to end (row 28)', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256' };
    const weak = {
      alg: 'RS256',
      kid: 'weak',
      privateKey: pair.privateKey,
      publicKey: pair.publicKey,
      jwk,
    } as FixtureSigner;
    const s = setup([jwk, rs.jwk]);
    await rejectsWith(s.verify(s.token(weak)), 'token_unknown_key');
    await s.verify(s.token(rs));
  });

  test('verifies with the real key beside unusable decoys without throwing (row 29)', async () => {
    const decoys = [
      null,
      'string',
      [1],
      { kty: 'oct', k: 'c2VjcmV0', kid: es.kid },
      { kty: 'XYZ', kid: 'x' },
      { kty: 'EC', crv: 'P-999', x: 'AA', y: 'AA', kid: 'p999' },
      { kty: 'OKP', crv: 'X25519', x: 'AA', kid: 'x25519' },
      { kty: 'RSA', alg: 'RSA-OAEP', n: 'AQAB', e: 'AQAB', kid: 'oaep' },
      { kty: 'EC', crv: 'P-256', x: 'bad', y: 'bad', kid: 'offcurve' },
      { ...es2.jwk, alg: 'HS256' },
      { ...es2.jwk, kid: 7 },
    ];
    const s = setup([...decoys, es.jwk]);
    const p = await s.verify(s.token(es));
    assert.equal(p.subject, 'alice');
    assert.equal(s.verifier.state().issuers[0]?.keySet?.keyCount, 1);
  });

  test('two keys sharing a kid, or no kid against several keys, are rejected deterministically (row 30)', async () => {
    const shared = 'shared';
    const a = { ...es, kid: shared, jwk: { ...es.jwk, kid: shared } } as FixtureSigner;
    const b = { ...es2, kid: shared, jwk: { ...es2.jwk, kid: shared } } as FixtureSigner;
    for (const order of [
      [a.jwk, b.jwk],
      [b.jwk, a.jwk],
    ]) {
      const s = setup(order);
      await rejectsWith(s.verify(s.token(a)), 'token_unknown_key');
      await rejectsWith(s.verify(s.token(b)), 'token_unknown_key');
      await rejectsWith(s.verify(s.token(a, { kid: undefined })), 'token_unknown_key');
    }
    // RSA and EC keys sharing a kid are told apart by alg: each verifies its own tokens only.
    const mixed = setup([
      { ...es.jwk, kid: 'k' },
      { ...rs.jwk, kid: 'k' },
    ]);
    await mixed.verify(mixed.token({ ...es, kid: 'k' } as FixtureSigner));
    await mixed.verify(mixed.token({ ...rs, kid: 'k' } as FixtureSigner));
  });
});

describe('unknown kid', () => {
  test('2000 random kids cause at most one refetch per cooldown (row 15)', async () => {
    const s = setup([es.jwk], { unknownKidCooldownSec: 30 });
    await s.verify(s.token(es));
    assert.equal(s.fetches(), 1);
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from({ length: 200 }, () =>
          rejectsWith(s.verify(s.token(es, { kid: randomUUID() })), 'token_unknown_key'),
        ),
      );
    }
    assert.equal(s.fetches(), 2);
    s.advance(31);
    await rejectsWith(s.verify(s.token(es, { kid: randomUUID() })), 'token_unknown_key');
    await rejectsWith(s.verify(s.token(es, { kid: randomUUID() })), 'token_unknown_key');
    assert.equal(s.fetches(), 3);
  });

  test('picks up a rotated key on first sight with one refetch (row 59)', async () => {
    const s = setup([es.jwk]);
    await s.verify(s.token(es));
    s.realm.jwks = { keys: [es.jwk, es2.jwk] };
    await s.verify(s.token(es2));
    assert.equal(s.fetches(), 2);
    await s.verify(s.token(es));
    assert.equal(s.fetches(), 2);
  });
});

describe('faults', () => {
  test('an unreachable key set at start means not ready and 503, not 401 (row 57)', async () => {
    const s = setup([es.jwk]);
    s.realm.jwksFault = '500';
    await s.verifier.start();
    assert.equal(s.verifier.ready(), false);
    const error = await rejectsWith(s.verify(s.token(es)), 'issuer_unavailable');
    assert.ok(error instanceof UnavailableError && error.retryAfter > 0);
    assert.match(s.verifier.state().issuers[0]?.keySet?.lastError ?? '', /500/);
    // Within the failure backoff no further request is made.
    const count = s.fetches();
    await rejectsWith(s.verify(s.token(es)), 'issuer_unavailable');
    assert.equal(s.fetches(), count);
    // Once the IdP is back (and the backoff passed) the key set loads.
    s.realm.jwksFault = 'ok';
    s.advance(6);
    await s.verify(s.token(es));
    assert.equal(s.verifier.ready(), true);
    s.verifier.close();
  });

  test('a closed port and a hanging JWKS endpoint give 503 within the fetch timeout (row 57)', async () => {
    const closed = await LoopbackIdpFixture.start();
    const deadIssuer = closed.realm('gone').issuer;
    await closed.close();
    const dead = createAccessTokenVerifier({
      issuers: [
        { issuer: deadIssuer, allowInsecureLoopbackHttp: true, jwksUri: `${deadIssuer}/jwks` },
      ],
    });
    await rejectsWith(
      dead.verify(mintToken(es, accessTokenClaims(deadIssuer, RESOURCE)), { resource: RESOURCE }),
      'issuer_unavailable',
    );
    const s = setup([es.jwk], { fetchTimeoutMs: 200 });
    s.realm.jwksFault = 'hang';
    await rejectsWith(s.verify(s.token(es)), 'issuer_unavailable');
  });

  test('a JWKS redirect is not followed (no redirects)', async () => {
    const s = setup([es.jwk]);
    s.realm.jwksFault = 'redirect';
    await rejectsWith(s.verify(s.token(es)), 'issuer_unavailable');
    assert.equal(idp.count('/elsewhere'), 0);
  });

  test('serves last good keys for the stale window, then 503 (row 58)', async () => {
    const s = setup([es.jwk], {
      keyRefreshIntervalSec: 300,
      staleIfErrorSec: 600,
      failureBackoffSec: 0,
    });
    await s.verify(s.token(es));
    s.realm.jwksFault = '500';
    s.advance(400);
    await s.verify(s.token(es));
    const state = s.verifier.state().issuers[0]?.keySet;
    assert.equal(state?.stale, true);
    assert.equal(state?.usable, true);
    s.advance(600);
    await rejectsWith(s.verify(s.token(es)), 'issuer_unavailable');
    assert.equal(s.verifier.ready(), false);
  });

  test('never uses a key again once a refresh no longer lists it, even from the cache (row 58)', async () => {
    const s = setup([es.jwk, es2.jwk], {}, true);
    const old = s.token(es);
    await s.verify(old);
    await s.verify(old);
    assert.equal(s.verifier.state().cache.hits, 1);
    s.realm.jwks = { keys: [es2.jwk] };
    // A token with a new kid forces the refresh that drops the old key.
    await rejectsWith(s.verify(s.token(es, { kid: 'brand-new' })), 'token_unknown_key');
    await rejectsWith(s.verify(old), 'token_unknown_key');
    await rejectsWith(s.verify(s.token(es)), 'token_unknown_key');
  });

  test('refreshes in the background once 80 % of the refresh interval has passed', async () => {
    const s = setup([es.jwk], { keyRefreshIntervalSec: 100 });
    await s.verify(s.token(es));
    s.advance(81);
    await s.verify(s.token(es));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.fetches(), 2);
    assert.equal(s.verifier.state().issuers[0]?.keySet?.stale, false);
  });
});

describe('discovery', () => {
  test('finds jwks_uri via RFC 8414 metadata, falling back to OpenID configuration', async () => {
    const realm = idp.realm(`d-${randomUUID()}`);
    realm.jwks = { keys: [es.jwk] };
    realm.serveRfc8414 = false;
    const v = createAccessTokenVerifier({
      issuers: [{ issuer: realm.issuer, allowInsecureLoopbackHttp: true }],
    });
    await v.verify(mintToken(es, accessTokenClaims(realm.issuer, RESOURCE)), {
      resource: RESOURCE,
    });
    assert.equal(idp.count(`/.well-known/oauth-authorization-server/realms/${realm.name}`), 1);
    assert.equal(idp.count(`/realms/${realm.name}/.well-known/openid-configuration`), 1);
  });

  test('fails discovery when the metadata names a different issuer, quoting both (503, keys never fetched)', async () => {
    const realm = idp.realm(`m-${randomUUID()}`);
    realm.jwks = { keys: [es.jwk] };
    realm.metadataIssuer = `${realm.issuer}/`;
    const v = createAccessTokenVerifier({
      issuers: [{ issuer: realm.issuer, allowInsecureLoopbackHttp: true }],
    });
    await rejectsWith(
      v.verify(mintToken(es, accessTokenClaims(realm.issuer, RESOURCE)), { resource: RESOURCE }),
      'issuer_unavailable',
    );
    assert.equal(idp.jwksFetches(realm.name), 0);
    const lastError = v.state().issuers[0]?.keySet?.lastError ?? '';
    assert.match(lastError, /different issuer/);
    assert.ok(lastError.includes(`names the issuer "${realm.issuer}/"`), lastError);
    assert.ok(lastError.includes(`the configured "${realm.issuer}"`), lastError);
  });

  test('builds RFC 8414 path-inserted and OIDC well-known URLs', () => {
    assert.deepEqual(discoveryUrls('https://idp.example.com/realms/a').map(String), [
      'https://idp.example.com/.well-known/oauth-authorization-server/realms/a',
      'https://idp.example.com/realms/a/.well-known/openid-configuration',
    ]);
    assert.deepEqual(discoveryUrls('https://idp.example.com').map(String), [
      'https://idp.example.com/.well-known/oauth-authorization-server',
      'https://idp.example.com/.well-known/openid-configuration',
    ]);
  });
});

describe('configuration', () => {
  test('rejects HS*, none and unknown algorithms at configuration time with a clear error', () => {
    for (const alg of ['HS256', 'none', 'rs256']) {
      assert.throws(
        () => resolveIssuer({ issuer: 'https://idp.example.com', algorithms: [alg as 'RS256'] }),
        /asymmetric algorithms only/,
      );
    }
  });

  test('allows http only for loopback hosts and only when explicitly enabled', () => {
    assert.throws(
      () => resolveIssuer({ issuer: 'http://127.0.0.1:4000' }),
      /allowInsecureLoopbackHttp/,
    );
    assert.throws(
      () => resolveIssuer({ issuer: 'http://idp.example.com', allowInsecureLoopbackHttp: true }),
      /https/,
    );
    assert.throws(
      () =>
        resolveIssuer({
          issuer: 'https://idp.example.com',
          jwksUri: 'http://10.0.0.1/jwks',
          allowInsecureLoopbackHttp: true,
        }),
      /https/,
    );
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) {
      resolveIssuer({ issuer: `http://${host}:4000`, allowInsecureLoopbackHttp: true });
    }
  });

  test('applies documented defaults', () => {
    const r = resolveIssuer({
      issuer: 'https://idp.example.com',
      tokenTypes: ['application/AT+JWT'],
    });
    assert.deepEqual(r.tokenTypes, ['at+jwt']);
    assert.equal(r.clockToleranceSec, 30);
    assert.equal(r.maxTokenLifetimeSec, 86_400);
    assert.equal(r.scopeClaim, 'scope');
    assert.equal(r.clientIdClaim, 'client_id');
    assert.equal(r.requireJti, false);
    assert.equal(r.format, 'jwt');
    assert.equal(r.staleIfErrorSec, 600);
    assert.equal(r.unknownKidCooldownSec, 30);
    assert.equal(r.fetchTimeoutMs, 5000);
  });

  test('rejects an opaque-only issuer without introspection and a repeated issuer', () => {
    assert.throws(
      () => resolveIssuer({ issuer: 'https://idp.example.com', format: 'opaque' }),
      /introspection/,
    );
    assert.throws(
      () =>
        createAccessTokenVerifier({
          issuers: [{ issuer: 'https://idp.example.com' }, { issuer: 'https://idp.example.com' }],
        }),
      /configured twice/,
    );
  });
});
