// Specification of principal building: scope claim parsing (SECURITY-CASES row 38), act chains,
// authentication context claims, and frozen output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidTokenError } from '../errors.js';
import { actorChain, principalKey } from './principal.js';
import { buildPrincipal, MAX_ACTOR_DEPTH, parseActor, parseScopes } from './build.js';

const ISSUER = 'https://idp.example.com';
const base = {
  iss: ISSUER,
  sub: 'alice',
  client_id: 'app',
  aud: 'https://rs.example.com',
  exp: 2_000_000_000,
  iat: 1_999_999_000,
};

function rejectsClaim(fn: () => unknown, code = 'token_bad_claim'): void {
  assert.throws(fn, (e: unknown) => e instanceof InvalidTokenError && e.code === code);
}

test('splits a scope string on spaces only, drops empties and duplicates, keeps case (row 38)', () => {
  assert.deepEqual(parseScopes('crm.read  crm.write crm.read CRM.READ'), [
    'crm.read',
    'crm.write',
    'CRM.READ',
  ]);
  // A tab is not a separator (RFC 6749 §3.3): the token stays whole and simply matches nothing.
  assert.deepEqual(parseScopes('crm.read\tcrm.write'), ['crm.read\tcrm.write']);
  assert.deepEqual(parseScopes(''), []);
  assert.deepEqual(parseScopes(undefined), []);
});

test('accepts scp and roles arrays per issuer configuration (row 38)', () => {
  const scp = buildPrincipal(
    { ...base, scp: ['a', 'b', 'a'] },
    { issuer: ISSUER, scopeClaim: 'scp' },
    'jwt',
  );
  assert.deepEqual(scp.scopes, ['a', 'b']);
  const scpString = buildPrincipal(
    { ...base, scp: 'a b' },
    { issuer: ISSUER, scopeClaim: 'scp' },
    'jwt',
  );
  assert.deepEqual(scpString.scopes, ['a', 'b']);
  const roles = buildPrincipal(
    { ...base, roles: ['Admin'], scope: 'ignored' },
    { issuer: ISSUER, scopeClaim: 'roles' },
    'jwt',
  );
  assert.deepEqual(roles.scopes, ['Admin']);
});

test('rejects a scope claim that is neither a string nor an array of strings, without crashing (row 38)', () => {
  for (const scope of [5, { a: 1 }, ['a', 1], null, true]) {
    rejectsClaim(() => buildPrincipal({ ...base, scope }, { issuer: ISSUER }, 'jwt'));
  }
});

test('builds a nested act chain and keeps only sub, iss and client_id', () => {
  const actor = parseActor({
    sub: 'agent',
    client_id: 'agent-app',
    extra: 'dropped',
    act: { sub: 'gateway', iss: ISSUER },
  });
  assert.deepEqual(actor, {
    sub: 'agent',
    client_id: 'agent-app',
    act: { sub: 'gateway', iss: ISSUER },
  });
  assert.deepEqual(actorChain({ actor }), ['agent', 'gateway']);
});

test(`rejects an act chain deeper than ${MAX_ACTOR_DEPTH} or of the wrong shape`, () => {
  let deep: Record<string, unknown> = { sub: 'last' };
  for (let i = 0; i < MAX_ACTOR_DEPTH; i++) deep = { sub: `a${i}`, act: deep };
  rejectsClaim(() => parseActor(deep));
  let ok: Record<string, unknown> = { sub: 'last' };
  for (let i = 0; i < MAX_ACTOR_DEPTH - 1; i++) ok = { sub: `a${i}`, act: ok };
  assert.equal(actorChain({ actor: parseActor(ok) }).length, MAX_ACTOR_DEPTH);
  for (const act of [
    'agent',
    [{ sub: 'a' }],
    { client_id: 'x' },
    { sub: 5 },
    { sub: 'a', iss: 1 },
    null,
  ]) {
    rejectsClaim(() => parseActor(act));
  }
});

test('maps the configured client id claim and fails when it or sub is missing', () => {
  const p = buildPrincipal(
    { ...base, client_id: undefined, cid: 'okta-app' },
    { issuer: ISSUER, clientIdClaim: 'cid' },
    'jwt',
  );
  assert.equal(p.clientId, 'okta-app');
  rejectsClaim(
    () => buildPrincipal({ ...base, client_id: undefined }, { issuer: ISSUER }, 'jwt'),
    'token_missing_claim',
  );
  rejectsClaim(
    () => buildPrincipal({ ...base, sub: undefined }, { issuer: ISSUER }, 'jwt'),
    'token_missing_claim',
  );
  const cc = buildPrincipal({ ...base, sub: undefined }, { issuer: ISSUER }, 'opaque', {
    subjectFallbackToClientId: true,
  });
  assert.equal(cc.subject, 'app');
});

test('checks the shapes of acr, amr, auth_time and cnf', () => {
  rejectsClaim(() => buildPrincipal({ ...base, acr: 1 }, { issuer: ISSUER }, 'jwt'));
  rejectsClaim(() => buildPrincipal({ ...base, amr: 'pwd' }, { issuer: ISSUER }, 'jwt'));
  rejectsClaim(() => buildPrincipal({ ...base, auth_time: '1' }, { issuer: ISSUER }, 'jwt'));
  rejectsClaim(() => buildPrincipal({ ...base, cnf: 'x' }, { issuer: ISSUER }, 'jwt'));
});

test('returns a deeply frozen principal that does not alias the input claims', () => {
  const claims: Record<string, unknown> = { ...base, cnf: { jkt: 'x' }, nested: { list: [1] } };
  const p = buildPrincipal(claims, { issuer: ISSUER }, 'jwt');
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.claims) && Object.isFrozen(p.scopes));
  assert.ok(Object.isFrozen((p.claims.nested as { list: number[] }).list));
  (claims.cnf as Record<string, unknown>).jkt = 'changed';
  assert.deepEqual(p.cnf, { jkt: 'x' });
  assert.deepEqual(p.audience, ['https://rs.example.com']);
  assert.equal(p.expiresAt, 2_000_000_000);
  assert.equal(p.issuedAt, 1_999_999_000);
});

test('kind: a token with a user sub is a user; no sub, or sub equal to the client id, is a client', () => {
  const mapping = { issuer: ISSUER };
  assert.equal(buildPrincipal(base, mapping, 'jwt').kind, 'user');
  assert.equal(buildPrincipal({ ...base, sub: 'app' }, mapping, 'jwt').kind, 'client');
  const { sub: _sub, ...noSub } = base;
  const machine = buildPrincipal(noSub, mapping, 'opaque', { subjectFallbackToClientId: true });
  assert.equal(machine.subject, 'app');
  assert.equal(machine.kind, 'client');
});

test('row 81: principal keys differ whenever issuer, kind or subject differ, whatever the strings hold', () => {
  const triples: Array<[string, 'user' | 'client', string]> = [
    ['https://idp.example.com', 'user', 'alice'],
    ['https://partner.example.com', 'user', 'alice'],
    ['https://idp.example.com', 'client', 'alice'],
    ['https://idp.example.com', 'user', 'bob'],
    // Separator tricks that break a plain concatenation.
    ['https://idp.example.com\u0000user', 'user', 'alice'],
    ['https://idp.example.com', 'user', 'user\u0000alice'],
    ['a","user","b', 'user', 'c'],
    ['a', 'user', 'b","user","c'],
    ['https://idp.example.com|user', 'user', 'alice'],
    ['https://idp.example.com', 'user', 'user|alice'],
  ];
  const keys = triples.map(([issuer, kind, subject]) => principalKey({ issuer, kind, subject }));
  assert.equal(new Set(keys).size, triples.length);
  for (const [i, key] of keys.entries()) assert.deepEqual(JSON.parse(key), triples[i]);
});

test('a principal without a kind (a plain JavaScript verifier) is keyed as a user', () => {
  const legacy = { issuer: ISSUER, subject: 'alice' } as Parameters<typeof principalKey>[0];
  assert.equal(
    principalKey(legacy),
    principalKey({ issuer: ISSUER, kind: 'user', subject: 'alice' }),
  );
});
