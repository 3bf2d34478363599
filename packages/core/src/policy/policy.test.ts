import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { McpOperation } from '../mcp/operation.js';
import type { Principal } from '../principal/principal.js';
import { PolicyError, decide, filterList, validatePolicy } from './policy.js';

const NOW = 1_800_000_000;
function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    issuer: 'https://idp.example',
    subject: 'alice',
    kind: 'user',
    clientId: 'agent',
    scopes: [],
    audience: ['https://mcp.example/mcp'],
    expiresAt: NOW + 300,
    tokenFormat: 'jwt',
    claims: {},
    ...overrides,
  };
}
const call = (tool: string): McpOperation => ({ kind: 'request', method: 'tools/call', tool });
const method = (m: string): McpOperation => ({ kind: 'request', method: m });

const policy = validatePolicy({
  default: 'deny',
  methods: { initialize: {}, 'tools/list': {}, 'tools/call': { scopes: ['mcp.use'] } },
  tools: {
    search: { scopes: ['crm.read'] },
    update: { scopes: ['crm.write'], acr: ['mfa'], max_age: 300 },
    admin: { clients: ['console'], claims: { groups: 'admins' } },
    delegated_ok: { actors: ['insights'], maxDelegationDepth: 1 },
    no_delegation: { allowDelegated: false },
  },
  resources: {
    'crm://contacts/*': { scopes: ['crm.read'] },
    'crm://contacts/secret': { scopes: ['crm.admin'] },
  },
  prompts: { summary: {} },
  scopeHierarchy: { 'crm.write': ['crm.read'], 'crm.admin': ['crm.write'] },
});

test('default deny: an unlisted method or tool is forbidden', () => {
  const p = principal({ scopes: ['mcp.use', 'crm.read'] });
  assert.equal(decide(method('resources/templates/list'), p, policy).kind, 'forbidden');
  assert.equal(decide(call('not_listed'), p, policy).kind, 'forbidden');
  assert.equal(decide(method('initialize'), p, policy).kind, 'allow');
});

test('default allow: an unlisted operation is allowed, listed requirements still apply', () => {
  const open = validatePolicy({ default: 'allow', tools: { search: { scopes: ['crm.read'] } } });
  assert.equal(decide(call('anything'), principal(), open).kind, 'allow');
  assert.equal(decide(method('ping'), principal(), open).kind, 'allow');
  assert.equal(decide(call('search'), principal(), open).kind, 'insufficient_scope');
});

test('row 37: insufficient_scope lists every scope the operation needs (method and tool)', () => {
  const d = decide(call('search'), principal({ scopes: ['mcp.use'] }), policy);
  assert.equal(d.kind, 'insufficient_scope');
  assert.deepEqual(d.requiredScopes, ['crm.read', 'mcp.use']);
  const none = decide(call('search'), principal(), policy);
  assert.deepEqual(none.requiredScopes, ['crm.read', 'mcp.use']);
});

test('scope hierarchy: a broader scope grants the implied ones', () => {
  assert.equal(
    decide(call('search'), principal({ scopes: ['mcp.use', 'crm.write'] }), policy).kind,
    'allow',
  );
  // Transitive: admin → write → read.
  assert.equal(
    decide(call('search'), principal({ scopes: ['mcp.use', 'crm.admin'] }), policy).kind,
    'allow',
  );
  // The reverse does not hold.
  const d = decide(
    { kind: 'request', method: 'resources/read', resource: 'crm://contacts/secret' },
    principal({ scopes: ['crm.read'] }),
    policy,
  );
  assert.equal(d.kind, 'insufficient_scope');
  assert.deepEqual(d.requiredScopes, ['crm.admin']);
});

test('scope comparison is case-sensitive', () => {
  assert.equal(
    decide(call('search'), principal({ scopes: ['MCP.USE', 'CRM.READ'] }), policy).kind,
    'insufficient_scope',
  );
});

test('resources match exactly first, then by longest prefix', () => {
  const read = (uri: string): McpOperation => ({
    kind: 'request',
    method: 'resources/read',
    resource: uri,
  });
  assert.equal(
    decide(read('crm://contacts/42'), principal({ scopes: ['crm.read'] }), policy).kind,
    'allow',
  );
  assert.equal(
    decide(read('crm://other/42'), principal({ scopes: ['crm.read'] }), policy).kind,
    'forbidden',
  );
});

test('step-up: a missing acr or a stale auth_time asks for stronger authentication (RFC 9470)', () => {
  const scopes = ['mcp.use', 'crm.write'];
  const weak = decide(
    call('update'),
    principal({ scopes, acr: 'pwd', authTime: NOW - 10 }),
    policy,
    { now: NOW },
  );
  assert.equal(weak.kind, 'insufficient_user_authentication');
  assert.ok(weak.kind === 'insufficient_user_authentication');
  assert.deepEqual(weak.acrValues, ['mfa']);
  assert.equal(weak.maxAge, 300);
  const stale = decide(
    call('update'),
    principal({ scopes, acr: 'mfa', authTime: NOW - 301 }),
    policy,
    { now: NOW },
  );
  assert.equal(stale.kind, 'insufficient_user_authentication');
  const noTime = decide(call('update'), principal({ scopes, acr: 'mfa' }), policy, { now: NOW });
  assert.equal(noTime.kind, 'insufficient_user_authentication');
  const fresh = decide(
    call('update'),
    principal({ scopes, acr: 'mfa', authTime: NOW - 299 }),
    policy,
    { now: NOW },
  );
  assert.equal(fresh.kind, 'allow');
});

test('missing scopes are reported before a step-up', () => {
  assert.equal(
    decide(call('update'), principal({ scopes: ['mcp.use'] }), policy, { now: NOW }).kind,
    'insufficient_scope',
  );
});

test('clients and claims: forbidden_client and forbidden_claims', () => {
  const base = { scopes: ['mcp.use'] };
  const forbid = (p: Principal) => {
    const d = decide(call('admin'), p, policy);
    return d.kind === 'forbidden' ? d.reason : d.kind;
  };
  assert.equal(
    forbid(principal({ ...base, clientId: 'agent', claims: { groups: ['admins'] } })),
    'forbidden_client',
  );
  assert.equal(
    forbid(principal({ ...base, clientId: 'console', claims: { groups: ['users'] } })),
    'forbidden_claims',
  );
  assert.equal(
    forbid(principal({ ...base, clientId: 'console', claims: { groups: 'admins' } })),
    'allow',
  );
  assert.equal(
    forbid(principal({ ...base, clientId: 'console', claims: { groups: ['users', 'admins'] } })),
    'allow',
  );
  assert.equal(forbid(principal({ ...base, clientId: 'console', claims: {} })), 'forbidden_claims');
});

test('actors: a delegated token must name a listed current actor, within the depth limit', () => {
  const base = { scopes: ['mcp.use'] };
  const reason = (p: Principal, tool = 'delegated_ok') => {
    const d = decide(call(tool), p, policy);
    return d.kind === 'forbidden' ? d.reason : d.kind;
  };
  assert.equal(reason(principal(base)), 'allow');
  assert.equal(reason(principal({ ...base, actor: { sub: 'insights' } })), 'allow');
  assert.equal(reason(principal({ ...base, actor: { sub: 'mallory' } })), 'forbidden_actor');
  assert.equal(
    reason(principal({ ...base, actor: { sub: 'insights', act: { sub: 'agent' } } })),
    'delegation_too_deep',
  );
  assert.equal(
    reason(principal({ ...base, actor: { sub: 'insights' } }), 'no_delegation'),
    'forbidden_actor',
  );
  assert.equal(reason(principal(base), 'no_delegation'), 'allow');
});

test('notifications, responses, GET and DELETE need only a valid token unless listed', () => {
  const p = principal();
  assert.equal(
    decide({ kind: 'notification', method: 'notifications/initialized' }, p, policy).kind,
    'allow',
  );
  assert.equal(decide({ kind: 'response', method: 'response', id: 1 }, p, policy).kind, 'allow');
  assert.equal(decide({ kind: 'http', method: 'GET' }, p, policy).kind, 'allow');
  assert.equal(decide({ kind: 'http', method: 'PUT' }, p, policy).kind, 'forbidden');
  const strict = validatePolicy({ default: 'deny', methods: { GET: { scopes: ['stream'] } } });
  assert.equal(decide({ kind: 'http', method: 'GET' }, p, strict).kind, 'insufficient_scope');
});

test('policy keys are own properties only (no prototype lookups)', () => {
  assert.equal(
    decide(call('constructor'), principal({ scopes: ['mcp.use'] }), policy).kind,
    'forbidden',
  );
  assert.equal(decide(method('__proto__'), principal(), policy).kind, 'forbidden');
});

test('validatePolicy rejects unknown keys, wrong types and empty decisive lists', () => {
  assert.throws(() => validatePolicy({ default: 'maybe' }), PolicyError);
  assert.throws(() => validatePolicy({ default: 'deny', tool: {} }), /policy.tool: unknown key/);
  assert.throws(
    () => validatePolicy({ default: 'deny', tools: { a: { scope: ['x'] } } }),
    /tools.a.scope/,
  );
  assert.throws(
    () => validatePolicy({ default: 'deny', tools: { a: { scopes: 'x' } } }),
    PolicyError,
  );
  assert.throws(() => validatePolicy({ default: 'deny', tools: { a: { acr: [] } } }), PolicyError);
  assert.throws(
    () => validatePolicy({ default: 'deny', tools: { a: { max_age: -1 } } }),
    PolicyError,
  );
  assert.throws(
    () => validatePolicy({ default: 'deny', tools: { a: { scopes: ['a"b'] } } }),
    PolicyError,
  );
  assert.equal(validatePolicy({}).default, 'deny');
});

test('filterList keeps only what the principal may use', () => {
  const list = {
    tools: [
      { name: 'search' },
      { name: 'update' },
      { name: 'admin' },
      { name: 'unlisted' },
      { bogus: 1 },
    ],
    nextCursor: 'c',
  };
  const p = principal({ scopes: ['mcp.use', 'crm.read'] });
  const out = filterList(list, p, policy, { now: NOW });
  assert.deepEqual(out.tools, [{ name: 'search' }]);
  assert.equal(out.nextCursor, 'c');
  assert.equal(list.tools.length, 5, 'input not modified');
  const withStepUp = filterList(list, p, policy, { now: NOW, includeStepUp: true });
  assert.deepEqual(withStepUp.tools, [{ name: 'search' }, { name: 'update' }]);
  const res = filterList(
    { resources: [{ uri: 'crm://contacts/1' }, { uri: 'crm://contacts/secret' }] },
    p,
    policy,
  );
  assert.deepEqual(res.resources, [{ uri: 'crm://contacts/1' }]);
  const templates = filterList(
    { resourceTemplates: [{ uriTemplate: 'crm://contacts/{id}' }, { uriTemplate: 'crm://{any}' }] },
    p,
    policy,
  );
  assert.deepEqual(templates.resourceTemplates, [{ uriTemplate: 'crm://contacts/{id}' }]);
  const prompts = filterList({ prompts: [{ name: 'summary' }, { name: 'other' }] }, p, policy);
  assert.deepEqual(prompts.prompts, [{ name: 'summary' }]);
});

test('decisions on a validated policy (scopes derived once per requirement) equal those on the same policy built by hand', () => {
  const document = {
    default: 'deny' as const,
    methods: { 'tools/call': { scopes: ['mcp.use'] }, 'tools/list': {} },
    tools: {
      search: { scopes: ['crm.read'] },
      update: { scopes: ['crm.write', 'crm.read'] },
      open: {},
    },
    prompts: { p: { scopes: ['crm.read'] } },
    scopeHierarchy: { 'crm.write': ['crm.read'] },
  };
  const validated = validatePolicy(document);
  const unhierarchical = validatePolicy({ ...document, scopeHierarchy: undefined });
  const handBuilt = document as unknown as Parameters<typeof decide>[2];
  const handBuiltFlat = { ...document, scopeHierarchy: undefined };
  const ops: McpOperation[] = [
    call('search'),
    call('update'),
    call('open'),
    call('unknown'),
    method('tools/list'),
    { kind: 'request', method: 'prompts/get', prompt: 'p' },
  ];
  const grants = [
    [],
    ['mcp.use'],
    ['mcp.use', 'crm.read'],
    ['mcp.use', 'crm.write'],
    ['crm.write'],
  ];
  for (let round = 0; round < 3; round++) {
    for (const op of ops) {
      for (const scopes of grants) {
        const p = principal({ scopes });
        assert.deepEqual(
          decide(op, p, validated),
          decide(op, p, handBuilt),
          `${op.tool} ${scopes}`,
        );
        assert.deepEqual(decide(op, p, unhierarchical), decide(op, p, handBuiltFlat));
      }
    }
  }
  const d = decide(call('update'), principal({ scopes: [] }), validated);
  assert.deepEqual(d.requiredScopes, ['crm.write', 'mcp.use']);
  assert.ok(Object.isFrozen(d.requiredScopes), 'a shared list cannot be changed by one caller');
});
