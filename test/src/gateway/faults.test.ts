/**
 * IdP faults (SECURITY-CASES rows 57 and 61), with a `FaultInjectingIdpProxy` between the gateway
 * and the development IdP. Row 57: with the IdP unreachable when the gateway starts, a request
 * with a valid token gets 503 with `Retry-After` (never 401, which would make the client drop a
 * good token), and the gateway recovers once the IdP is reachable. Row 61: when the token
 * endpoint fails, the request fails with 503/502 and the upstream receives nothing — the caller's
 * token is never forwarded as a fallback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { querySpool } from '@mcp-iam/audit';
import { userAccessToken } from '@mcp-iam/dev-idp';
import { FaultInjectingIdpProxy, type Fault } from './support/fault-proxy.js';
import { callTool, rpc, type RpcAnswer } from './support/rpc.js';
import { startStack, type Stack } from './support/stack.js';

async function stackBehindProxy(
  initial: Fault,
): Promise<{ stack: Stack; proxy: FaultInjectingIdpProxy }> {
  let proxy: FaultInjectingIdpProxy | undefined;
  try {
    const stack = await startStack({
      endpoints: async (issuer) => {
        proxy = await FaultInjectingIdpProxy.start(issuer);
        proxy.setDefault(initial);
        return {
          jwksUri: `${proxy.url}/jwks`,
          introspection: `${proxy.url}/token/introspection`,
          tokenEndpoint: `${proxy.url}/token`,
        };
      },
    });
    assert.ok(proxy);
    return { stack, proxy };
  } catch (error) {
    await proxy?.close();
    throw error;
  }
}

function traced(): { traceId: string; headers: Record<string, string> } {
  const traceId = randomBytes(16).toString('hex');
  return {
    traceId,
    headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
  };
}

/** The audit records of one answered request, found by the gateway's own request id. */
async function auditOf(stack: Stack, answer: RpcAnswer) {
  const requestId = answer.headers.get('x-request-id');
  assert.match(String(requestId), /^[0-9a-f]{32}$/);
  const records = await querySpool(stack.auditDir, { limit: 100_000 });
  return records.filter((r) => r.requestId === requestId);
}

function assertUnavailable(answer: RpcAnswer, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${answer.status} ${answer.text}`);
  const retryAfter = Number(answer.headers.get('retry-after'));
  assert.ok(
    Number.isInteger(retryAfter) && retryAfter > 0,
    `${what}: Retry-After is a positive integer`,
  );
  const challenge = answer.headers.get('www-authenticate') ?? '';
  assert.ok(!/invalid_token/.test(challenge), `${what}: the token is not called invalid`);
}

describe('row 57: IdP unreachable when the gateway starts', () => {
  let stack: Stack;
  let proxy: FaultInjectingIdpProxy;

  before(async () => {
    ({ stack, proxy } = await stackBehindProxy('reset'));
  });
  after(async () => {
    await stack?.close();
    await proxy?.close();
  });

  it('answers a valid token with 503 and Retry-After (not 401), audited as error, and serves it once the IdP is back', async () => {
    const token = (
      await userAccessToken({
        issuer: stack.idp.issuer,
        user: 'alice',
        password: 'alice',
        scope: 'crm.read',
        resource: stack.routes.crm,
      })
    ).access_token;
    const { headers } = traced();
    const down = await rpc(stack.routes.crm, token, 'tools/list', {}, headers);
    assertUnavailable(down, 'JWT route with the key set unreachable');
    assert.equal(stack.crm.requests.length, 0, 'nothing reached the upstream');
    const records = await auditOf(stack, down);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.outcome, 'error');
    assert.equal(records[0]?.reason, 'issuer_unavailable');
    const ready = await fetch(`${stack.base}/readyz`);
    await ready.text();
    assert.equal(ready.status, 503, 'not ready while the IdP is unreachable');

    const notes = (
      await userAccessToken({
        issuer: stack.idp.issuer,
        user: 'alice',
        password: 'alice',
        scope: 'notes.read',
        resource: stack.routes.notes,
      })
    ).access_token;
    assertUnavailable(
      await callTool(stack.routes.notes, notes, 'list_notes'),
      'opaque route with introspection unreachable',
    );

    proxy.setDefault('pass');
    let answer = down;
    for (let attempt = 0; attempt < 40 && answer.status !== 200; attempt += 1) {
      await sleep(500);
      answer = await rpc(stack.routes.crm, token, 'tools/list');
    }
    assert.equal(answer.status, 200, `recovered after the IdP came back: ${answer.text}`);
    const list = await callTool(stack.routes.notes, notes, 'list_notes');
    assert.equal(list.status, 200, list.text);
  });
});

describe('row 61: token exchange endpoint failing', () => {
  let stack: Stack;
  let proxy: FaultInjectingIdpProxy;

  before(async () => {
    ({ stack, proxy } = await stackBehindProxy('pass'));
  });
  after(async () => {
    await stack?.close();
    await proxy?.close();
  });

  const freshToken = async (): Promise<string> =>
    (
      await userAccessToken({
        issuer: stack.idp.issuer,
        user: 'alice',
        password: 'alice',
        scope: 'crm.read',
        resource: stack.routes.crm,
      })
    ).access_token;

  for (const [fault, status, reason] of [
    ['reset', 503, 'token_exchange_failed'],
    ['unavailable', 503, 'token_exchange_failed'],
    ['garbage', 502, 'token_exchange_invalid'],
  ] as const) {
    it(`a token endpoint that ${fault === 'reset' ? 'drops the connection' : fault === 'unavailable' ? 'answers 503' : 'answers an invalid response'} gives ${status} ${reason} and the upstream receives nothing`, async () => {
      proxy.setPath('/token', fault);
      try {
        const token = await freshToken();
        const before = stack.crm.requests.length;
        const { headers } = traced();
        const answer = await callTool(
          stack.routes.crm,
          token,
          'search_contacts',
          { query: 'ada' },
          headers,
        );
        if (status === 503) assertUnavailable(answer, fault);
        else assert.equal(answer.status, status, answer.text);
        assert.ok(!answer.text.includes(token));
        assert.equal(
          stack.crm.requests.length,
          before,
          'no fallback to forwarding the caller token',
        );
        assert.ok(
          proxy.seen.some((s) => s.path === '/token' && s.fault === fault),
          'the exchange was attempted',
        );
        const records = await auditOf(stack, answer);
        assert.equal(records.length, 1);
        assert.equal(records[0]?.outcome, 'error');
        assert.equal(records[0]?.reason, reason);
        assert.equal(records[0]?.status, status);
      } finally {
        proxy.setPath('/token', undefined);
      }
    });
  }

  it('serves the same request once the token endpoint works again', async () => {
    const answer = await callTool(stack.routes.crm, await freshToken(), 'search_contacts', {
      query: 'ada',
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(stack.crm.requests.length, 1);
  });
});
