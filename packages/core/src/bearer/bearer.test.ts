import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidRequestError, InvalidTokenError } from '../errors.js';
import { extractBearerToken, stripAccessToken } from './bearer.js';

const TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.sig-_~+/==';

test('row 1: no Authorization header means no credentials (absent)', () => {
  assert.deepEqual(extractBearerToken({ headers: {} }), { kind: 'absent' });
});

test('row 2: an unknown scheme (Basic) is treated as absent', () => {
  assert.deepEqual(extractBearerToken({ headers: { authorization: 'Basic dXNlcjpwYXNz' } }), {
    kind: 'absent',
  });
  assert.deepEqual(extractBearerToken({ headers: { authorization: 'Bearerx abc' } }), {
    kind: 'absent',
  });
});

test('row 3: an empty or all-space bearer token is invalid_request', () => {
  for (const value of ['Bearer', 'Bearer ', 'Bearer     ', 'bearer  \t ']) {
    assert.throws(
      () => extractBearerToken({ headers: { authorization: value } }),
      (e: unknown) => e instanceof InvalidRequestError && e.code === 'invalid_request',
      JSON.stringify(value),
    );
  }
});

test('row 4: the scheme is case-insensitive', () => {
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'BeArEr']) {
    assert.deepEqual(extractBearerToken({ headers: { Authorization: `${scheme} ${TOKEN}` } }), {
      kind: 'token',
      token: TOKEN,
    });
  }
});

test('row 5: two Authorization headers are invalid_request', () => {
  assert.throws(
    () =>
      extractBearerToken({ headers: { authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] } }),
    InvalidRequestError,
  );
  // Same header under two spellings of its name.
  assert.throws(
    () => extractBearerToken({ headers: { authorization: `Bearer a`, Authorization: 'Bearer b' } }),
    InvalidRequestError,
  );
  // A Web Headers object joins repeats with ", " which is outside the b64token grammar.
  assert.throws(
    () => extractBearerToken({ headers: { authorization: 'Bearer a, Bearer b' } }),
    InvalidRequestError,
  );
});

test('row 5: a header token plus access_token in the query or form body is invalid_request', () => {
  const headers = { authorization: `Bearer ${TOKEN}` };
  assert.throws(
    () => extractBearerToken({ headers, query: new URLSearchParams('access_token=x') }),
    InvalidRequestError,
  );
  assert.throws(
    () => extractBearerToken({ headers, form: { access_token: 'x' } }),
    InvalidRequestError,
  );
});

test('row 6: a token only in the query string is treated as absent', () => {
  assert.deepEqual(
    extractBearerToken({ headers: {}, query: new URLSearchParams(`access_token=${TOKEN}`) }),
    {
      kind: 'absent',
    },
  );
  assert.deepEqual(
    extractBearerToken({ headers: {}, form: new URLSearchParams(`access_token=${TOKEN}`) }),
    {
      kind: 'absent',
    },
  );
});

test('row 6: access_token is stripped from URLs before forwarding or logging', () => {
  assert.equal(stripAccessToken('/mcp?access_token=secret&x=1'), '/mcp?x=1');
  assert.equal(stripAccessToken('/mcp?x=1&access_token=a&access%5Ftoken=b&y=2'), '/mcp?x=1&y=2');
  assert.equal(stripAccessToken('https://h/mcp?access_token=secret#frag'), 'https://h/mcp#frag');
  assert.equal(stripAccessToken('/mcp'), '/mcp');
  assert.ok(!stripAccessToken('/p?access_token=s1&access_token=s2').includes('s1'));
});

test('row 7: a 64 KB Authorization header is refused as token_too_large without parsing', () => {
  const huge = `Bearer ${'a'.repeat(64 * 1024)}`;
  assert.throws(
    () => extractBearerToken({ headers: { authorization: huge } }),
    (e: unknown) => e instanceof InvalidTokenError && e.code === 'token_too_large',
  );
  const justOver = `Bearer ${'a'.repeat(101)}`;
  assert.throws(
    () => extractBearerToken({ headers: { authorization: justOver } }, { maxTokenLength: 100 }),
    (e: unknown) => e instanceof InvalidTokenError && e.code === 'token_too_large',
  );
  assert.equal(
    extractBearerToken(
      { headers: { authorization: `Bearer ${'a'.repeat(100)}` } },
      { maxTokenLength: 100 },
    ).kind,
    'token',
  );
});

test('a token outside the b64token grammar is invalid_request', () => {
  for (const bad of ['a b', 'a"b', 'abc=def', '=abc', 'a,b', 'tok\u00e9n']) {
    assert.throws(
      () => extractBearerToken({ headers: { authorization: `Bearer ${bad}` } }),
      InvalidRequestError,
      bad,
    );
  }
  assert.equal(extractBearerToken({ headers: { authorization: 'Bearer abc==' } }).kind, 'token');
});

test('trailing spaces and tabs after the token are dropped; the token itself is kept whole', () => {
  for (const value of [`Bearer ${TOKEN} `, `Bearer   ${TOKEN}\t \t`, `bearer ${TOKEN}\t`]) {
    assert.deepEqual(extractBearerToken({ headers: { authorization: value } }), {
      kind: 'token',
      token: TOKEN,
    });
  }
  assert.throws(
    () => extractBearerToken({ headers: { authorization: `Bearer ${TOKEN} x` } }),
    (e: unknown) => e instanceof InvalidRequestError,
  );
  assert.throws(
    () => extractBearerToken({ headers: { authorization: `Bearer \t${TOKEN}` } }),
    (e: unknown) => e instanceof InvalidRequestError,
  );
});
