/**
 * Specifies how a YAML issuer becomes core's `TrustedIssuer` (names, defaults, strict http), and
 * how core's issuer rules reach the gateway user: at the YAML key, worded with YAML keys.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdpFetchError, IssuerOptionError } from '@mcp-iam/core';
import { z } from 'zod';
import { ConfigError, formatConfigIssue } from './errors.js';
import {
  YAML_KEY_OF_ISSUER_OPTION,
  describeIssuerError,
  issuerKeyPath,
  trustedIssuer,
  verifierProblems,
} from './issuer.js';
import { loadConfig } from './loader.js';
import { issuerSchema } from './schema.js';

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

/** A minimal valid file with `issuer` as the one issuer's YAML lines (indented under `issuers:`). */
function file(issuerLines: string, extra = ''): string {
  return `public_url: https://gw.example.com
issuers:
${issuerLines}
routes:
  - name: crm
    path: /crm/mcp
    upstream: { url: https://crm.example.com/mcp }
${extra}audit: { sink: spool, path: ./data/audit }
`;
}

function problems(text: string): string[] {
  try {
    loadConfig(text, { fileName: 'gateway.yaml', env: {}, rules: [verifierProblems] });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map(formatConfigIssue);
  }
  return [];
}

test('core’s issuer rules are reported at the YAML key, naming YAML keys and never core’s options', () => {
  const cases: Array<[string, string]> = [
    [
      '  - issuer: http://127.0.0.1:4000',
      'gateway.yaml:3:13: issuers[0].issuer: uses http; set issuers[0].allow_insecure_loopback_http: true to allow loopback http',
    ],
    [
      '  - issuer: https://idp.example.com\n    jwks_uri: http://127.0.0.1:4000/jwks',
      'gateway.yaml:4:15: issuers[0].jwks_uri: uses http; set issuers[0].allow_insecure_loopback_http: true to allow loopback http',
    ],
    [
      '  - issuer: https://idp.example.com\n    jwks_uri: http://idp.example.com/jwks\n    allow_insecure_loopback_http: true',
      'gateway.yaml:4:15: issuers[0].jwks_uri: must use https (http is allowed only for loopback hosts)',
    ],
    [
      '  - issuer: https://idp.example.com\n    introspection: { endpoint: https://idp.example.com/i, client_id: gw }',
      'gateway.yaml:4:20: issuers[0].introspection.client_secret: must be a non-empty string',
    ],
    [
      '  - issuer: https://idp.example.com\n    token_types: []',
      'gateway.yaml:4:18: issuers[0].token_types: must not be empty',
    ],
    [
      '  - issuer: https://idp.example.com\n    format: opaque',
      "gateway.yaml:4:13: issuers[0].format: 'opaque' needs introspection settings",
    ],
  ];
  for (const [lines, expected] of cases) {
    const found = problems(file(lines));
    assert.deepEqual(found, [expected]);
    assert.doesNotMatch(found.join('\n'), /[a-z][A-Z]/, 'no camelCase option name');
  }
});

test('loaded without the verifier rules, a file keeps an issuer core would refuse (servers with other verifiers)', () => {
  const { config } = loadConfig(file('  - issuer: http://idp.test'), { env: {} });
  assert.equal(config.issuers[0]?.issuer, 'http://idp.test');
});

test('client.token_endpoint over http needs the first issuer’s allow_insecure_loopback_http', () => {
  const text = file('  - issuer: https://idp.example.com', '').replace(
    'routes:',
    'client: { client_id: gw, token_endpoint: http://127.0.0.1:4000/token }\nroutes:',
  );
  assert.deepEqual(problems(text), [
    'gateway.yaml:4:42: client.token_endpoint: uses http; set issuers[0].allow_insecure_loopback_http: true to allow loopback http',
  ]);
});

test('a route names at least one issuer, and leaves at most one that introspects', () => {
  const intro = (host: string) =>
    `  - issuer: https://${host}\n    introspection: { endpoint: https://${host}/i, client_id: gw, client_secret: s }`;
  const two = `${intro('a.example.com')}\n${intro('b.example.com')}`;
  assert.deepEqual(problems(file(two)), [
    'gateway.yaml:8:5: routes[0]: issuers https://a.example.com, https://b.example.com all introspect opaque tokens; list at most one of them in routes[0].issuers (or set format: jwt on the others)',
  ]);
  const restricted = file(two).replace(
    '    path: /crm/mcp\n',
    '    path: /crm/mcp\n    issuers: [https://a.example.com]\n',
  );
  assert.deepEqual(problems(restricted), []);
  const none = file('  - issuer: https://idp.example.com').replace(
    '    path: /crm/mcp\n',
    '    path: /crm/mcp\n    issuers: []\n',
  );
  assert.deepEqual(problems(none), [
    'gateway.yaml:7:14: routes[0].issuers: must name at least one issuer (leave it out to accept all)',
  ]);
});

test('every YAML key the option table names is a key of issuers[] in the schema', () => {
  for (const [option, key] of Object.entries(YAML_KEY_OF_ISSUER_OPTION)) {
    let shape: z.ZodType = issuerSchema;
    for (const part of key.split('.')) {
      const object = (shape instanceof z.ZodOptional ? shape.unwrap() : shape) as z.ZodObject;
      assert.ok(part in object.shape, `${option} → ${key}`);
      shape = object.shape[part] as z.ZodType;
    }
  }
  assert.equal(
    issuerKeyPath(2, 'introspection.clientSecret'),
    'issuers[2].introspection.client_secret',
  );
  assert.equal(issuerKeyPath(0, 'discovered jwks_uri'), 'discovered jwks_uri');
});

test('a discovery error wrapping an option problem is worded with YAML keys', () => {
  const cause = new IssuerOptionError({
    option: 'discovered jwks_uri',
    problem: 'uses http',
    remedy: {
      option: 'allowInsecureLoopbackHttp',
      value: 'true',
      effect: 'to allow loopback http',
    },
  });
  const error = new IdpFetchError(`metadata at https://idp.example.com/x: ${cause.message}`, {
    cause,
  });
  assert.equal(
    describeIssuerError(error, 1),
    'metadata at https://idp.example.com/x: discovered jwks_uri uses http; set issuers[1].allow_insecure_loopback_http: true to allow loopback http',
  );
});
