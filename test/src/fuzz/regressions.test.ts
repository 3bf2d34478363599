// Exact inputs kept from fuzzing: each one exercised a boundary of a parser or writer (escaped
// duplicate names, prototype-named members, lone surrogates, BOMs, separators, quoting). They pin
// the behaviour the properties found correct, so a regression shows up as a named failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidRequestError,
  InvalidTokenError,
  OperationError,
  StrictJsonError,
  extractBearerToken,
  formatChallenge,
  parseJwtEnvelope,
  parseMcpOperation,
  parseStrictJson,
  stripAccessToken,
} from '@mcp-iam/core';
import { parseSingleChallenge } from '../fixtures/auth-params.js';

const b64u = (text: string): string => Buffer.from(text).toString('base64url');

test('parseStrictJson refuses a duplicate member spelled with a unicode escape: {"a":1,"\\u0061":2}', () => {
  assert.throws(() => parseStrictJson('{"a":1,"\\u0061":2}'), StrictJsonError);
});

test('parseStrictJson keeps "__proto__" as a plain own member and never changes the prototype', () => {
  const value = parseStrictJson('{"__proto__":{"admin":true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ['__proto__']);
  assert.equal((value as { admin?: unknown }).admin, undefined);
});

test('parseStrictJson reads a lone surrogate escape "\\ud800" as JSON.parse does', () => {
  assert.equal(parseStrictJson('"\\ud800"'), JSON.parse('"\\ud800"'));
});

test('parseStrictJson reads -0 and 1e400 as JSON.parse does', () => {
  assert.ok(Object.is(parseStrictJson('-0'), -0));
  assert.equal(parseStrictJson('1e400'), Number.POSITIVE_INFINITY);
});

test('parseStrictJson refuses a leading byte order mark, as JSON.parse does', () => {
  assert.throws(() => parseStrictJson('\ufeff{}'), StrictJsonError);
  assert.throws(() => JSON.parse('\ufeff{}'), SyntaxError);
});

test('parseStrictJson refuses literals glued to other text: "truex", "[nul]", "01"', () => {
  for (const text of ['truex', '[nul]', '01', '-', '1.', '.5', '"\\x"']) {
    assert.throws(() => parseStrictJson(text), StrictJsonError, text);
  }
});

test('parseJwtEnvelope refuses a header whose alg is repeated with a different value', () => {
  const token = `${b64u('{"alg":"ES256","alg":"none"}')}.${b64u('{}')}.${b64u('sig')}`;
  assert.throws(
    () => parseJwtEnvelope(token),
    (e: unknown) => e instanceof InvalidTokenError && e.code === 'token_malformed',
  );
});

test('parseJwtEnvelope refuses 100 000 dots even with a cap that lets the length through', () => {
  assert.throws(
    () => parseJwtEnvelope('.'.repeat(100_000), 1_000_000),
    (e: unknown) => e instanceof InvalidTokenError && e.code === 'token_malformed',
  );
});

test('extractBearerToken treats a tab after the scheme as another scheme (absent), not as a token', () => {
  assert.deepEqual(extractBearerToken({ headers: { authorization: 'Bearer\tabc' } }), {
    kind: 'absent',
  });
});

test('extractBearerToken counts Authorization and authorization keys as two headers', () => {
  assert.throws(
    () => extractBearerToken({ headers: { Authorization: 'Bearer a', authorization: 'Bearer b' } }),
    InvalidRequestError,
  );
});

test('extractBearerToken trims trailing spaces and tabs but keeps b64token padding: "Bearer ab== \\t"', () => {
  assert.deepEqual(extractBearerToken({ headers: { authorization: 'Bearer ab== \t' } }), {
    kind: 'token',
    token: 'ab==',
  });
});

test('parseMcpOperation refuses an empty JSON-RPC batch "[]" with 400', () => {
  assert.throws(
    () =>
      parseMcpOperation({
        httpMethod: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '[]',
      }),
    (e: unknown) => e instanceof OperationError && e.status === 400,
  );
});

test('parseMcpOperation refuses a tools/call whose params.name is an empty string', () => {
  assert.throws(
    () =>
      parseMcpOperation({
        httpMethod: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":""}}',
      }),
    (e: unknown) => e instanceof OperationError && e.code === 'invalid_request',
  );
});

test('stripAccessToken removes percent-encoded spellings of access_token: "acc%65ss_token"', () => {
  assert.equal(stripAccessToken('/mcp?acc%65ss_token=3&x=2#f'), '/mcp?x=2#f');
});

test('formatChallenge escapes quotes and backslashes so the value parses back: a"b\\c', () => {
  const header = formatChallenge('Bearer', [['realm', 'a"b\\c']]);
  assert.equal(header, 'Bearer realm="a\\"b\\\\c"');
  assert.deepEqual(parseSingleChallenge(header).params, [['realm', 'a"b\\c']]);
});
