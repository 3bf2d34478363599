import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChallengeError, formatChallenge, quoteAuthParam } from './challenge.js';
import {
  insufficientScopeAnswer,
  invalidRequestAnswer,
  invalidTokenAnswer,
  missingTokenAnswer,
  stepUpAnswer,
  unavailableAnswer,
} from './answers.js';
import {
  MetadataConfigError,
  metadataAnswer,
  metadataPath,
  metadataUrl,
  protectedResourceMetadata,
} from './metadata.js';
import { isOriginAllowed } from './origin.js';

const ctx = {
  resourceMetadataUrl: 'https://mcp.example/.well-known/oauth-protected-resource/mcp',
  defaultScopes: ['crm.read'],
};

test('challenge values are quoted with " and \\ escaped', () => {
  assert.equal(quoteAuthParam('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(
    formatChallenge('Bearer', [
      ['error', 'insufficient_scope'],
      ['scope', 'a b'],
      ['skipped', undefined],
      ['max_age', 30],
    ]),
    'Bearer error="insufficient_scope", scope="a b", max_age=30',
  );
});

test('challenge values with CR, LF or other control characters are refused', () => {
  for (const bad of ['a\r\nSet-Cookie: x', 'a\nb', 'a\u0000b', 'a\u007fb', '\u001b[31m']) {
    assert.throws(() => quoteAuthParam(bad), ChallengeError);
  }
  assert.throws(() => formatChallenge('Bearer', [['bad name', 'x']]), ChallengeError);
  assert.throws(() => formatChallenge('Bearer', [['max_age', -1]]), ChallengeError);
  assert.throws(() => formatChallenge('Bearer', [['max_age', 1.5]]), ChallengeError);
});

test('401 without a token names resource_metadata and scope and carries no error', () => {
  const a = missingTokenAnswer(ctx);
  assert.equal(a.status, 401);
  assert.equal(
    a.headers['www-authenticate'],
    `Bearer resource_metadata="${ctx.resourceMetadataUrl}", scope="crm.read"`,
  );
  assert.doesNotMatch(a.headers['www-authenticate']!, /error=/);
});

test('each denial carries the challenge of the error model', () => {
  assert.equal(invalidRequestAnswer(ctx).status, 400);
  assert.match(
    invalidRequestAnswer(ctx).headers['www-authenticate']!,
    /^Bearer error="invalid_request"/,
  );
  const it = invalidTokenAnswer(ctx, 'token_expired');
  assert.equal(it.status, 401);
  assert.equal(
    it.headers['www-authenticate'],
    `Bearer error="invalid_token", resource_metadata="${ctx.resourceMetadataUrl}"`,
  );
  const is = insufficientScopeAnswer(ctx, ['crm.read', 'crm.write']);
  assert.equal(is.status, 403);
  assert.equal(
    is.headers['www-authenticate'],
    `Bearer error="insufficient_scope", scope="crm.read crm.write", resource_metadata="${ctx.resourceMetadataUrl}"`,
  );
  const su = stepUpAnswer(ctx, { acrValues: ['mfa', 'phr'], maxAge: 300 });
  assert.equal(su.status, 401);
  assert.match(
    su.headers['www-authenticate']!,
    /^Bearer error="insufficient_user_authentication", acr_values="mfa phr", max_age=300/,
  );
  const un = unavailableAnswer('issuer_unavailable', 7);
  assert.equal(un.status, 503);
  assert.equal(un.headers['retry-after'], '7');
  assert.equal(un.headers['www-authenticate'], undefined);
});

test('answer bodies say nothing about internals', () => {
  const body = JSON.parse(invalidTokenAnswer(ctx, 'token_bad_signature').body) as Record<
    string,
    string
  >;
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
  assert.doesNotMatch(invalidTokenAnswer(ctx, 'token_bad_signature').body, /signature|kid|jwks/i);
});

test('metadata document: exact resource, header-only bearer, no offline_access', () => {
  const doc = protectedResourceMetadata({
    resource: 'https://mcp.example/mcp',
    authorizationServers: ['https://idp.example'],
    scopesSupported: ['crm.read'],
    resourceName: 'CRM',
  });
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), {
    resource: 'https://mcp.example/mcp',
    authorization_servers: ['https://idp.example'],
    scopes_supported: ['crm.read'],
    bearer_methods_supported: ['header'],
    resource_name: 'CRM',
  });
  assert.throws(
    () => protectedResourceMetadata({ resource: 'https://m/mcp', authorizationServers: [] }),
    MetadataConfigError,
  );
  assert.throws(
    () =>
      protectedResourceMetadata({
        resource: 'https://m/mcp',
        authorizationServers: ['https://i'],
        scopesSupported: ['offline_access'],
      }),
    MetadataConfigError,
  );
  assert.throws(
    () =>
      protectedResourceMetadata({
        resource: 'https://m/mcp#x',
        authorizationServers: ['https://i'],
      }),
    MetadataConfigError,
  );
  assert.throws(
    () => protectedResourceMetadata({ resource: '/mcp', authorizationServers: ['https://i'] }),
    MetadataConfigError,
  );
});

test('metadata is served at the path-inserted well-known URL', () => {
  assert.equal(
    metadataPath('https://mcp.example/mcp'),
    '/.well-known/oauth-protected-resource/mcp',
  );
  assert.equal(
    metadataPath('https://mcp.example/crm/mcp/'),
    '/.well-known/oauth-protected-resource/crm/mcp',
  );
  assert.equal(metadataPath('https://mcp.example/'), '/.well-known/oauth-protected-resource');
  assert.equal(
    metadataUrl('http://127.0.0.1:5001/mcp'),
    'http://127.0.0.1:5001/.well-known/oauth-protected-resource/mcp',
  );
});

test('metadata answers carry CORS for GET and OPTIONS, allowing MCP-Protocol-Version', () => {
  const doc = protectedResourceMetadata({
    resource: 'https://m/mcp',
    authorizationServers: ['https://i'],
  });
  const get = metadataAnswer('GET', doc);
  assert.equal(get.status, 200);
  assert.equal(get.headers['access-control-allow-origin'], '*');
  assert.equal(JSON.parse(get.body).resource, 'https://m/mcp');
  const pre = metadataAnswer('OPTIONS', doc);
  assert.equal(pre.status, 204);
  assert.match(pre.headers['access-control-allow-headers']!, /MCP-Protocol-Version/);
  assert.match(pre.headers['access-control-allow-methods']!, /GET/);
  assert.equal(metadataAnswer('POST', doc).status, 405);
});

test('row 50: Origin must be absent or on the allowlist', () => {
  const allowed = ['https://app.example', 'http://localhost:3000'];
  assert.equal(isOriginAllowed({}, allowed), true);
  assert.equal(isOriginAllowed({ origin: 'https://app.example' }, allowed), true);
  assert.equal(isOriginAllowed({ Origin: 'HTTPS://APP.EXAMPLE:443' }, allowed), true);
  assert.equal(isOriginAllowed({ origin: 'http://localhost:3000' }, allowed), true);
  assert.equal(isOriginAllowed({ origin: 'https://evil.example' }, allowed), false);
  assert.equal(isOriginAllowed({ origin: 'https://app.example.evil.example' }, allowed), false);
  assert.equal(isOriginAllowed({ origin: 'null' }, allowed), false);
  assert.equal(isOriginAllowed({ origin: 'https://app.example/path' }, allowed), false);
  assert.equal(
    isOriginAllowed({ origin: ['https://app.example', 'https://evil.example'] }, allowed),
    false,
  );
});
