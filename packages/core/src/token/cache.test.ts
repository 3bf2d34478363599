// Specification of the validated-token cache: bounded by entries and bytes, never beyond exp or the cap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VerificationKey } from '../issuer/keyset.js';
import type { Principal } from '../principal/principal.js';
import { tokenCacheKey, ValidatedTokenCache } from './cache.js';

const key = { alg: 'ES256' } as unknown as VerificationKey;
const principal = (exp: number): Principal =>
  ({
    issuer: 'i',
    subject: 's',
    kind: 'user',
    clientId: 'c',
    scopes: [],
    audience: [],
    expiresAt: exp,
    tokenFormat: 'jwt',
    claims: {},
  }) as Principal;

test('keys entries by SHA-256 of the whole token, never the token itself', () => {
  const k = tokenCacheKey('header.payload.signature');
  assert.equal(k.length, 43);
  assert.ok(!k.includes('payload'));
  assert.notEqual(tokenCacheKey('a.b.c'), tokenCacheKey('a.b.d'));
});

test('expires an entry at the configured cap and never after exp', () => {
  let now = 1_000_000;
  const cache = new ValidatedTokenCache({ maxTtlSec: 60 }, () => now);
  cache.set('long', principal(now / 1000 + 3600), key, now / 1000 + 3600, 100);
  cache.set('short', principal(now / 1000 + 10), key, now / 1000 + 10, 100);
  now += 11_000;
  assert.ok(cache.get('long'));
  assert.equal(cache.get('short'), undefined);
  now += 50_000;
  assert.equal(cache.get('long'), undefined);
  assert.equal(cache.state().size, 0);
});

test('evicts the oldest entries beyond maxEntries and maxBytes', () => {
  const exp = Date.now() / 1000 + 3600;
  const byCount = new ValidatedTokenCache({ maxEntries: 3 });
  for (const k of ['a', 'b', 'c', 'd']) byCount.set(k, principal(exp), key, exp, 10);
  assert.equal(byCount.get('a'), undefined);
  assert.ok(byCount.get('d'));
  assert.equal(byCount.state().size, 3);
  const byBytes = new ValidatedTokenCache({ maxBytes: 250 });
  for (const k of ['a', 'b', 'c']) byBytes.set(k, principal(exp), key, exp, 100);
  assert.equal(byBytes.get('a'), undefined);
  assert.ok(byBytes.state().bytes <= 250);
  byBytes.set('huge', principal(exp), key, exp, 1000);
  assert.equal(byBytes.get('huge'), undefined);
});

test('does not store already expired results or when disabled by maxEntries 0', () => {
  const exp = Date.now() / 1000 - 1;
  const cache = new ValidatedTokenCache();
  cache.set('old', principal(exp), key, exp, 10);
  assert.equal(cache.state().size, 0);
  const off = new ValidatedTokenCache({ maxEntries: 0 });
  off.set('x', principal(exp + 100), key, exp + 100, 10);
  assert.equal(off.state().size, 0);
});
