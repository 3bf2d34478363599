// Specifies RFC 8693 token exchange: who may exchange which subject token for which audience, and
// the shape of the result (sub, nested act, narrowed scope, kept acr/amr, bounded lifetime).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { decodeJwt, exportJWK, generateKeyPair, importJWK, SignJWT, type JWTPayload } from 'jose';

import { DEFAULT_RESOURCES, DEV_CLIENTS } from '../fixtures/defaults.js';
import { totpNow } from '../fixtures/totp.js';
import { startDevIdp, type DevIdp } from '../server.js';
import { exchange, oauthError, userTokens, validateAccessToken } from '../test-support/oauth.js';

const gateway = [DEV_CLIENTS.mcpGateway.clientId, DEV_CLIENTS.mcpGateway.clientSecret] as const;
const insights = [
  DEV_CLIENTS.insightsServer.clientId,
  DEV_CLIENTS.insightsServer.clientSecret,
] as const;

describe('token exchange (RFC 8693)', () => {
  let idp: DevIdp;
  let signingJwk: Record<string, unknown>;

  /** Signs an access token with the IdP's pinned key, to build edge-case subject tokens. */
  async function forge(claims: JWTPayload): Promise<string> {
    const key = await importJWK(signingJwk, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: idp.issuer,
      sub: 'alice',
      aud: DEFAULT_RESOURCES['gateway-crm'],
      client_id: 'demo-agent',
      scope: 'crm.read crm.write',
      jti: crypto.randomUUID(),
      iat: now,
      exp: now + 300,
      acr: 'mfa',
      amr: ['pwd', 'otp', 'mfa'],
      auth_time: now,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: String(signingJwk.kid) })
      .sign(key);
  }

  before(async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    signingJwk = { ...(await exportJWK(privateKey)), kid: 'pinned-es256', alg: 'ES256' };
    idp = await startDevIdp({
      port: 0,
      fixtures: {
        keys: { signing: [signingJwk] },
        resources: {
          'notes-upstream': {
            url: 'http://127.0.0.1:5003/mcp',
            scopes: ['notes.read'],
            format: 'jwt',
            alg: 'RS256',
            ttl_seconds: 300,
          },
        },
        clients: {
          'mcp-gateway': { exchange: { audiences: ['crm', 'insights', 'notes-upstream'] } },
          impersonator: {
            token_endpoint_auth_method: 'client_secret_basic',
            client_secret: 'impersonator-secret',
            grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'],
            owns: ['gateway-crm'],
            exchange: { audiences: ['crm'], impersonate: true },
          },
        },
      },
    });
  });
  after(() => idp.close());

  const gatewayCrmToken = async (scope = 'crm.read', otp = false) =>
    (
      await userTokens(idp, {
        user: 'alice',
        password: 'alice',
        scope,
        resource: DEFAULT_RESOURCES['gateway-crm'],
        ...(otp ? { otp: totpNow('alice'), acrValues: 'mfa' } : {}),
      })
    ).access_token;

  it('gives the gateway a CRM token for the same user, acting as mcp-gateway', async () => {
    const subject = await gatewayCrmToken('crm.read crm.write', true);
    const result = await exchange(idp, ...gateway, {
      subject_token: subject,
      audience: DEFAULT_RESOURCES.crm,
      scope: 'crm.read',
    });
    assert.equal(result.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token');
    assert.equal(result.token_type.toLowerCase(), 'bearer');
    const claims = await validateAccessToken(idp, result.access_token, DEFAULT_RESOURCES.crm);
    const before = decodeJwt(subject);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.client_id, 'mcp-gateway');
    assert.deepEqual(claims.act, { sub: 'mcp-gateway' });
    assert.equal(claims.scope, 'crm.read');
    assert.equal(claims.acr, 'mfa');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.auth_time, before.auth_time);
    assert.ok(claims.exp <= (before.exp ?? 0));
  });

  it('nests the earlier actor along the demo chain: gateway, then insights server, then CRM', async () => {
    const subject = (
      await userTokens(idp, {
        user: 'alice',
        password: 'alice',
        scope: 'insights.read crm.read',
        resource: DEFAULT_RESOURCES['gateway-insights'],
      })
    ).access_token;
    const first = await exchange(idp, ...gateway, {
      subject_token: subject,
      resource: DEFAULT_RESOURCES.insights,
    });
    const firstClaims = decodeJwt(first.access_token);
    assert.equal(firstClaims.aud, DEFAULT_RESOURCES.insights);
    assert.equal(firstClaims.scope, 'insights.read crm.read');
    const second = await exchange(idp, ...insights, {
      subject_token: first.access_token,
      audience: DEFAULT_RESOURCES.crm,
      scope: 'crm.read',
    });
    const claims = await validateAccessToken(idp, second.access_token, DEFAULT_RESOURCES.crm);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.client_id, 'insights-server');
    assert.deepEqual(claims.act, { sub: 'insights-server', act: { sub: 'mcp-gateway' } });
    assert.equal(claims.scope, 'crm.read');
  });

  it('keeps scope within requested ∩ held ∩ allowed', async () => {
    const subject = await gatewayCrmToken('crm.read');
    const result = await exchange(idp, ...gateway, {
      subject_token: subject,
      audience: DEFAULT_RESOURCES.crm,
      scope: 'crm.read crm.write',
    });
    assert.equal(decodeJwt(result.access_token).scope, 'crm.read');
  });

  it('refuses when no requested scope is held (invalid_scope)', async () => {
    const subject = await gatewayCrmToken('crm.read');
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, {
          subject_token: subject,
          audience: DEFAULT_RESOURCES.crm,
          scope: 'crm.write',
        }),
      ),
      'invalid_scope',
    );
  });

  it('never outlives the subject token', async () => {
    const exp = Math.floor(Date.now() / 1000) + 30;
    const subject = await forge({ exp });
    const result = await exchange(idp, ...gateway, {
      subject_token: subject,
      audience: DEFAULT_RESOURCES.crm,
    });
    assert.ok((decodeJwt(result.access_token).exp ?? Infinity) <= exp);
    assert.ok((result.expires_in ?? Infinity) <= 30);
  });

  it('refuses an audience the client may not obtain (invalid_target)', async () => {
    const subject = await forge({
      aud: DEFAULT_RESOURCES.insights,
      scope: 'insights.read crm.read',
    });
    assert.equal(
      await oauthError(
        exchange(idp, ...insights, {
          subject_token: subject,
          audience: DEFAULT_RESOURCES.insights,
        }),
      ),
      'invalid_target',
    );
    assert.equal(
      await oauthError(
        exchange(idp, ...insights, {
          subject_token: subject,
          audience: DEFAULT_RESOURCES['gateway-notes'],
        }),
      ),
      'invalid_target',
    );
  });

  it('refuses an unknown audience (invalid_target)', async () => {
    const subject = await gatewayCrmToken();
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, { subject_token: subject, audience: 'http://127.0.0.1:1/x' }),
      ),
      'invalid_target',
    );
  });

  it("refuses a subject token issued for another client's resource (invalid_grant)", async () => {
    const subject = await gatewayCrmToken();
    assert.equal(
      await oauthError(
        exchange(idp, ...insights, { subject_token: subject, audience: DEFAULT_RESOURCES.crm }),
      ),
      'invalid_grant',
    );
  });

  it('refuses an expired subject token (invalid_grant)', async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    const subject = await forge({ iat: past - 300, exp: past });
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, { subject_token: subject, audience: DEFAULT_RESOURCES.crm }),
      ),
      'invalid_grant',
    );
  });

  it('refuses a subject token signed by a key the IdP does not hold (invalid_grant)', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const subject = await new SignJWT({
      sub: 'alice',
      aud: DEFAULT_RESOURCES['gateway-crm'],
      scope: 'crm.read',
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'pinned-es256' })
      .setIssuer(idp.issuer)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, { subject_token: subject, audience: DEFAULT_RESOURCES.crm }),
      ),
      'invalid_grant',
    );
  });

  it('honours may_act: only the named actor may exchange', async () => {
    const forOther = await forge({ may_act: { sub: 'someone-else' } });
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, { subject_token: forOther, audience: DEFAULT_RESOURCES.crm }),
      ),
      'invalid_grant',
    );
    const forGateway = await forge({ may_act: { sub: 'mcp-gateway' } });
    const ok = await exchange(idp, ...gateway, {
      subject_token: forGateway,
      audience: DEFAULT_RESOURCES.crm,
    });
    assert.equal(decodeJwt(ok.access_token).may_act, undefined);
  });

  it('refuses a delegation chain deeper than the maximum (invalid_grant)', async () => {
    const subject = await forge({ act: { sub: 'a', act: { sub: 'b', act: { sub: 'c' } } } });
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, { subject_token: subject, audience: DEFAULT_RESOURCES.crm }),
      ),
      'invalid_grant',
    );
  });

  it('omits act only for a client allowed to impersonate', async () => {
    const subject = await gatewayCrmToken();
    const result = await exchange(idp, 'impersonator', 'impersonator-secret', {
      subject_token: subject,
      audience: DEFAULT_RESOURCES.crm,
    });
    const claims = decodeJwt(result.access_token);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.act, undefined);
  });

  it('accepts an opaque subject token (looked up in the IdP)', async () => {
    const subject = (
      await userTokens(idp, {
        user: 'alice',
        password: 'alice',
        scope: 'notes.read',
        resource: DEFAULT_RESOURCES['gateway-notes'],
      })
    ).access_token;
    const result = await exchange(idp, ...gateway, {
      subject_token: subject,
      audience: 'http://127.0.0.1:5003/mcp',
    });
    const claims = decodeJwt(result.access_token);
    assert.equal(claims.aud, 'http://127.0.0.1:5003/mcp');
    assert.equal(claims.acr, 'pwd');
    assert.deepEqual(claims.act, { sub: 'mcp-gateway' });
  });

  it('refuses a client that is not allowed the grant (unauthorized_client)', async () => {
    const subject = await gatewayCrmToken();
    assert.equal(
      await oauthError(
        exchange(idp, DEV_CLIENTS.ciBot.clientId, DEV_CLIENTS.ciBot.clientSecret, {
          subject_token: subject,
          audience: DEFAULT_RESOURCES.crm,
        }),
      ),
      'unauthorized_client',
    );
  });

  it('answers invalid_request for a missing audience, a wrong subject_token_type or an actor_token', async () => {
    const subject = await gatewayCrmToken();
    assert.equal(
      await oauthError(exchange(idp, ...gateway, { subject_token: subject })),
      'invalid_request',
    );
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, {
          subject_token: subject,
          audience: DEFAULT_RESOURCES.crm,
          subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        }),
      ),
      'invalid_request',
    );
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, {
          subject_token: subject,
          audience: DEFAULT_RESOURCES.crm,
          actor_token: subject,
          actor_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        }),
      ),
      'invalid_request',
    );
  });

  it('refuses two target audiences at once (invalid_target)', async () => {
    const subject = await gatewayCrmToken();
    assert.equal(
      await oauthError(
        exchange(idp, ...gateway, {
          subject_token: subject,
          audience: DEFAULT_RESOURCES.crm,
          resource: DEFAULT_RESOURCES.insights,
        }),
      ),
      'invalid_target',
    );
  });
});
