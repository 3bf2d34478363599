/**
 * Fuzz properties of `parseJwtEnvelope`: any string is either a checked envelope or an
 * `InvalidTokenError` with an envelope reason code; well-formed envelopes round-trip; forbidden
 * header members, wrong segment counts, non-canonical base64url and oversized tokens are refused
 * before any JSON is trusted.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidTokenError, parseJwtEnvelope } from '@mcp-iam/core';
import { fuzzProperty, onlyThrows, type FuzzProperty } from './property.js';

const ENVELOPE_CODES = ['token_malformed', 'token_bad_header', 'token_bad_type'];
const FORBIDDEN = [
  'jku',
  'x5u',
  'jwk',
  'x5c',
  'crit',
  'b64',
  'cty',
  'enc',
  'zip',
  'epk',
  'p2s',
  'p2c',
  'iv',
  'tag',
];
const b64u = (value: string | Uint8Array): string => Buffer.from(value).toString('base64url');

const memberName = fc
  .string({ minLength: 1, maxLength: 8 })
  .filter((n) => !FORBIDDEN.includes(n) && !['alg', 'kid', 'typ'].includes(n));
/** A header without forbidden members, with a string `alg` and well-typed `kid`/`typ`. */
export const goodHeader = fc
  .tuple(
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
    fc.dictionary(memberName, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
  )
  .map(([alg, kid, typ, extra]) => ({
    ...extra,
    alg,
    ...(kid !== undefined ? { kid } : {}),
    ...(typ !== undefined ? { typ } : {}),
  }));
/** A JSON object payload. */
export const goodPayload = fc.dictionary(
  fc.string({ maxLength: 10 }),
  fc.jsonValue({ maxDepth: 5 }),
  {
    maxKeys: 8,
  },
);
const signature = fc.uint8Array({ minLength: 1, maxLength: 80 });

const compact = (header: unknown, payload: unknown, sig: Uint8Array): string =>
  `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}.${b64u(sig)}`;

const tokenish = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({
    unit: fc.constantFrom(...'eyJhbGciOiJFUzI1NiJ9.-_=+/ AQ'),
    maxLength: 120,
  }),
  fc
    .tuple(
      goodHeader,
      goodPayload,
      signature,
      fc.nat(),
      fc.string({ unit: 'binary', maxLength: 3 }),
    )
    .map(([h, p, s, at, insert]) => {
      const t = compact(h, p, s);
      const i = at % (t.length + 1);
      return `${t.slice(0, i)}${insert}${t.slice(i + 1)}`;
    }),
  fc
    .tuple(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 }), signature)
    .map(([h, p, s]) => compact(h, p, s)),
);

function refusedWith(token: string, maxLength?: number): string {
  const outcome = onlyThrows(() => parseJwtEnvelope(token, maxLength), [InvalidTokenError]);
  assert.ok('error' in outcome, 'the token is refused');
  return (outcome.error as InvalidTokenError).code;
}

/** Every property of this target. */
export const properties: FuzzProperty[] = [
  fuzzProperty(
    'parseJwtEnvelope',
    'returns an envelope or throws InvalidTokenError with an envelope reason, for any string',
    fc.property(tokenish, (token) => {
      const outcome = onlyThrows(() => parseJwtEnvelope(token), [InvalidTokenError]);
      if ('error' in outcome) {
        assert.ok(ENVELOPE_CODES.includes((outcome.error as InvalidTokenError).code));
        return;
      }
      const { header, payload } = outcome.value;
      assert.equal(typeof header.alg, 'string');
      for (const name of FORBIDDEN) assert.ok(!Object.hasOwn(header, name));
      assert.ok(payload !== null && typeof payload === 'object' && !Array.isArray(payload));
    }),
  ),
  fuzzProperty(
    'parseJwtEnvelope',
    'round-trips a well-formed header and payload exactly as JSON.parse reads them',
    fc.property(goodHeader, goodPayload, signature, (header, payload, sig) => {
      const token = compact(header, payload, sig);
      fc.pre(token.length <= 8192);
      const envelope = parseJwtEnvelope(token);
      assert.deepEqual(envelope.header, JSON.parse(JSON.stringify(header)));
      assert.deepEqual(envelope.payload, JSON.parse(JSON.stringify(payload)));
    }),
  ),
  fuzzProperty(
    'parseJwtEnvelope',
    'refuses any forbidden header member (jku, x5u, jwk, x5c, crit, b64, cty, JWE members) whatever its value',
    fc.property(
      goodHeader,
      goodPayload,
      signature,
      fc.constantFrom(...FORBIDDEN),
      fc.jsonValue({ maxDepth: 2 }),
      (header, payload, sig, member, value) => {
        const token = compact({ ...header, [member]: value }, payload, sig);
        fc.pre(token.length <= 8192);
        assert.equal(refusedWith(token), 'token_bad_header');
      },
    ),
  ),
  fuzzProperty(
    'parseJwtEnvelope',
    'refuses every dot count other than two, including 100 000 dots',
    fc.property(
      fc.oneof(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 3, max: 100_000 })),
      fc.string({ unit: fc.constantFrom(...'abcXYZ019-_'), maxLength: 4 }),
      (dots, filler) => {
        const token = Array.from({ length: dots + 1 }, () => filler).join('.');
        assert.equal(refusedWith(token, 1_000_000), 'token_malformed');
      },
    ),
  ),
  fuzzProperty(
    'parseJwtEnvelope',
    'refuses non-canonical base64url in any segment (padding, standard alphabet, trailing bits)',
    fc.property(
      goodHeader,
      goodPayload,
      signature,
      fc.integer({ min: 0, max: 2 }),
      fc.constantFrom('pad', 'std', 'bits'),
      (header, payload, sig, which, how) => {
        const parts = compact(header, payload, sig).split('.');
        const seg = parts[which]!;
        let changed: string;
        if (how === 'pad') changed = `${seg}=`;
        else if (how === 'std') {
          fc.pre(/[-_]/.test(seg));
          changed = seg.replace(/-/g, '+').replace(/_/g, '/');
        } else {
          fc.pre(seg.length % 4 !== 0);
          const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
          const index = alphabet.indexOf(seg.at(-1)!);
          changed = `${seg.slice(0, -1)}${alphabet[index | 1]}`;
          fc.pre(changed !== seg);
        }
        parts[which] = changed;
        const token = parts.join('.');
        fc.pre(token.length <= 8192);
        assert.equal(refusedWith(token), 'token_malformed');
      },
    ),
  ),
  fuzzProperty(
    'parseJwtEnvelope',
    'refuses a token over the length cap before decoding it, even a well-formed one',
    fc.property(goodHeader, goodPayload, signature, (header, payload, sig) => {
      const token = compact(header, payload, sig);
      fc.pre(token.length > 10);
      assert.equal(refusedWith(token, token.length - 1), 'token_malformed');
    }),
  ),
];
