// Rules for `sanitizeAuditString` on strings that fuzzing produced: the length cap never cuts a
// surrogate pair in half, and lone surrogates in the input do not pass through. Such strings are
// not well-formed Unicode: UTF-8 encoders (files, PostgreSQL drivers) silently replace them with
// U+FFFD, so the stored record would differ from the one written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizeAuditString } from '@mcp-iam/core';

function wellFormed(text: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(text);
}

test('the cap never splits a surrogate pair ("a" × 255 + "😀x", cap 256)', () => {
  const out = sanitizeAuditString(`${'a'.repeat(255)}😀x`);
  assert.ok(wellFormed(out), JSON.stringify(out.slice(-12)));
});

test('a lone surrogate in the input is escaped, not stored raw ("\\ud800")', () => {
  const out = sanitizeAuditString('\ud800');
  assert.ok(wellFormed(out), JSON.stringify(out));
});
