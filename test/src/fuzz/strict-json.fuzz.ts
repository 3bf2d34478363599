/**
 * Fuzz properties of `parseStrictJson`: on duplicate-free JSON it agrees with `JSON.parse`; it
 * accepts nothing `JSON.parse` rejects; it refuses duplicate member names and deep nesting; and it
 * never throws anything but `StrictJsonError` (no stack overflow, whatever the depth).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MAX_JSON_DEPTH, StrictJsonError, parseStrictJson } from '@mcp-iam/core';
import { fuzzProperty, onlyThrows, type FuzzProperty } from './property.js';

const jsonChar = fc.constantFrom(
  ...'{}[]":,0123456789.eE+- \t\n\rtruefalsnul\\/bfu"aAé\u0000\u2028',
);
/** Text that looks like JSON: serialised values, their mutations, and JSON-alphabet noise. */
export const jsonishText = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc
    .tuple(fc.jsonValue({ maxDepth: 6 }), fc.nat(), fc.string({ unit: jsonChar, maxLength: 3 }))
    .map(([v, at, insert]) => {
      const text = JSON.stringify(v);
      const i = at % (text.length + 1);
      return `${text.slice(0, i)}${insert}${text.slice(i + 1)}`;
    }),
  fc.string({ unit: jsonChar, maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

function jsonParses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Every property of this target. */
export const properties: FuzzProperty[] = [
  fuzzProperty(
    'parseStrictJson',
    'agrees with JSON.parse on serialised duplicate-free JSON, compact or indented',
    fc.property(
      fc.jsonValue({ maxDepth: DEFAULT_MAX_JSON_DEPTH - 2 }),
      fc.constantFrom(undefined, 0, 1, 2, '\t', ' \n'),
      (value, space) => {
        const text = JSON.stringify(value, null, space);
        assert.deepEqual(parseStrictJson(text), JSON.parse(text));
      },
    ),
  ),
  fuzzProperty(
    'parseStrictJson',
    'throws only StrictJsonError, and whatever it accepts JSON.parse reads the same way',
    fc.property(jsonishText, (text) => {
      const outcome = onlyThrows(() => parseStrictJson(text), [StrictJsonError]);
      if ('value' in outcome) {
        assert.ok(jsonParses(text), 'accepted text is JSON');
        assert.deepEqual(outcome.value, JSON.parse(text));
      }
    }),
  ),
  fuzzProperty(
    'parseStrictJson',
    'refuses every object with a repeated member name, even when spelled with escapes',
    fc.property(
      fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), {
        minKeys: 1,
        maxKeys: 5,
      }),
      fc.nat(),
      fc.jsonValue({ maxDepth: 2 }),
      fc.boolean(),
      (object, pick, second, escaped) => {
        const names = Object.keys(object);
        const name = names[pick % names.length]!;
        const spelled = escaped
          ? `"${name
              .split('')
              .map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
              .join('')}"`
          : JSON.stringify(name);
        const inner = JSON.stringify(object).slice(1, -1);
        const text = `{${inner},${spelled}:${JSON.stringify(second)}}`;
        const outcome = onlyThrows(() => parseStrictJson(text), [StrictJsonError]);
        assert.ok('error' in outcome, 'a duplicate member is refused');
      },
    ),
  ),
  fuzzProperty(
    'parseStrictJson',
    'refuses nesting beyond the limit at any depth with StrictJsonError (bounded stack)',
    fc.property(
      fc.integer({ min: DEFAULT_MAX_JSON_DEPTH + 1, max: 200_000 }),
      fc.constantFrom('[', '{"a":'),
      (depth, open) => {
        const close = open === '[' ? ']' : '}';
        const text = `${open.repeat(depth)}1${close.repeat(depth)}`;
        const outcome = onlyThrows(() => parseStrictJson(text), [StrictJsonError]);
        assert.ok('error' in outcome);
      },
    ),
  ),
  fuzzProperty(
    'parseStrictJson',
    'accepts nesting up to the configured limit and refuses one more level',
    fc.property(fc.integer({ min: 1, max: 64 }), fc.constantFrom('[', '{"k":'), (limit, open) => {
      const close = open === '[' ? ']' : '}';
      const nested = (d: number): string => `${open.repeat(d)}0${close.repeat(d)}`;
      assert.deepEqual(parseStrictJson(nested(limit), limit), JSON.parse(nested(limit)));
      assert.throws(() => parseStrictJson(nested(limit + 1), limit), StrictJsonError);
    }),
  ),
];
