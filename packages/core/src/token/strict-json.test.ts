import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStrictJson, parseStrictJsonSlowly, StrictJsonError } from './strict-json.js';

const refuses = (text: string, maxDepth = 16) =>
  assert.throws(
    () => parseStrictJson(text, maxDepth),
    (e: unknown) => e instanceof StrictJsonError,
    text,
  );

test('row 22: duplicate members are refused, also when the colon count of the strings could hide them', () => {
  for (const text of [
    '{"a":1,"a":2}',
    '{"a":"x:y","a":1}', // the dropped member's string holds a colon
    '{"a":1,"a":"x:y"}',
    '{"a:b":1,"a:b":2}', // colons in the duplicated name itself
    '{"a":"::::","a":"::::"}',
    '{"x":{"a":[1,{"b":2,"b":3}]}}',
    '{"a":1,"\\u0061":2}', // the same name written with an escape
    '{"a\\"":1,"a\\"":2}',
    '{"u":"http://x","u":"http://x"}',
    '{"__proto__":1,"__proto__":2}',
  ]) {
    refuses(text);
  }
});

test('valid JSON without duplicates parses as JSON.parse reads it, colons and escapes included', () => {
  for (const text of [
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"s","arguments":{"q":"a:b"}}}',
    '{"a:b":"c:d","e":["f:g",{"h:i":"j"}]}',
    '{"a":"\\u003a","b":":"}',
    '{"a":"x\\\\","b":1}',
    '["::",":",{"k":":"}]',
    '"a:b"',
    '12',
    '{"__proto__":{"polluted":true}}',
  ]) {
    assert.deepEqual(parseStrictJson(text), JSON.parse(text), text);
  }
  assert.equal(Object.getPrototypeOf(parseStrictJson('{"__proto__":{"x":1}}')), Object.prototype);
});

test('row 10: nesting deeper than the limit is refused, exactly at the limit accepted', () => {
  assert.deepEqual(parseStrictJson('[[["x:y"]]]', 3), [[['x:y']]]);
  refuses('[[["x:y"]]]', 2);
  refuses('{"a":{"b":{"c":1}}}', 2);
  refuses('['.repeat(100_000) + ']'.repeat(100_000));
});

// A small deterministic generator of JSON texts: objects with names drawn from a tiny alphabet
// (so duplicates are frequent), strings with colons, quotes and escapes, varying depth.
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}
const PIECES = ['a', ':', 'b', '\\u0061', '\\u003a', '\\"', '\\\\', 'é', '::'];
function randomText(random: () => number, depth: number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const str = (): string => {
    let s = '';
    const n = Math.floor(random() * 3);
    for (let i = 0; i < n; i++) s += pick(PIECES);
    return `"${s}"`;
  };
  const r = random();
  if (depth > 4 || r < 0.35) return pick(['1', 'true', 'null', '-2.5e3', str(), str()]);
  const n = Math.floor(random() * 4);
  const items: string[] = [];
  if (r < 0.55) {
    for (let i = 0; i < n; i++) items.push(randomText(random, depth + 1));
    return `[${items.join(',')}]`;
  }
  for (let i = 0; i < n; i++) items.push(`${str()}:${randomText(random, depth + 1)}`);
  return `{${items.join(',')}}`;
}

test('the native fast path accepts and refuses exactly what the strict parser does (20 000 random texts)', () => {
  const random = generator(2026);
  let refused = 0;
  for (let i = 0; i < 20_000; i++) {
    const text = randomText(random, 0);
    const maxDepth = 1 + Math.floor(random() * 5);
    let expected: unknown;
    let expectedError = false;
    try {
      expected = parseStrictJsonSlowly(text, maxDepth);
    } catch (e) {
      assert.ok(e instanceof StrictJsonError);
      expectedError = true;
    }
    if (expectedError) {
      refused++;
      refuses(text, maxDepth);
    } else {
      assert.deepEqual(parseStrictJson(text, maxDepth), expected, text);
    }
  }
  assert.ok(refused > 1000 && refused < 19_000, `both outcomes are exercised (${refused} refused)`);
});
