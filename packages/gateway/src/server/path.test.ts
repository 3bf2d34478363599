/** Specification of request-target normalisation (row 49). */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { normaliseTarget, stripAccessToken } from './path.js';

describe('normaliseTarget', () => {
  test('keeps a plain path and splits off the query', () => {
    assert.deepEqual(normaliseTarget('/crm/mcp?a=1&b=2'), {
      ok: true,
      path: '/crm/mcp',
      query: 'a=1&b=2',
    });
  });

  test('decodes escaped unreserved characters and upper-cases other escapes', () => {
    assert.deepEqual(normaliseTarget('/%63rm/%7euser/a%2db%e2%82%ac'), {
      ok: true,
      path: '/crm/~user/a-b%E2%82%AC',
      query: '',
    });
  });

  test('refuses encoded separators, //, dot segments, ; parameters, bad escapes and control bytes', () => {
    const cases: [string, string][] = [
      ['/a%2fb', 'encoded_separator'],
      ['/a%5Cb', 'encoded_separator'],
      ['/a\\b', 'encoded_separator'],
      ['//crm/mcp', 'double_slash'],
      ['/crm/./mcp', 'dot_segment'],
      ['/crm/..', 'dot_segment'],
      ['/crm/%2E%2E/x', 'dot_segment'],
      ['/crm/mcp;jsessionid=1', 'path_parameter'],
      ['/crm/mcp%3bx', 'path_parameter'],
      ['/crm/%zz', 'bad_encoding'],
      ['/crm/%2', 'bad_encoding'],
      ['/crm/%00', 'control_character'],
      ['/crm/%0d%0a', 'control_character'],
      ['http://evil/crm/mcp', 'not_origin_form'],
      ['*', 'not_origin_form'],
    ];
    for (const [target, problem] of cases)
      assert.deepEqual(normaliseTarget(target), { ok: false, problem }, target);
  });

  test('stripAccessToken removes every access_token parameter and keeps the others verbatim', () => {
    assert.equal(
      stripAccessToken('a=%20x&access_token=t&b=2&access%5Ftoken=u&access_token'),
      'a=%20x&b=2',
    );
    assert.equal(stripAccessToken(''), '');
  });
});
