// Specifies the running IdP's published surface: issuer on the real port, discovery (OIDC and
// RFC 8414), JWKS, loopback-only listening, and dynamic registration switched off.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startDevIdp, type DevIdp } from './server.js';
import { discover } from './test-support/oauth.js';

describe('startDevIdp', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ port: 0 });
  });
  after(() => idp.close());

  it('names the real ephemeral port in the issuer and listens on 127.0.0.1', () => {
    assert.notEqual(idp.port, 0);
    assert.equal(idp.issuer, `http://127.0.0.1:${idp.port}`);
  });

  it('serves OIDC discovery that an independent client accepts', async () => {
    const as = await discover(idp);
    assert.equal(as.issuer, idp.issuer);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(as.acr_values_supported, ['pwd', 'mfa']);
    assert.ok(as.grant_types_supported?.includes('client_credentials'));
    assert.ok(
      as.grant_types_supported?.includes('urn:ietf:params:oauth:grant-type:token-exchange'),
    );
    assert.equal(as.introspection_endpoint, idp.endpoints.introspection);
    assert.equal(as.revocation_endpoint, idp.endpoints.revocation);
    assert.equal(as.registration_endpoint, undefined);
  });

  it('serves RFC 8414 authorization server metadata with the same issuer', async () => {
    const res = await fetch(idp.endpoints.authorizationServerMetadata);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.issuer, idp.issuer);
    assert.equal(body.token_endpoint, idp.endpoints.token);
  });

  it('publishes one ES256 and one RS256 public key in the JWKS, without private parts', async () => {
    const body = (await (await fetch(idp.endpoints.jwks)).json()) as {
      keys: Record<string, unknown>[];
    };
    assert.deepEqual(body.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    for (const key of body.keys) {
      assert.equal(key.d, undefined);
      assert.equal(typeof key.kid, 'string');
    }
  });

  it('generates fresh signing keys per run', async () => {
    const other = await startDevIdp({ port: 0 });
    try {
      assert.notEqual(other.keyState().signing.ES256, idp.keyState().signing.ES256);
    } finally {
      await other.close();
    }
  });

  it('refuses dynamic client registration', async () => {
    const res = await fetch(`${idp.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'] }),
    });
    assert.equal(res.status, 404);
  });
});
