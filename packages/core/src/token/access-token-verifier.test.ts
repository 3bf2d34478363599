// Specification of createAccessTokenVerifier against a loopback IdP fixture: JOSE header, signature,
// claims and routing rows of SECURITY-CASES (11–27, 31–36, 39–41, 44), plus every accepted variant.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { McpIamError } from '../errors.js';
import { tokenFingerprint } from '../audit/record.js';
import { createAccessTokenVerifier, type IamAccessTokenVerifier } from './access-token-verifier.js';
import {
  accessTokenClaims,
  b64u,
  createSigner,
  LoopbackIdpFixture,
  mintToken,
  signRaw,
  type FixtureRealm,
  type FixtureSigner,
} from './loopback-idp.fixture.js';
import type { TrustedIssuer } from '../issuer/options.js';

const RESOURCE = 'https://mcp.example.com/crm/mcp';
const OTHER_RESOURCE = 'https://mcp.example.com/insights/mcp';

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
let main: FixtureRealm;
let other: FixtureRealm;
let es: FixtureSigner;
let rs: FixtureSigner;
let ps: FixtureSigner;
let ed: FixtureSigner;
let otherKey: FixtureSigner;
let verifier: IamAccessTokenVerifier;

function issuerOptions(realm: FixtureRealm, extra: Partial<TrustedIssuer> = {}): TrustedIssuer {
  return {
    issuer: realm.issuer,
    allowInsecureLoopbackHttp: true,
    algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
    ...extra,
  };
}

const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> =>
  accessTokenClaims(main.issuer, RESOURCE, overrides);
const verify = (token: string, resource = RESOURCE): Promise<unknown> =>
  verifier.verify(token, { resource });

before(async () => {
  idp = await LoopbackIdpFixture.start();
  main = idp.realm('main');
  other = idp.realm('other');
  [es, rs, ps, ed, otherKey] = await Promise.all([
    createSigner('ES256'),
    createSigner('RS256'),
    createSigner('PS256'),
    createSigner('EdDSA'),
    createSigner('ES256'),
  ]);
  main.jwks = { keys: [es.jwk, rs.jwk, ps.jwk, ed.jwk] };
  other.jwks = { keys: [otherKey.jwk] };
  // No jwksUri: the key set URL comes from verified discovery metadata.
  verifier = createAccessTokenVerifier({
    issuers: [issuerOptions(main), issuerOptions(other)],
    cache: false,
  });
  await verifier.start();
  assert.equal(verifier.ready(), true);
});

after(async () => {
  verifier.close();
  await idp.close();
});

describe('accepted variants', () => {
  test('accepts ES256, RS256, PS256 and EdDSA access tokens and builds the principal', async () => {
    for (const signer of [es, rs, ps, ed]) {
      const p = await verifier.verify(mintToken(signer, claims()), { resource: RESOURCE });
      assert.equal(p.issuer, main.issuer);
      assert.equal(p.subject, 'alice');
      assert.equal(p.clientId, 'crm-app');
      assert.deepEqual(p.scopes, ['crm.read', 'crm.write']);
      assert.deepEqual(p.audience, [RESOURCE]);
      assert.equal(p.tokenFormat, 'jwt');
      assert.ok(Object.isFrozen(p.claims));
    }
  });

  test('accepts an aud array that contains this resource', async () => {
    const p = await verifier.verify(
      mintToken(es, claims({ aud: ['https://other.example', RESOURCE] })),
      { resource: RESOURCE },
    );
    assert.deepEqual(p.audience, ['https://other.example', RESOURCE]);
  });

  test('accepts typ application/at+jwt and any case of at+jwt', async () => {
    await verify(mintToken(es, claims(), { typ: 'application/at+jwt' }));
    await verify(mintToken(es, claims(), { typ: 'AT+JWT' }));
  });

  test('accepts exp 10 s past within the 30 s leeway, and iat/nbf 10 s in the future (row 31)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await verify(mintToken(es, claims({ iat: now - 300, exp: now - 10 })));
    await verify(mintToken(es, claims({ iat: now + 10, nbf: now + 10, exp: now + 300 })));
  });

  test('accepts a token whose audience is one of context.audiences', async () => {
    const p = await verifier.verify(mintToken(es, claims({ aud: 'api://crm' })), {
      resource: RESOURCE,
      audiences: ['api://crm'],
    });
    assert.deepEqual(p.audience, ['api://crm']);
  });

  test('accepts a token without kid when exactly one key fits its alg', async () => {
    await verify(mintToken(ed, claims(), { kid: undefined }));
  });

  test('maps act, acr, amr, auth_time, cnf and jti into the principal', async () => {
    const p = await verifier.verify(
      mintToken(
        es,
        claims({
          act: { sub: 'agent-1', client_id: 'agent', act: { sub: 'gateway' } },
          acr: 'mfa',
          amr: ['pwd', 'otp'],
          auth_time: 1_700_000_000,
          cnf: { jkt: 'abc' },
          jti: 'id-1',
        }),
      ),
      { resource: RESOURCE },
    );
    assert.equal(p.actor?.sub, 'agent-1');
    assert.equal(p.actor?.act?.sub, 'gateway');
    assert.equal(p.acr, 'mfa');
    assert.deepEqual(p.amr, ['pwd', 'otp']);
    assert.equal(p.authTime, 1_700_000_000);
    assert.deepEqual(p.cnf, { jkt: 'abc' });
    assert.equal(p.tokenId, 'id-1');
  });
});

describe('readiness and metrics state', () => {
  test('reports per-issuer readiness, key set load time and counters after start()', () => {
    const state = verifier.state();
    assert.equal(state.ready, true);
    assert.deepEqual(
      state.issuers.map((i) => i.issuer),
      [main.issuer, other.issuer],
    );
    for (const issuer of state.issuers) {
      assert.equal(issuer.ready, true);
      assert.equal(issuer.keySet?.usable, true);
      assert.equal(issuer.keySet?.stale, false);
      assert.ok((issuer.keySet?.lastRefreshAt ?? 0) > 0);
      assert.ok((issuer.keySet?.fetches ?? 0) >= 2); // discovery + JWKS
    }
    assert.equal(state.issuers[0]?.keySet?.keyCount, 4);
    assert.deepEqual(state.cache, { size: 0, bytes: 0, hits: 0, misses: 0 });
  });
});

describe('JOSE header', () => {
  test('rejects alg none/None/NONE, signed or not (row 11)', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${b64u(JSON.stringify({ alg, typ: 'at+jwt' }))}.${b64u(JSON.stringify(claims()))}.`;
      await rejectsWith(verify(unsigned), 'token_malformed');
      const signed = signRaw(
        JSON.stringify({ alg, typ: 'at+jwt', kid: es.kid }),
        JSON.stringify(claims()),
        es,
        'ES256',
      );
      await rejectsWith(verify(signed), 'token_bad_header');
    }
  });

  test('rejects HS256 signed with the issuer RSA public key as PEM, DER or JWK bytes (row 12)', async () => {
    const secrets = [
      rs.publicKey.export({ type: 'spki', format: 'pem' }),
      rs.publicKey.export({ type: 'spki', format: 'der' }),
      Buffer.from(JSON.stringify(rs.jwk)),
    ];
    for (const secret of secrets) {
      const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: rs.kid }))}.${b64u(JSON.stringify(claims()))}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      await rejectsWith(verify(token), 'token_bad_header');
    }
  });

  test('rejects alg outside the allowlist and lower-case alg (row 13)', async () => {
    await rejectsWith(
      verify(
        signRaw(
          JSON.stringify({ alg: 'RS512', typ: 'at+jwt', kid: rs.kid }),
          JSON.stringify(claims()),
          rs,
          'RS512',
        ),
      ),
      'token_bad_header',
    );
    await rejectsWith(verify(mintToken(es, claims(), { alg: 'es256' })), 'token_bad_header');
  });

  test('rejects an alg that does not fit the named key family (row 14)', async () => {
    // RS256 header naming the EC key's kid: no key has that kid with that alg.
    const token = signRaw(
      JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: es.kid }),
      JSON.stringify(claims()),
      rs,
      'RS256',
    );
    await rejectsWith(verify(token), 'token_unknown_key');
    const ps256 = signRaw(
      JSON.stringify({ alg: 'PS256', typ: 'at+jwt', kid: rs.kid }),
      JSON.stringify(claims()),
      rs,
      'PS256',
    );
    // The RS256 JWK declares alg RS256, so it is never used for PS256.
    await rejectsWith(verify(ps256), 'token_unknown_key');
  });

  test('rejects kid values with traversal, SQL, control characters or ANSI escapes without echoing them (row 16)', async () => {
    for (const kid of ['../../etc/passwd', "' OR 1=1 --", 'a\u0000b\r\nc', '\u001b[31mred']) {
      const error = await rejectsWith(
        verify(mintToken(es, claims(), { kid })),
        'token_unknown_key',
      );
      assert.ok(!error.message.includes(kid));
    }
  });

  test('never fetches jku or x5u and rejects the token (row 17)', async () => {
    const before = idp.requests.length;
    for (const member of ['jku', 'x5u']) {
      await rejectsWith(
        verify(mintToken(es, claims(), { [member]: `${idp.origin}/attacker/${member}` })),
        'token_bad_header',
      );
    }
    assert.equal(idp.count('/attacker'), 0);
    assert.equal(idp.requests.length, before);
  });

  test('rejects an embedded jwk or x5c carrying an attacker key (row 18)', async () => {
    const attacker = await createSigner('ES256', es.kid);
    await rejectsWith(
      verify(mintToken(attacker, claims(), { jwk: attacker.jwk })),
      'token_bad_header',
    );
    await rejectsWith(verify(mintToken(attacker, claims(), { x5c: ['MIIB'] })), 'token_bad_header');
  });

  test('rejects crit, b64:false and cty:JWT even when correctly signed (rows 19, 20, 23)', async () => {
    await rejectsWith(
      verify(mintToken(es, claims(), { crit: ['exp'], exp: 1 })),
      'token_bad_header',
    );
    await rejectsWith(verify(mintToken(es, claims(), { crit: [] })), 'token_bad_header');
    await rejectsWith(
      verify(mintToken(es, claims(), { b64: false, crit: ['b64'] })),
      'token_bad_header',
    );
    await rejectsWith(verify(mintToken(es, claims(), { cty: 'JWT' })), 'token_bad_header');
  });

  test('rejects a JWE-shaped five-segment token (row 23)', async () => {
    await rejectsWith(verify('eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d'), 'token_malformed');
  });

  test('rejects typ missing, JWT, dpop+jwt and logout+jwt by default (row 21)', async () => {
    for (const typ of [undefined, 'JWT', 'dpop+jwt', 'logout+jwt', 'application/jwt']) {
      await rejectsWith(verify(mintToken(es, claims(), { typ })), 'token_bad_type');
    }
  });

  test('rejects duplicate members in a correctly signed payload (row 22)', async () => {
    const header = JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: es.kid });
    const payload = JSON.stringify(claims({ sub: 'alice' })).replace(
      '"sub":"alice"',
      '"sub":"alice","sub":"admin"',
    );
    await rejectsWith(verify(signRaw(header, payload, es)), 'token_malformed');
  });
});

describe('signature', () => {
  test('rejects a stripped, empty, truncated or bit-flipped signature and tampered parts (row 24)', async () => {
    const token = mintToken(es, claims());
    const [h, p, s] = token.split('.') as [string, string, string];
    await rejectsWith(verify(`${h}.${p}`), 'token_malformed');
    await rejectsWith(verify(`${h}.${p}.`), 'token_malformed');
    await rejectsWith(verify(`${h}.${p}.${s.slice(0, 40)}`), 'token_bad_signature');
    const sig = Buffer.from(s, 'base64url');
    sig[10] = (sig[10] as number) ^ 0x01;
    await rejectsWith(verify(`${h}.${p}.${sig.toString('base64url')}`), 'token_bad_signature');
    const tamperedPayload = b64u(JSON.stringify(claims({ sub: 'admin' })));
    await rejectsWith(verify(`${h}.${tamperedPayload}.${s}`), 'token_bad_signature');
    const tamperedHeader = b64u(
      JSON.stringify({ alg: 'ES256', typ: 'application/at+jwt', kid: es.kid }),
    );
    await rejectsWith(verify(`${tamperedHeader}.${p}.${s}`), 'token_bad_signature');
  });

  test('rejects a token signed by an attacker key that reuses a legitimate kid (row 25)', async () => {
    const attacker = await createSigner('ES256', es.kid);
    await rejectsWith(verify(mintToken(attacker, claims())), 'token_bad_signature');
  });

  test('rejects ES256 signatures r=s=0, r=n, all-zero and all-FF (row 26)', async () => {
    const n = Buffer.from(
      'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
      'hex',
    );
    const input = mintToken(es, claims()).split('.').slice(0, 2).join('.');
    const bad = [
      Buffer.alloc(64),
      Buffer.concat([n, n]),
      Buffer.concat([n, Buffer.alloc(32, 1)]),
      Buffer.alloc(64, 0xff),
    ];
    for (const sig of bad)
      await rejectsWith(verify(`${input}.${sig.toString('base64url')}`), 'token_bad_signature');
  });

  test('rejects an ES256 signature in DER encoding instead of r||s (row 27)', async () => {
    const { sign } = await import('node:crypto');
    const input = mintToken(es, claims()).split('.').slice(0, 2).join('.');
    const der = sign('sha256', Buffer.from(input), { key: es.privateKey, dsaEncoding: 'der' });
    await rejectsWith(verify(`${input}.${der.toString('base64url')}`), 'token_bad_signature');
  });
});

describe('claims', () => {
  test('rejects exp past beyond the leeway (row 31)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejectsWith(
      verify(mintToken(es, claims({ iat: now - 600, exp: now - 31 }))),
      'token_expired',
    );
  });

  test('rejects exp missing, string, array, negative or 1e300, and a lifetime above the maximum (row 32)', async () => {
    await rejectsWith(verify(mintToken(es, claims({ exp: undefined }))), 'token_missing_claim');
    for (const exp of [String(Math.floor(Date.now() / 1000) + 60), [1], -1, 1e300]) {
      await rejectsWith(verify(mintToken(es, claims({ exp }))), 'token_bad_claim');
    }
    const now = Math.floor(Date.now() / 1000);
    await rejectsWith(
      verify(mintToken(es, claims({ iat: now, exp: now + 86_401 }))),
      'token_lifetime_exceeded',
    );
  });

  test('rejects nbf or iat in the future beyond the leeway, and a missing iat (row 33)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await rejectsWith(verify(mintToken(es, claims({ nbf: now + 120 }))), 'token_not_yet_valid');
    await rejectsWith(
      verify(mintToken(es, claims({ iat: now + 120, exp: now + 600 }))),
      'token_not_yet_valid',
    );
    await rejectsWith(verify(mintToken(es, claims({ iat: undefined }))), 'token_missing_claim');
  });

  test('rejects iss that is a trailing-slash or case variant, array, prefix or substring (row 34)', async () => {
    for (const iss of [
      `${main.issuer}/`,
      main.issuer.toUpperCase(),
      main.issuer.slice(0, -1),
      `${idp.origin}/realms`,
    ]) {
      await rejectsWith(verify(mintToken(es, claims({ iss }))), 'token_unknown_issuer');
    }
    await rejectsWith(verify(mintToken(es, claims({ iss: [main.issuer] }))), 'token_bad_issuer');
    await rejectsWith(verify(mintToken(es, claims({ iss: undefined }))), 'token_bad_issuer');
  });

  test('rejects aud missing, foreign, a variant, empty or non-string (row 35)', async () => {
    for (const aud of [
      undefined,
      OTHER_RESOURCE,
      `${RESOURCE}/`,
      RESOURCE.toUpperCase(),
      '',
      [''],
      [],
      [RESOURCE, 5],
      5,
      { a: RESOURCE },
    ]) {
      await rejectsWith(verify(mintToken(es, claims({ aud }))), 'token_bad_audience');
    }
  });

  test('rejects sub, client_id or (when required) jti missing (row 36)', async () => {
    await rejectsWith(verify(mintToken(es, claims({ sub: undefined }))), 'token_missing_claim');
    await rejectsWith(
      verify(mintToken(es, claims({ client_id: undefined }))),
      'token_missing_claim',
    );
    await rejectsWith(verify(mintToken(es, claims({ sub: 42 }))), 'token_bad_claim');
    const strict = createAccessTokenVerifier({
      issuers: [issuerOptions(main, { requireJti: true, jwksUri: main.jwksUri })],
    });
    try {
      await rejectsWith(
        strict.verify(mintToken(es, claims({ jti: undefined })), { resource: RESOURCE }),
        'token_missing_claim',
      );
      await strict.verify(mintToken(es, claims()), { resource: RESOURCE });
    } finally {
      strict.close();
    }
  });

  test('uses the configured client id claim (azp) and rejects a token without it (row 36)', async () => {
    const azp = createAccessTokenVerifier({
      issuers: [issuerOptions(main, { clientIdClaim: 'azp', jwksUri: main.jwksUri })],
    });
    try {
      const p = await azp.verify(mintToken(es, claims({ client_id: undefined, azp: 'spa' })), {
        resource: RESOURCE,
      });
      assert.equal(p.clientId, 'spa');
      await rejectsWith(
        azp.verify(mintToken(es, claims()), { resource: RESOURCE }),
        'token_missing_claim',
      );
    } finally {
      azp.close();
    }
  });

  test('rejects ID tokens, refresh tokens, DPoP proofs and logout tokens (row 39)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const idToken = claims({
      aud: 'crm-app',
      nonce: 'n',
      at_hash: 'x',
      client_id: undefined,
      azp: 'crm-app',
    });
    await rejectsWith(verify(mintToken(es, idToken, { typ: 'JWT' })), 'token_bad_type');
    await rejectsWith(verify(mintToken(es, claims(), { typ: 'rt+jwt' })), 'token_bad_type');
    await rejectsWith(
      verify(
        mintToken(
          es,
          { htm: 'POST', htu: RESOURCE, iat: now, jti: 'x' },
          { typ: 'dpop+jwt', jwk: es.jwk, kid: undefined },
        ),
      ),
      'token_bad_header',
    );
    await rejectsWith(
      verify(
        mintToken(
          es,
          claims({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} } }),
          { typ: 'logout+jwt' },
        ),
      ),
      'token_bad_type',
    );
  });

  test('when typ JWT is accepted, still rejects ID-token-shaped and DPoP-shaped JWTs by their claims (row 21)', async () => {
    const lax = createAccessTokenVerifier({
      issuers: [issuerOptions(main, { tokenTypes: ['at+jwt', 'JWT'], jwksUri: main.jwksUri })],
    });
    try {
      await lax.verify(mintToken(es, claims(), { typ: 'JWT' }), { resource: RESOURCE });
      for (const extra of [
        { nonce: 'n' },
        { at_hash: 'h' },
        { htm: 'POST', htu: RESOURCE },
        { events: {} },
      ]) {
        await rejectsWith(
          lax.verify(mintToken(es, claims(extra), { typ: 'JWT' }), { resource: RESOURCE }),
          'token_bad_type',
        );
      }
      await rejectsWith(
        lax.verify(mintToken(es, claims(), { typ: undefined }), { resource: RESOURCE }),
        'token_bad_type',
      );
    } finally {
      lax.close();
    }
  });
});

describe('routing', () => {
  test('routes by exact iss; one realm keys never validate the other realm tokens (row 40)', async () => {
    const p = await verifier.verify(
      mintToken(otherKey, accessTokenClaims(other.issuer, RESOURCE)),
      { resource: RESOURCE },
    );
    assert.equal(p.issuer, other.issuer);
    // Other realm's key, main realm's iss: main's key set does not hold that kid.
    await rejectsWith(verify(mintToken(otherKey, claims())), 'token_unknown_key');
    // Main realm's key under other's iss, with other's kid: signature fails.
    const forged = mintToken(
      { ...es, kid: otherKey.kid } as FixtureSigner,
      accessTokenClaims(other.issuer, RESOURCE),
    );
    await rejectsWith(verify(forged), 'token_bad_signature');
  });

  test('rejects a token of an issuer outside the context issuer subset without any request (row 40)', async () => {
    const before = idp.requests.length;
    const token = mintToken(otherKey, accessTokenClaims(other.issuer, RESOURCE));
    await rejectsWith(
      verifier.verify(token, { resource: RESOURCE, issuers: [main.issuer] }),
      'token_unknown_issuer',
    );
    await rejectsWith(
      verify(mintToken(es, claims({ iss: `${idp.origin}/realms/unknown` }))),
      'token_unknown_issuer',
    );
    assert.equal(idp.requests.length, before);
  });

  test('checks audience and issuer subset again on a cache hit (row 41)', async () => {
    const cached = createAccessTokenVerifier({
      issuers: [
        issuerOptions(main, { jwksUri: main.jwksUri }),
        issuerOptions(other, { jwksUri: other.jwksUri }),
      ],
    });
    try {
      const token = mintToken(es, claims({ aud: RESOURCE }));
      await cached.verify(token, { resource: RESOURCE });
      assert.equal(cached.state().cache.size, 1);
      await cached.verify(token, { resource: RESOURCE });
      assert.equal(cached.state().cache.hits, 1);
      await rejectsWith(cached.verify(token, { resource: OTHER_RESOURCE }), 'token_bad_audience');
      await rejectsWith(
        cached.verify(token, { resource: RESOURCE, issuers: [other.issuer] }),
        'token_unknown_issuer',
      );
    } finally {
      cached.close();
    }
  });

  test('verifyCached returns a hit synchronously, a miss as undefined for verify to finish, counts lookups like verify, and never uses an expired entry', async () => {
    let clock = Date.now();
    const cached = createAccessTokenVerifier({
      issuers: [issuerOptions(main, { jwksUri: main.jwksUri })],
      cache: { maxTtlSec: 60 },
      now: () => clock,
    });
    await cached.start();
    try {
      const token = mintToken(es, claims());
      const context = { resource: RESOURCE };
      assert.equal(cached.verifyCached(token, context), undefined, 'a miss is left to verify');
      const first = await cached.verify(token, context);
      assert.deepEqual(cached.state().cache, { ...cached.state().cache, hits: 0, misses: 1 });
      const hit = cached.verifyCached(token, context);
      assert.equal(hit?.principal, first, 'a hit is the cached principal itself, not a promise');
      assert.equal(await cached.verify(token, context), first);
      assert.equal(cached.state().cache.hits, 2);
      assert.equal(cached.state().cache.misses, 1);
      assert.throws(
        () => cached.verifyCached(token, { resource: OTHER_RESOURCE }),
        (e: unknown) => e instanceof McpIamError && e.code === 'token_bad_audience',
        'route checks still run after a hit (row 41)',
      );
      assert.throws(
        () => cached.verifyCached('a'.repeat(9000), context),
        (e: unknown) => e instanceof McpIamError && e.code === 'token_malformed',
      );

      clock += 61_000; // past the cache's 60 s
      assert.equal(cached.verifyCached(token, context), undefined, 'an expired entry is not used');
      const reverified = await cached.verify(token, context);
      assert.notEqual(reverified, first, 'a new verification builds a new principal');
      assert.deepEqual(reverified.claims, first.claims);
    } finally {
      cached.close();
    }
  });

  test("a cached verification computes the token's fingerprint once per key", async () => {
    const cached = createAccessTokenVerifier({ issuers: [issuerOptions(main)] });
    try {
      const token = mintToken(es, claims());
      const context = { resource: RESOURCE };
      await cached.verify(token, context);
      const hit = cached.verifyCached(token, context)!;
      const key = Buffer.alloc(32, 7);
      assert.equal(hit.fingerprint(token, key), tokenFingerprint(token, key));
      assert.equal(hit.fingerprint(token, key), hit.fingerprint(token, key));
      const other = 'another-key-of-16+';
      assert.equal(hit.fingerprint(token, other), tokenFingerprint(token, other));
    } finally {
      cached.close();
    }
  });

  test('does not send a JWT-shaped token that fails JWT checks to introspection (row 44)', async () => {
    const both = createAccessTokenVerifier({
      issuers: [
        issuerOptions(main, {
          jwksUri: main.jwksUri,
          introspection: {
            endpoint: main.introspectionEndpoint,
            clientId: 'rs-client',
            clientSecret: 'rs secret:1',
          },
        }),
      ],
    });
    try {
      const before = idp.count('/realms/main/introspect');
      await rejectsWith(
        both.verify(mintToken(es, claims({ aud: OTHER_RESOURCE })), { resource: RESOURCE }),
        'token_bad_audience',
      );
      await rejectsWith(
        both.verify(mintToken(es, claims(), { typ: 'JWT' }), { resource: RESOURCE }),
        'token_bad_type',
      );
      const [h, pl] = mintToken(es, claims()).split('.');
      const foreignSig = mintToken(es, claims()).split('.')[2];
      await rejectsWith(
        both.verify(`${h}.${pl}.${foreignSig}`, { resource: RESOURCE }),
        'token_bad_signature',
      );
      await rejectsWith(both.verify('a.b', { resource: RESOURCE }), 'token_malformed');
      assert.equal(idp.count('/realms/main/introspect'), before);
    } finally {
      both.close();
    }
  });

  test('an unknown kid is rejected after at most one refetch (row 15)', async () => {
    await rejectsWith(verify(mintToken(es, claims(), { kid: randomUUID() })), 'token_unknown_key');
  });
});
