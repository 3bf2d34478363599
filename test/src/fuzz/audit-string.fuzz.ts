/**
 * Fuzz properties of `sanitizeAuditString`, the escaping every attacker-controlled audit field
 * passes through: no raw control or line-separator character survives, the length is capped, and
 * text without such characters under the cap is kept as it is.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AUDIT_STRING_MAX, sanitizeAuditString } from '@mcp-iam/core';
import { fuzzProperty, type FuzzProperty } from './property.js';

// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 600 }),
  fc.string({
    unit: fc.constantFrom(
      '\u0000',
      '\r',
      '\n',
      '\u001b',
      '[',
      '3',
      '1',
      'm',
      '\u0085',
      '\u2028',
      'a',
    ),
    maxLength: 600,
  }),
);

/** Every property of this target. */
export const properties: FuzzProperty[] = [
  fuzzProperty(
    'sanitizeAuditString',
    'leaves no raw control character and caps the length',
    fc.property(hostileText, fc.integer({ min: 1, max: 300 }), (text, max) => {
      const out = sanitizeAuditString(text, max);
      assert.ok(!RAW.test(out));
      // Each kept character becomes at most six ("\u001b"), plus the "…[+N]" marker.
      assert.ok(out.length <= max * 6 + 16);
    }),
  ),
  fuzzProperty(
    'sanitizeAuditString',
    'keeps text without control characters under the cap unchanged',
    fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (text) => {
      fc.pre(!RAW.test(text) && !text.includes('\\u'));
      assert.equal(sanitizeAuditString(text, AUDIT_STRING_MAX), text);
    }),
  ),
];
