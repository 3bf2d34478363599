// Specification of opaque-token verification by RFC 7662 introspection against a loopback IdP
// fixture (SECURITY-CASES rows 42, 43, 45, 60) and of opaque-token routing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { McpIamError } from '../errors.js';
import { createAccessTokenVerifier } from './access-token-verifier.js';
import {
  accessTokenClaims,
  createSigner,
  LoopbackIdpFixture,
  mintToken,
  type FixtureRealm,
} from './loopback-idp.fixture.js';
import type { TrustedIssuer } from '../issuer/options.js';

const RESOURCE = 'https://mcp.example.com/notes/mcp';

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
before(async () => {
  idp = await LoopbackIdpFixture.start();
});
after(() => idp.close());

function opaqueIssuer(realm: FixtureRealm, extra: Partial<TrustedIssuer> = {}): TrustedIssuer {
  return {
    issuer: realm.issuer,
    allowInsecureLoopbackHttp: true,
    format: 'opaque',
    ...extra,
    introspection: {
      clientId: 'rs-client',
      clientSecret: 'rs secret:1',
      ...extra.introspection,
      endpoint: realm.introspectionEndpoint,
    },
  };
}

/** A fresh realm answering introspection from `answers` (token → JSON body). */
function setup(
  answer: (token: string) => { status: number; body: string },
  extra: Partial<TrustedIssuer> = {},
) {
  const realm = idp.realm(`i-${randomUUID()}`);
  realm.introspect = answer;
  let offsetMs = 0;
  const verifier = createAccessTokenVerifier({
    issuers: [opaqueIssuer(realm, extra)],
    now: () => Date.now() + offsetMs,
  });
  return {
    realm,
    verifier,
    verify: (token: string, resource = RESOURCE) => verifier.verify(token, { resource }),
    advance: (sec: number) => {
      offsetMs += sec * 1000;
    },
    requests: () => idp.count(`/realms/${realm.name}/introspect`),
  };
}

const now = (): number => Math.floor(Date.now() / 1000);
const active = (realm: FixtureRealm, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    active: true,
    iss: realm.issuer,
    sub: 'bob',
    client_id: 'notes-app',
    aud: RESOURCE,
    scope: 'notes.read',
    exp: now() + 600,
    ...extra,
  });

describe('accepted', () => {
  test('accepts an active token for this resource and builds an opaque principal', async () => {
    const s = setup(() => ({ status: 200, body: active(s.realm) }));
    const p = await s.verify('opaque-token-1');
    assert.equal(p.tokenFormat, 'opaque');
    assert.equal(p.subject, 'bob');
    assert.equal(p.clientId, 'notes-app');
    assert.deepEqual(p.scopes, ['notes.read']);
    const sent = idp.requests.find(
      (r) => r.path.endsWith('/introspect') && r.body.includes('opaque-token-1'),
    );
    assert.ok(sent?.authorization?.startsWith('Basic '));
    assert.match(sent?.body ?? '', /token_type_hint=access_token/);
  });

  test('accepts an aud array containing this resource and a client credentials token without sub', async () => {
    const s = setup(() => ({
      status: 200,
      body: active(s.realm, { aud: ['x', RESOURCE], sub: undefined }),
    }));
    const p = await s.verify('cc-token');
    assert.equal(p.subject, 'notes-app');
  });

  test('introspects a JWT-shaped token at an opaque-only issuer', async () => {
    const signer = await createSigner('ES256');
    const s = setup(() => ({ status: 200, body: active(s.realm) }));
    const jwt = mintToken(signer, accessTokenClaims(s.realm.issuer, RESOURCE));
    const p = await s.verify(jwt);
    assert.equal(p.tokenFormat, 'opaque');
    assert.equal(s.requests(), 1);
  });
});

describe('rejected answers', () => {
  test('rejects active:false, active:"true", missing active and non-JSON (row 42)', async () => {
    for (const body of [
      '{"active":false}',
      '{"active":"true","aud":"x"}',
      '{"sub":"bob"}',
      'not json',
      '[true]',
      'null',
    ]) {
      const s = setup(() => ({ status: 200, body }));
      await rejectsWith(s.verify('t'), 'token_inactive');
    }
  });

  test('rejects active:true with a foreign aud, an unexpected iss or a past exp (row 43)', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ aud: 'https://mcp.example.com/other/mcp' }, 'token_bad_audience'],
      [{ aud: undefined }, 'token_bad_audience'],
      [{ aud: `${RESOURCE}/` }, 'token_bad_audience'],
      [{ iss: 'https://evil.example.com' }, 'token_bad_issuer'],
      [{ exp: now() - 120 }, 'token_expired'],
      [{ client_id: undefined }, 'token_missing_claim'],
      [{ token_type: 'refresh_token' }, 'token_bad_type'],
      [{ exp: undefined }, 'token_missing_claim'],
    ];
    for (const [extra, code] of cases) {
      const s = setup(() => ({ status: 200, body: active(s.realm, extra) }));
      await rejectsWith(s.verify('t'), code);
    }
  });

  test('a revoked token is rejected once the positive cache TTL has passed (row 45)', async () => {
    let revoked = false;
    const s = setup(() => ({ status: 200, body: revoked ? '{"active":false}' : active(s.realm) }), {
      introspection: {
        endpoint: '',
        clientId: 'rs-client',
        clientSecret: 'rs secret:1',
        positiveTtlSec: 30,
      },
    });
    await s.verify('rev');
    revoked = true;
    await s.verify('rev');
    assert.equal(s.requests(), 1);
    s.advance(31);
    await rejectsWith(s.verify('rev'), 'token_inactive');
    assert.equal(s.requests(), 2);
  });

  test('never caches a positive answer beyond the token exp', async () => {
    const s = setup(() => ({ status: 200, body: active(s.realm, { exp: now() + 5 }) }));
    await s.verify('short');
    s.advance(40);
    await rejectsWith(s.verify('short'), 'token_expired');
  });

  test('caches inactive answers briefly (negative TTL)', async () => {
    const s = setup(() => ({ status: 200, body: '{"active":false}' }));
    await rejectsWith(s.verify('neg'), 'token_inactive');
    await rejectsWith(s.verify('neg'), 'token_inactive');
    assert.equal(s.requests(), 1);
    s.advance(6);
    await rejectsWith(s.verify('neg'), 'token_inactive');
    assert.equal(s.requests(), 2);
  });

  test('checks the audience of a cached answer on every call', async () => {
    const s = setup(() => ({ status: 200, body: active(s.realm) }));
    await s.verify('aud');
    await rejectsWith(s.verify('aud', 'https://mcp.example.com/other/mcp'), 'token_bad_audience');
    assert.equal(s.requests(), 1);
  });
});

describe('faults', () => {
  test('introspection 5xx, 401 or timeout is 503 introspection_unavailable, never allow (row 60)', async () => {
    for (const status of [500, 503, 401]) {
      const s = setup(() => ({ status, body: active(s.realm) }));
      await rejectsWith(s.verify('t'), 'introspection_unavailable');
    }
    const slow = setup(() => new Promise(() => undefined) as never, {
      fetchTimeoutMs: 200,
    });
    await rejectsWith(slow.verify('t'), 'introspection_unavailable');
    const wrongSecret = setup(() => ({ status: 200, body: '{"active":true}' }), {
      introspection: { endpoint: '', clientId: 'rs-client', clientSecret: 'wrong' },
    });
    await rejectsWith(wrongSecret.verify('t'), 'introspection_unavailable');
  });

  test('concurrent requests for one token share one introspection request (row 60)', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const s = setup(() => ({ status: 503, body: '' }));
    s.realm.introspect = async () => {
      await gate;
      return { status: 503, body: '' };
    };
    const calls = Array.from({ length: 20 }, () =>
      rejectsWith(s.verify('same'), 'introspection_unavailable'),
    );
    await new Promise((r) => setTimeout(r, 100));
    release();
    await Promise.all(calls);
    assert.equal(s.requests(), 1);
    // Failures are not cached: the next call asks again.
    await rejectsWith(s.verify('same'), 'introspection_unavailable');
    assert.equal(s.requests(), 2);
  });
});

describe('routing', () => {
  test('an opaque token with no introspection-enabled issuer in scope is rejected without a request', async () => {
    const realm = idp.realm(`j-${randomUUID()}`);
    const v = createAccessTokenVerifier({
      issuers: [{ issuer: realm.issuer, allowInsecureLoopbackHttp: true, jwksUri: realm.jwksUri }],
    });
    const before = idp.requests.length;
    await rejectsWith(v.verify('opaque', { resource: RESOURCE }), 'token_malformed');
    assert.equal(idp.requests.length, before);
  });

  test('two introspection-enabled issuers for one resource is a configuration error with a clear message', async () => {
    const a = idp.realm(`a-${randomUUID()}`);
    const b = idp.realm(`b-${randomUUID()}`);
    a.introspect = () => ({ status: 200, body: active(a) });
    const v = createAccessTokenVerifier({ issuers: [opaqueIssuer(a), opaqueIssuer(b)] });
    await assert.rejects(
      v.verify('opaque', { resource: RESOURCE }),
      /configuration error: 2 introspection-enabled issuers/,
    );
    assert.throws(() => v.checkContext({ resource: RESOURCE }), /configuration error/);
    v.checkContext({ resource: RESOURCE, issuers: [a.issuer] });
    const p = await v.verify('opaque', { resource: RESOURCE, issuers: [a.issuer] });
    assert.equal(p.issuer, a.issuer);
  });
});
