/**
 * Specification of the route guard built on core's pipeline: which steps a route runs, how lists
 * are filtered (`list_filter`), and the downstream-scope check of token-exchange routes.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  InMemoryAuditSink,
  type AccessTokenVerifier,
  type Principal,
  type TokenExchangeClient,
} from '@mcp-iam/core';
import { testConfig } from '../testing/harness.js';
import type { GuardRequest } from '../server/seam.js';
import { routePipeline } from '../server/routes.js';
import { createGuardFactory, routeResourceServer } from './guard.js';

const POLICY = `    policy:
      default: deny
      methods: { tools/list: {} }
      tools:
        search: { scopes: [crm.read] }
        update: { scopes: [crm.write] }
        wipe: { scopes: [crm.read], acr: [mfa] }
        robot: { clients: [ci-bot] }
`;

function principal(scopes: string[]): Principal {
  return Object.freeze({
    issuer: 'http://idp.test',
    subject: 'alice',
    kind: 'user',
    clientId: 'agent',
    scopes,
    audience: ['http://gateway.test/crm/mcp'],
    acr: 'pwd',
    expiresAt: Math.floor(Date.now() / 1000) + 300,
    tokenFormat: 'jwt',
    claims: {},
  });
}

function verifierOf(p: Principal): AccessTokenVerifier {
  return { verify: async () => p };
}

function listRequest(): GuardRequest {
  const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }));
  const headers = { authorization: 'Bearer t.x', 'content-type': 'application/json' };
  return {
    requestId: 'r',
    method: 'POST',
    path: '/crm/mcp',
    query: '',
    headers,
    headersDistinct: { authorization: ['Bearer t.x'], 'content-type': ['application/json'] },
    headersRepeated: false,
    body,
  };
}

const CLIENT = 'client: { client_id: mcp-gateway, client_secret: s }\n';

const TOOLS = {
  tools: ['search', 'update', 'wipe', 'robot', 'unlisted'].map((name) => ({ name })),
};

async function visibleTools(listFilter: string): Promise<string[]> {
  const config = testConfig(
    'http://127.0.0.1:9/mcp',
    `${listFilter ? `    list_filter: ${listFilter}\n` : ''}${POLICY}`,
  );
  const guards = createGuardFactory({
    verifier: verifierOf(principal(['crm.read'])),
    audit: new InMemoryAuditSink(),
    fingerprintKey: 'k'.repeat(32),
    auditMode: 'strict',
  });
  const decision = await guards(config.routes[0]!, config).authorize(listRequest());
  assert.equal(decision.kind, 'allow');
  if (decision.kind !== 'allow') return [];
  const result = decision.filterList?.('tools/list', TOOLS) as { tools: { name: string }[] };
  return result.tools.map((t) => t.name);
}

describe('route guard', () => {
  test('list_filter reachable (the default) keeps what a step-up or more scopes unlock, hides what nothing unlocks', async () => {
    assert.deepEqual(await visibleTools(''), ['search', 'update', 'wipe']);
    assert.deepEqual(await visibleTools('reachable'), ['search', 'update', 'wipe']);
  });

  test('list_filter strict lists only what the caller may call now', async () => {
    assert.deepEqual(await visibleTools('strict'), ['search']);
  });

  test("a route's core steps leave out origin, and a token-exchange route checks its downstream scopes after policy", () => {
    const context = {
      verifier: verifierOf(principal([])),
      audit: new InMemoryAuditSink(),
      fingerprintKey: 'k'.repeat(32),
      auditMode: 'strict' as const,
      exchange: {} as TokenExchangeClient,
    };
    const plain = testConfig('http://127.0.0.1:9/mcp', POLICY);
    assert.deepEqual(routeResourceServer(plain, plain.routes[0]!, context).steps, [
      'operation',
      'bearer',
      'verify',
      'policy',
    ]);
    const exchanging = testConfig(
      'http://127.0.0.1:9/mcp',
      `    downstream: { mode: token-exchange, audience: http://up.test/mcp, scope: crm.read crm.write }\n${POLICY}`,
      CLIENT,
    );
    assert.deepEqual(routeResourceServer(exchanging, exchanging.routes[0]!, context).steps, [
      'operation',
      'bearer',
      'verify',
      'policy',
      'downstream-scope',
    ]);
  });

  test('a token with none of the downstream scopes is refused 403 naming them; one of them is enough', async () => {
    const config = testConfig(
      'http://127.0.0.1:9/mcp',
      `    downstream: { mode: token-exchange, audience: http://up.test/mcp, scope: crm.read crm.write }
    policy: { default: allow }
`,
      CLIENT,
    );
    for (const [scopes, allowed] of [
      [[], false],
      [['notes.read'], false],
      [['crm.write'], true],
    ] as const) {
      const audit = new InMemoryAuditSink();
      const guards = createGuardFactory({
        verifier: verifierOf(principal([...scopes])),
        audit,
        fingerprintKey: 'k'.repeat(32),
        auditMode: 'strict',
        exchange: {} as TokenExchangeClient,
      });
      const decision = await guards(config.routes[0]!, config).authorize(listRequest());
      assert.equal(decision.kind === 'allow', allowed, scopes.join(' '));
      if (decision.kind === 'deny') {
        assert.equal(decision.status, 403);
        assert.match(
          decision.headers['www-authenticate'] ?? '',
          /error="insufficient_scope", scope="crm.read crm.write"/,
        );
        assert.equal(audit.records[0]?.reason, 'insufficient_scope');
        assert.deepEqual(audit.records[0]?.scopesRequired, ['crm.read', 'crm.write']);
      }
    }
  });
});

describe('route pipeline', () => {
  test("the gateway lists every step of a route in order, its own and the guard's", () => {
    const config = testConfig(
      'http://127.0.0.1:9/mcp',
      `    downstream: { mode: token-exchange, audience: http://up.test/mcp, scope: crm.read }\n${POLICY}`,
      CLIENT,
    );
    const route = config.routes[0]!;
    const guard = createGuardFactory({
      verifier: verifierOf(principal([])),
      audit: new InMemoryAuditSink(),
      fingerprintKey: 'k'.repeat(32),
      auditMode: 'strict',
      exchange: {} as TokenExchangeClient,
    })(route, config);
    assert.deepEqual(routePipeline(route, guard), [
      'request-id',
      'host',
      'path',
      'route',
      'origin',
      'method',
      'media-type',
      'body-limit',
      'operation',
      'bearer',
      'verify',
      'policy',
      'downstream-scope',
      'session',
      'upstream-token',
      'forward',
      'audit',
      'stream',
    ]);
  });
});
