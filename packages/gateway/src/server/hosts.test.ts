/** Specification of the Host and Origin allowlists (rows 50–51). */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  defaultAllowedHosts,
  defaultAllowedOrigins,
  isHostAllowed,
  isOriginAllowed,
} from './hosts.js';

describe('Host and Origin allowlists', () => {
  test('default hosts come from public_url (with and without its default port) and the listen address', () => {
    assert.deepEqual(
      defaultAllowedHosts('https://mcp.example.com/base', { host: '127.0.0.1', port: 8080 }),
      ['mcp.example.com', 'mcp.example.com:443', '127.0.0.1:8080'],
    );
    assert.deepEqual(defaultAllowedHosts('http://gw.local:8443', { host: '0.0.0.0', port: 8443 }), [
      'gw.local:8443',
    ]);
    assert.deepEqual(defaultAllowedHosts('http://gw.local:8443', { host: '::1', port: 1 }), [
      'gw.local:8443',
      '[::1]:1',
    ]);
  });

  test('Host matching is exact apart from case', () => {
    const allowed = new Set(['mcp.example.com']);
    assert.equal(isHostAllowed('MCP.example.com', allowed), true);
    assert.equal(isHostAllowed('mcp.example.com.evil.test', allowed), false);
    assert.equal(isHostAllowed('evil.test', allowed), false);
    assert.equal(isHostAllowed(undefined, allowed), false);
  });

  test('only listed origins pass; null and malformed origins never do', () => {
    const allowed = new Set(defaultAllowedOrigins('https://mcp.example.com/x'));
    assert.equal(isOriginAllowed('https://mcp.example.com', allowed), true);
    for (const origin of [
      'null',
      'https://mcp.example.com.evil.test',
      'http://mcp.example.com',
      'https://mcp.example.com/',
      'garbage',
    ])
      assert.equal(isOriginAllowed(origin, allowed), false, origin);
  });
});
