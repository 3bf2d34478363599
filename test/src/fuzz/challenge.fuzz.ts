/**
 * Fuzz properties of the `WWW-Authenticate` writer (`formatChallenge`, `quoteAuthParam`): every
 * value it writes parses back, with an independent reader, to the same params; no output ever
 * contains CR or LF; values with control or non-ASCII characters are refused with `ChallengeError`.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChallengeError, formatChallenge, quoteAuthParam } from '@mcp-iam/core';
import { parseSingleChallenge } from '../fixtures/auth-params.js';
import { fuzzProperty, onlyThrows, type FuzzProperty } from './property.js';

// Anything but HTAB and printable ASCII: C0 controls and DEL cannot be in a quoted-string, and
// node:http refuses field values above U+00FF (obs-text is obsolete), so the writer refuses all
// non-ASCII too.
const UNSENDABLE = /[^\t\u0020-\u007e]/;
const tokenChar = fc.constantFrom(
  ..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+.^_`|~-",
);
/** An RFC 9110 token. */
export const httpToken = fc.string({ unit: tokenChar, minLength: 1, maxLength: 16 });
/** Values as a challenge may hold: any text, quote- and backslash-heavy text, controls. */
export const paramValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('"', '\\', ' ', ',', '=', 'a', '\t', '\r', '\n'),
    maxLength: 20,
  }),
  fc.webUrl(),
);

/** Every property of this target. */
export const properties: FuzzProperty[] = [
  fuzzProperty(
    'quoteAuthParam',
    'quotes any printable-ASCII value so it parses back unchanged, and refuses controls and non-ASCII',
    fc.property(paramValue, (value) => {
      const outcome = onlyThrows(() => quoteAuthParam(value), [ChallengeError]);
      if ('error' in outcome) {
        assert.ok(UNSENDABLE.test(value), 'only control and non-ASCII characters are refused');
        return;
      }
      assert.ok(!UNSENDABLE.test(value), 'control and non-ASCII characters are never written');
      assert.ok(!/[\r\n]/.test(outcome.value));
      const parsed = parseSingleChallenge(`Bearer v=${outcome.value}`);
      assert.deepEqual(parsed.params, [['v', value]]);
    }),
  ),
  fuzzProperty(
    'formatChallenge',
    'writes challenges that parse back to the same params and never contain CR or LF',
    fc.property(
      httpToken,
      fc.array(
        fc.tuple(
          httpToken,
          fc.oneof(paramValue, fc.nat(), fc.constant(undefined), fc.integer({ min: -5, max: -1 })),
        ),
        { maxLength: 5 },
      ),
      (scheme, params) => {
        const outcome = onlyThrows(() => formatChallenge(scheme, params), [ChallengeError]);
        if ('error' in outcome) {
          assert.ok(
            params.some(
              ([, v]) =>
                (typeof v === 'string' && UNSENDABLE.test(v)) || (typeof v === 'number' && v < 0),
            ),
            'only unsendable values are refused',
          );
          return;
        }
        const header = outcome.value;
        assert.ok(!/[\r\n]/.test(header));
        const parsed = parseSingleChallenge(header);
        assert.equal(parsed.scheme, scheme);
        const expected = params
          .filter(([, v]) => v !== undefined)
          .map(([name, v]) => [name.toLowerCase(), String(v)]);
        assert.deepEqual(parsed.params, expected);
      },
    ),
  ),
  fuzzProperty(
    'formatChallenge',
    'refuses a scheme or param name outside the token grammar',
    fc.property(
      fc
        .string({ minLength: 1, maxLength: 10 })
        .filter((s) => !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(s)),
      fc.boolean(),
      (bad, asScheme) => {
        const outcome = onlyThrows(
          () => (asScheme ? formatChallenge(bad, []) : formatChallenge('Bearer', [[bad, 'x']])),
          [ChallengeError],
        );
        assert.ok('error' in outcome);
      },
    ),
  ),
];
