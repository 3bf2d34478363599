/** Specifies which IdPs `check` recognises by their `typ`, and the warning for a `token_types` that leaves it out. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IssuerMetadata } from '@mcp-iam/core';
import { knownTokenType, tokenTypeFinding, tokenTypeMismatch } from './token-types.js';

function metadata(issuer: string, document: Record<string, unknown>): IssuerMetadata {
  return { issuer, document, url: `${issuer}/.well-known/openid-configuration`, ...document };
}

test('Entra ID and Keycloak are recognised by issuer URL or metadata; an unknown IdP is not', () => {
  const entra = 'https://login.microsoftonline.com/tenant-id/v2.0';
  assert.deepEqual(knownTokenType(entra, undefined), { idp: 'Microsoft Entra ID', typ: 'JWT' });
  const keycloak = 'https://sso.example.com/realms/corp';
  assert.deepEqual(
    knownTokenType(
      keycloak,
      metadata(keycloak, { token_endpoint: `${keycloak}/protocol/openid-connect/token` }),
    ),
    { idp: 'Keycloak', typ: 'JWT' },
  );
  assert.equal(
    knownTokenType(keycloak, metadata(keycloak, { token_endpoint: `${keycloak}/oauth/token` })),
    undefined,
  );
  assert.equal(knownTokenType('https://idp.example.com', undefined), undefined);
});

test('a typ token_types leaves out is a warning naming the typ, the key and the value to set', () => {
  assert.equal(
    tokenTypeMismatch(
      { issuer: 'https://idp.example.com', token_types: ['at+jwt'] },
      2,
      'JWT',
      'the token',
    ),
    'the token writes typ "JWT", but issuers[2].token_types is [at+jwt]: every such token is ' +
      'refused (token_bad_type); set issuers[2].token_types: [at+jwt, JWT]',
  );
  assert.equal(
    tokenTypeMismatch({ issuer: 'https://idp.example.com', token_types: ['jwt'] }, 0, 'JWT', 'x'),
    undefined,
    'compared as the verifier compares: case-insensitive',
  );
  const finding = tokenTypeFinding(
    { issuer: 'https://login.microsoftonline.com/t/v2.0', token_types: ['JWT'] },
    0,
    undefined,
  );
  assert.equal(finding?.level, 'ok');
});
