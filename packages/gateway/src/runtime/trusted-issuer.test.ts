/** Specifies how a YAML issuer becomes core's `TrustedIssuer` (names, defaults, strict http). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trustedIssuer } from './start.js';

test('every issuer key of the YAML reaches the verifier under core’s name', () => {
  const mapped = trustedIssuer({
    issuer: 'https://idp.example.com',
    jwks_uri: 'https://idp.example.com/jwks',
    algorithms: ['ES256', 'Ed25519'],
    token_types: ['at+jwt', 'jwt'],
    scope_claim: 'scp',
    client_id_claim: 'azp',
    clock_tolerance_s: 10,
    max_token_lifetime_s: 3600,
    require_jti: true,
    key_refresh_interval_s: 120,
    stale_if_error_s: 60,
    fetch_timeout_ms: 2000,
    introspection: {
      endpoint: 'https://idp.example.com/introspect',
      client_id: 'gw',
      client_secret: 's',
    },
  });
  assert.deepEqual(mapped, {
    issuer: 'https://idp.example.com',
    jwksUri: 'https://idp.example.com/jwks',
    algorithms: ['ES256', 'EdDSA'],
    tokenTypes: ['at+jwt', 'jwt'],
    scopeClaim: 'scp',
    clientIdClaim: 'azp',
    clockToleranceSec: 10,
    maxTokenLifetimeSec: 3600,
    requireJti: true,
    keyRefreshIntervalSec: 120,
    staleIfErrorSec: 60,
    fetchTimeoutMs: 2000,
    format: 'both',
    introspection: {
      endpoint: 'https://idp.example.com/introspect',
      clientId: 'gw',
      clientSecret: 's',
    },
    allowInsecureLoopbackHttp: false,
  });
});

test('an issuer without introspection is JWT-only and https-only by default', () => {
  const mapped = trustedIssuer({ issuer: 'https://idp.example.com' });
  assert.equal(mapped.format, 'jwt');
  assert.equal(mapped.allowInsecureLoopbackHttp, false);
  assert.equal(mapped.introspection, undefined);
});
