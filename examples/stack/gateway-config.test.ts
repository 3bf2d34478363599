// The demo's gateway configuration template is valid for the gateway's own loader once the
// stack's variables are set, and names an unset variable instead of starting without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfigFile } from '@mcp-iam/gateway';
import { GATEWAY_CONFIG } from './stack.js';

const env = {
  GATEWAY_PORT: '18080',
  GATEWAY_PUBLIC_URL: 'http://127.0.0.1:18080',
  IDP_ISSUER: 'http://127.0.0.1:14000',
  IDP_INTROSPECTION_ENDPOINT: 'http://127.0.0.1:14000/token/introspection',
  GATEWAY_SECRET: 'gateway-secret',
  CRM_URL: 'http://127.0.0.1:15001/mcp',
  INSIGHTS_URL: 'http://127.0.0.1:15002/mcp',
  NOTES_COMMAND: '/usr/bin/node',
  NOTES_SERVER: '/srv/notes/main.js',
  AUDIT_DIR: '/tmp/audit',
  AUDIT_FINGERPRINT_KEY: 'a-fingerprint-key-of-some-length',
};

test('gateway.yaml loads with the variables the stack sets, with the three demo routes', async () => {
  const { config } = await loadConfigFile(GATEWAY_CONFIG, { env });
  assert.deepEqual(
    config.routes.map((r) => r.path),
    ['/crm/mcp', '/insights/mcp', '/notes/mcp'],
  );
  assert.equal(config.public_url, env.GATEWAY_PUBLIC_URL);
});

test('gateway.yaml refuses to load when a variable it needs is unset', async () => {
  const { GATEWAY_SECRET: _unset, ...partial } = env;
  await assert.rejects(loadConfigFile(GATEWAY_CONFIG, { env: partial }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /GATEWAY_SECRET/);
    return true;
  });
});
