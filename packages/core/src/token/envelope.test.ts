// Specification of the strict JWT envelope (SECURITY-CASES rows 7–10, 17–20, 22, 23 at envelope level).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidTokenError } from '../errors.js';
import { decodeCanonicalBase64url, parseJwtEnvelope, splitCompact } from './envelope.js';
import { parseStrictJson, StrictJsonError } from './strict-json.js';

const b64u = (s: string): string => Buffer.from(s).toString('base64url');
const SIG = b64u('signature-bytes');
const HEADER = '{"alg":"ES256","typ":"at+jwt","kid":"k1"}';
const PAYLOAD = '{"iss":"https://idp.example.com","sub":"alice"}';
const token = (h = HEADER, p = PAYLOAD, s = SIG): string => `${b64u(h)}.${b64u(p)}.${s}`;

function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof InvalidTokenError && e.code === code);
}

test('accepts a well-formed compact JWS and returns header and payload', () => {
  const env = parseJwtEnvelope(token());
  assert.equal(env.header.alg, 'ES256');
  assert.equal(env.payload.sub, 'alice');
});

test('rejects a token above the size cap before parsing it (row 7)', () => {
  const big = token(HEADER, JSON.stringify({ pad: 'x'.repeat(70_000) }));
  rejects(() => parseJwtEnvelope(big), 'token_malformed');
  rejects(() => parseJwtEnvelope(token(), 20), 'token_malformed');
});

test('rejects 100 000 dots, two segments and five segments (row 8)', () => {
  rejects(() => parseJwtEnvelope('.'.repeat(100_000), 200_000), 'token_malformed');
  rejects(() => parseJwtEnvelope(`${b64u(HEADER)}.${b64u(PAYLOAD)}`), 'token_malformed');
  rejects(() => parseJwtEnvelope(`${token()}.a.b`), 'token_malformed');
  assert.equal(splitCompact('a.b.c.d.e'), 4);
  assert.equal(splitCompact('.'.repeat(100_000)), 4);
});

test('rejects padding, inner spaces and non-zero trailing bits in any segment (row 9)', () => {
  const h = b64u(HEADER);
  const p = b64u(PAYLOAD);
  rejects(() => parseJwtEnvelope(`${h}=.${p}.${SIG}`), 'token_malformed');
  rejects(() => parseJwtEnvelope(`${h}.${p.slice(0, 5)} ${p.slice(5)}.${SIG}`), 'token_malformed');
  rejects(() => parseJwtEnvelope(`${h}.${p}.${SIG}+`), 'token_malformed');
  // "QQ" is canonical for 0x41; "QR" decodes to the same byte with non-zero trailing bits.
  assert.deepEqual([...decodeCanonicalBase64url('QQ', 'x')], [0x41]);
  rejects(() => decodeCanonicalBase64url('QR', 'x'), 'token_malformed');
  rejects(() => parseJwtEnvelope(`${h}.${p}.QR`), 'token_malformed');
  rejects(() => parseJwtEnvelope(`${h}.${p}.`), 'token_malformed');
});

test('rejects header or payload that is not JSON, is an array, or nests 100 000 deep (row 10)', () => {
  rejects(() => parseJwtEnvelope(token('not json')), 'token_malformed');
  rejects(() => parseJwtEnvelope(token(HEADER, '[1,2]')), 'token_malformed');
  rejects(() => parseJwtEnvelope(token(HEADER, '"str"')), 'token_malformed');
  const deep = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  rejects(() => parseJwtEnvelope(token(HEADER, deep), 1_000_000), 'token_malformed');
  assert.throws(() => parseStrictJson('['.repeat(100_000)), StrictJsonError);
});

test('rejects duplicate member names in header or payload (row 22)', () => {
  rejects(
    () => parseJwtEnvelope(token('{"alg":"ES256","typ":"at+jwt","alg":"none"}')),
    'token_malformed',
  );
  rejects(
    () => parseJwtEnvelope(token(HEADER, '{"sub":"alice","sub":"admin"}')),
    'token_malformed',
  );
  rejects(
    () => parseJwtEnvelope(token(HEADER, '{"act":{"sub":"a","sub":"b"}}')),
    'token_malformed',
  );
  // An escaped name that decodes to the same member is still a duplicate.
  rejects(() => parseJwtEnvelope(token(HEADER, '{"sub":"a","\\u0073ub":"b"}')), 'token_malformed');
});

test('rejects jku, x5u, jwk and x5c header members (rows 17, 18)', () => {
  for (const member of [
    '"jku":"https://evil.example/jwks"',
    '"x5u":"https://evil.example/c"',
    '"jwk":{"kty":"EC"}',
    '"x5c":["MII"]',
  ]) {
    rejects(
      () => parseJwtEnvelope(token(`{"alg":"ES256","typ":"at+jwt",${member}}`)),
      'token_bad_header',
    );
  }
});

test('rejects crit in any form, b64, cty and JWE members (rows 19, 20, 23)', () => {
  for (const member of [
    '"crit":["exp"]',
    '"crit":[]',
    '"crit":["alg"]',
    '"crit":"b64"',
    '"b64":false',
    '"b64":true',
    '"cty":"JWT"',
    '"enc":"A256GCM"',
    '"zip":"DEF"',
  ]) {
    rejects(
      () => parseJwtEnvelope(token(`{"alg":"ES256","typ":"at+jwt",${member}}`)),
      'token_bad_header',
    );
  }
});

test('rejects alg that is not a string, and kid that is not a bounded string (rows 13, 16)', () => {
  rejects(() => parseJwtEnvelope(token('{"alg":["ES256"],"typ":"at+jwt"}')), 'token_bad_header');
  rejects(() => parseJwtEnvelope(token('{"typ":"at+jwt"}')), 'token_bad_header');
  rejects(() => parseJwtEnvelope(token('{"alg":"ES256","kid":5}')), 'token_bad_header');
  rejects(
    () => parseJwtEnvelope(token(`{"alg":"ES256","kid":"${'k'.repeat(300)}"}`)),
    'token_bad_header',
  );
});

test('rejects invalid UTF-8 in the payload', () => {
  const bad = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url');
  rejects(() => parseJwtEnvelope(`${b64u(HEADER)}.${bad}.${SIG}`), 'token_malformed');
});

test('parses what JSON.parse parses when there are no duplicates', () => {
  const text =
    '{"a":[1,-2.5e3,true,false,null,{"b":"\\u00e9\\n\\"x\\""}],"__proto__":{"polluted":1}}';
  const value = parseStrictJson(text) as Record<string, unknown>;
  assert.deepEqual(value, JSON.parse(text));
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.throws(() => parseStrictJson('{"a":1} x'), StrictJsonError);
  assert.throws(() => parseStrictJson('{"a":01}'), StrictJsonError);
  assert.throws(() => parseStrictJson('{"a":"\u0001"}'), StrictJsonError);
});
