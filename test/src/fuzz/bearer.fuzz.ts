/**
 * Fuzz properties of `extractBearerToken`: whatever the headers, query and form hold, it returns a
 * token that is a b64token from the single Authorization header, reports absence, or throws one of
 * its two documented error classes; the size cap is decided from the header length alone.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_MAX_BEARER_LENGTH,
  InvalidRequestError,
  InvalidTokenError,
  extractBearerToken,
  stripAccessToken,
  type HeaderRecord,
} from '@mcp-iam/core';
import { fuzzProperty, onlyThrows, type FuzzProperty } from './property.js';

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const b64char = fc.constantFrom(
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/',
);
/** A token in the RFC 6750 b64token grammar. */
export const b64token = fc
  .tuple(fc.string({ unit: b64char, minLength: 1, maxLength: 120 }), fc.nat({ max: 2 }))
  .map(([body, pad]) => `${body}${'='.repeat(pad)}`);

const schemes = fc.oneof(
  fc.mixedCase(fc.constant('bearer')),
  fc.constantFrom('Basic', 'Digest', 'DPoP', 'Bearerx', 'Bear', 'Negotiate'),
  fc.string({ maxLength: 8 }),
);
const authorizationValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc
    .tuple(schemes, fc.constantFrom('', ' ', '  ', '\t', ' \t'), fc.oneof(b64token, fc.string()))
    .map(([scheme, space, token]) => `${scheme}${space}${token}`),
  fc.nat({ max: 400 }).map((n) => `Bearer ${'a'.repeat(n)}`),
);
const headerRecord: fc.Arbitrary<HeaderRecord> = fc.record(
  {
    authorization: fc.oneof(authorizationValue, fc.array(authorizationValue, { maxLength: 3 })),
    Authorization: authorizationValue,
    'content-type': fc.constantFrom('application/json', 'application/x-www-form-urlencoded'),
  },
  { requiredKeys: [] },
);
const params = fc.option(
  fc.dictionary(fc.constantFrom('access_token', 'x', 'token'), fc.string({ maxLength: 20 })),
  { nil: undefined },
);
const maxLength = fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined });

function hasAccessToken(source: Readonly<Record<string, unknown>> | undefined): boolean {
  return source !== undefined && Object.hasOwn(source, 'access_token');
}

/** Every property of this target. */
export const properties: FuzzProperty[] = [
  fuzzProperty(
    'extractBearerToken',
    'returns a b64token from the single Authorization header, absence, or a documented error',
    fc.property(headerRecord, params, params, maxLength, (headers, query, form, max) => {
      const outcome = onlyThrows(
        () =>
          extractBearerToken(
            { headers, ...(query ? { query } : {}), ...(form ? { form } : {}) },
            max !== undefined ? { maxTokenLength: max } : {},
          ),
        [InvalidRequestError, InvalidTokenError],
      );
      if ('error' in outcome) {
        const code = (outcome.error as InvalidRequestError).code;
        assert.ok(code === 'invalid_request' || code === 'token_too_large', code);
        return;
      }
      if (outcome.value.kind === 'absent') return;
      const token = outcome.value.token;
      const values = Object.entries(headers)
        .filter(([name, v]) => name.toLowerCase() === 'authorization' && v !== undefined)
        .flatMap(([, v]) => (typeof v === 'string' ? [v] : [...(v as string[])]));
      assert.equal(values.length, 1, 'a token comes from exactly one Authorization header');
      assert.ok(B64TOKEN.test(token), 'the token is a b64token');
      assert.ok(token.length <= (max ?? DEFAULT_MAX_BEARER_LENGTH), 'the token is within the cap');
      assert.ok(/^bearer[ ]/i.test(values[0]!), 'the scheme is Bearer');
      assert.ok(values[0]!.includes(token), 'the token is part of the header');
      assert.ok(!hasAccessToken(query) && !hasAccessToken(form), 'no second token elsewhere');
    }),
  ),
  fuzzProperty(
    'extractBearerToken',
    'round-trips any b64token under any case of the scheme and any run of spaces',
    fc.property(
      fc.mixedCase(fc.constant('bearer')),
      fc.integer({ min: 1, max: 4 }),
      b64token,
      fc.constantFrom('', ' ', '\t', '  \t'),
      (scheme, spaces, token, trailing) => {
        const result = extractBearerToken({
          headers: { authorization: `${scheme}${' '.repeat(spaces)}${token}${trailing}` },
        });
        assert.deepEqual(result, { kind: 'token', token });
      },
    ),
  ),
  fuzzProperty(
    'extractBearerToken',
    'refuses a header longer than the cap from its length alone, whatever it holds',
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
      (max, fill) => {
        const header = fill.repeat(Math.ceil((max + 65) / fill.length));
        const outcome = onlyThrows(
          () => extractBearerToken({ headers: { authorization: header } }, { maxTokenLength: max }),
          [InvalidTokenError],
        );
        assert.ok('error' in outcome, 'an oversized header is refused');
        assert.equal((outcome.error as InvalidTokenError).code, 'token_too_large');
      },
    ),
  ),
  fuzzProperty(
    'extractBearerToken',
    'never uses a token that is only in the query or the form body',
    fc.property(b64token, fc.boolean(), (token, inQuery) => {
      const where = { access_token: token };
      const result = extractBearerToken({
        headers: {},
        ...(inQuery ? { query: new URLSearchParams(where) } : { form: where }),
      });
      assert.deepEqual(result, { kind: 'absent' });
    }),
  ),
  fuzzProperty(
    'stripAccessToken',
    'leaves no access_token parameter that URLSearchParams would read, and keeps the others',
    fc.property(
      fc.array(
        fc.tuple(
          fc.oneof(
            fc.constantFrom(
              'access_token',
              'access%5Ftoken',
              '%61ccess_token',
              'access_token%',
              'x',
            ),
            fc.string({ maxLength: 6 }),
          ),
          fc.string({ maxLength: 6 }),
        ),
        { maxLength: 5 },
      ),
      fc.constantFrom('', '#frag', '#a?access_token=1'),
      (pairs, hash) => {
        const query = pairs.map(([n, v]) => `${n}=${encodeURIComponent(v)}`).join('&');
        const url = `/mcp?${query}${hash}`;
        const stripped = stripAccessToken(url);
        const parsed = new URL(stripped, 'https://mcp.example.test');
        assert.equal(parsed.searchParams.has('access_token'), false);
        assert.equal(parsed.hash, new URL(url, 'https://mcp.example.test').hash);
        const before = new URL(url, 'https://mcp.example.test').searchParams;
        const kept = [...before].filter(([n]) => n !== 'access_token');
        assert.deepEqual([...parsed.searchParams], kept);
      },
    ),
  ),
];
