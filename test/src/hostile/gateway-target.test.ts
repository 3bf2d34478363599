// The hostile-input suite (SECURITY-CASES rows 1–45) against the running gateway (`startGateway`
// from a YAML file, strict spool audit, real upstream over HTTP): the harness's whole suite (every
// case of the table, the 2 000-random-kid storm of row 15, the attacker-URL tally of row 17,
// revocation within the positive cache TTL of row 45), with the gateway's documented earlier refusal
// of non-JSON bodies (`gatewayCase`) — plus what differs for the gateway as deployed
// from its file alone: node:http's 16 KiB header limit stops the request before routing; the
// gateway audits that refusal and answers 431.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { querySpool } from '@mcp-iam/audit';
import { HostileEnvironment, OTHER_RESOURCE } from './environment.js';
import { buildHostileCases, mintWithJose, toolCall, type HostileCase } from './factory.js';
import {
  defineHostileSuite,
  leakProbes,
  metadataUrlOf,
  runHostileCase,
  sendHostileRequest,
  type HostileTarget,
} from './harness.js';
import { signCompact } from './keys.js';
import { createGatewayTarget, gatewayCase, type GatewayTarget } from './gateway-target.js';

await defineHostileSuite({
  label: 'gateway',
  createTarget: (env) => createGatewayTarget(env),
  adjustCase: gatewayCase,
});

/** Total size of a case's request header values, as sent. */
function headerBytes(c: HostileCase): number {
  let total = 0;
  for (const [name, value] of Object.entries(c.request.headers)) {
    const values = typeof value === 'string' ? [value] : value;
    for (const v of values) total += name.length + 4 + Buffer.byteLength(v);
  }
  return total;
}

describe('gateway with node:http’s default header limit (no configuration key raises it)', () => {
  let env: HostileEnvironment;
  let target: GatewayTarget;

  before(async () => {
    env = await HostileEnvironment.start();
    target = await createGatewayTarget(env, { headerLimit: 'node-default' });
  });
  after(async () => {
    await target?.close();
    await env?.close();
  });

  it('rows 7, 8, 10: headers above 16 KiB get 431 before parsing: no upstream call, no key fetch, no token anywhere, exactly one deny record', async () => {
    const huge = buildHostileCases(env).filter((c) => headerBytes(c) > 16 * 1024);
    assert.ok(huge.length >= 3, `cases with headers above 16 KiB: ${huge.length}`);
    for (const c of huge) {
      const records = target.auditRecords().length;
      const outbound = target.outboundRequests();
      const answer = await sendHostileRequest(target, c);
      assert.equal(answer.status, 431, `row ${c.row}: ${c.name}`);
      assert.equal(target.upstreamCalls(), 0);
      assert.equal(target.outboundRequests(), outbound, 'no outbound request');
      const added = target.auditRecords().slice(records);
      assert.equal(added.length, 1, 'exactly one record for the refused request');
      assert.equal(added[0]?.outcome, 'deny');
      assert.equal(added[0]?.reason, 'invalid_request');
      assert.equal(added[0]?.status, 431);
      for (const probe of leakProbes(c.secret)) {
        assert.ok(!JSON.stringify(added).includes(probe), 'the record does not disclose the token');
        assert.ok(!target.logs().includes(probe), 'the logs do not disclose the token');
        assert.ok(!answer.body.includes(probe), 'the body does not disclose the token');
      }
    }
  });

  it('row 7: a token above the 8 KiB cap in headers under 16 KiB is refused by the gateway with 401 token_too_large and one audit record', async () => {
    const token = `${'a'.repeat(6000)}.${'b'.repeat(6000)}.${'c'.repeat(100)}`;
    await runHostileCase(target as HostileTarget, env, {
      row: 7,
      name: 'a 12 KB token',
      request: {
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: toolCall(),
      },
      expect: { status: 401, error: 'invalid_token', reason: 'token_too_large' },
      secret: token,
    });
  });

  it('the spool read back with querySpool holds the same records as the target reports', async () => {
    const fromSpool = await querySpool(target.auditDir, { limit: 100_000, order: 'asc' });
    const ids = (records: readonly { id?: unknown }[]) => records.map((r) => r.id).sort();
    assert.ok(fromSpool.length >= 1);
    assert.deepEqual(ids(fromSpool), ids(target.auditRecords()));
  });
});

describe('gateway: row 41: one token on two routes with different audiences and policies', () => {
  let env41: HostileEnvironment;
  let crm: GatewayTarget;
  let insights: HostileTarget;

  before(async () => {
    env41 = await HostileEnvironment.start();
    crm = await createGatewayTarget(env41, { secondRoute: true });
    insights = {
      ...crm,
      resourcePath: new URL(OTHER_RESOURCE).pathname,
      resource: OTHER_RESOURCE,
      scopesSupported: ['crm.export'],
    };
  });
  after(async () => {
    await crm?.close();
    await env41?.close();
  });

  const mint = (aud: unknown, scope: string): string => {
    const now = Math.floor(Date.now() / 1000);
    return signCompact(
      JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'main-es256' }),
      JSON.stringify({
        iss: env41.main.issuer,
        sub: 'alice',
        aud,
        client_id: 'crm-app',
        scope,
        iat: now,
        exp: now + 300,
        jti: randomUUID(),
      }),
      env41.keys.mainEs,
    );
  };
  const request = (token: string) => ({
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });

  it('a token for the crm route, accepted there (and cached), is refused on the insights route with 401 token_bad_audience', async () => {
    const token = mint(env41.resource, 'crm.read crm.export');
    const ok = { status: 200, reason: 'allowed' } as const;
    await runHostileCase(crm, env41, {
      row: 41,
      name: 'crm',
      request: request(token),
      expect: ok,
      secret: token,
    });
    await runHostileCase(insights, env41, {
      row: 41,
      name: 'insights after a cache hit',
      request: request(token),
      expect: { status: 401, error: 'invalid_token', reason: 'token_bad_audience' },
      secret: token,
    });
    await runHostileCase(crm, env41, {
      row: 41,
      name: 'crm again',
      request: request(token),
      expect: ok,
      secret: token,
    });
  });

  it('a token naming both audiences is checked against each route’s own policy: allowed on crm, 403 insufficient_scope on insights', async () => {
    const token = mint([env41.resource, OTHER_RESOURCE], 'crm.read');
    await runHostileCase(insights, env41, {
      row: 41,
      name: 'insights first',
      request: request(token),
      expect: {
        status: 403,
        error: 'insufficient_scope',
        reason: 'insufficient_scope',
        scope: 'crm.export',
      },
      secret: token,
    });
    await runHostileCase(crm, env41, {
      row: 41,
      name: 'crm after a cache hit',
      request: request(token),
      expect: { status: 200, reason: 'allowed' },
      secret: token,
    });
    await runHostileCase(insights, env41, {
      row: 41,
      name: 'insights after a cache hit',
      request: request(token),
      expect: {
        status: 403,
        error: 'insufficient_scope',
        reason: 'insufficient_scope',
        scope: 'crm.export',
      },
      secret: token,
    });
  });
});

describe('gateway: rows 49–52: path, Host, Origin and body are checked around authentication', () => {
  let envHttp: HostileEnvironment;
  let gw: GatewayTarget;
  let token: string;

  before(async () => {
    envHttp = await HostileEnvironment.start();
    gw = await createGatewayTarget(envHttp);
    token = await mintWithJose(envHttp);
  });
  after(async () => {
    await gw?.close();
    await envHttp?.close();
  });

  interface Raw {
    status: number;
    body: string;
    challenge: string | undefined;
  }
  const send = (
    path: string,
    headers: Record<string, string> = {},
    body = toolCall(),
  ): Promise<Raw> => {
    const origin = new URL(gw.url);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: origin.hostname,
          port: origin.port,
          path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${token}`,
            'content-length': String(Buffer.byteLength(body)),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: text,
              challenge: res.headers['www-authenticate'],
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  /** Sends one request; returns the answer and the audit records it added. */
  const probe = async (path: string, headers?: Record<string, string>, body?: string) => {
    const records = gw.auditRecords().length;
    const upstream = gw.upstreamCalls();
    const answer = await send(path, headers, body);
    return {
      answer,
      records: gw.auditRecords().slice(records),
      upstream: gw.upstreamCalls() - upstream,
    };
  };

  it('row 49: encoded slashes, //, ; parameters and dot segments are refused with 400 and one deny record; nothing is forwarded', async () => {
    for (const path of [
      '//crm/mcp',
      '/crm/mcp;x',
      '/crm%2fmcp',
      '/crm%2Fmcp',
      '/.well-known/..%2fcrm/mcp',
      '/crm/./mcp',
      '/crm/x/../mcp',
      '/crm/%2e%2e/crm/mcp',
    ]) {
      const { answer, records, upstream } = await probe(path);
      assert.equal(answer.status, 400, path);
      assert.equal(upstream, 0, path);
      assert.equal(records.length, 1, path);
      assert.equal(records[0]!.outcome, 'deny');
      assert.equal(records[0]!.reason, 'invalid_request');
    }
  });

  it('row 49: routes match exactly (a trailing slash or another case is 404, not the route), and an escaped unreserved character is the same path for decision and forwarding', async () => {
    for (const path of ['/crm/mcp/', '/CRM/mcp', '/crm/mcp/x']) {
      const { answer, upstream, records } = await probe(path);
      assert.equal(answer.status, 404, path);
      assert.equal(upstream, 0, path);
      assert.deepEqual(
        records.map((r) => [r.outcome, r.reason, r.status]),
        [['deny', 'route_not_found', 404]],
        `${path}: one deny record`,
      );
    }
    const decoded = await probe('/%63rm/mcp');
    assert.equal(decoded.answer.status, 200);
    assert.equal(decoded.upstream, 1);
    assert.equal(decoded.records.length, 1);
    assert.equal(decoded.records[0]!.route, 'crm');
    const unauthenticated = await probe('/%63rm/mcp', { authorization: '' });
    assert.equal(unauthenticated.answer.status, 401, 'the decoded path is protected too');
    assert.equal(unauthenticated.upstream, 0);
  });

  it('row 50: a Host or Origin outside the allowlist gets 403 before authentication, one deny record, no upstream call', async () => {
    for (const [headers, reason] of [
      [{ host: 'evil.example' }, 'host_forbidden'],
      [{ host: 'mcp.example.test.evil.example' }, 'host_forbidden'],
      [{ origin: 'https://evil.example' }, 'origin_forbidden'],
      [{ origin: 'null' }, 'origin_forbidden'],
    ] as const) {
      const { answer, records, upstream } = await probe('/crm/mcp', headers);
      assert.equal(answer.status, 403, JSON.stringify(headers));
      assert.equal(answer.challenge, undefined);
      assert.equal(upstream, 0);
      assert.equal(records.length, 1);
      assert.equal(records[0]!.reason, reason);
      assert.ok(!answer.body.includes(token));
    }
  });

  it('row 51: an attacker X-Forwarded-Host or Forwarded header does not change the challenge: it names the configured canonical URL', async () => {
    const { answer, upstream } = await probe('/crm/mcp', {
      authorization: '',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'http',
      forwarded: 'host=evil.example;proto=http',
    });
    assert.equal(answer.status, 401);
    assert.equal(upstream, 0);
    assert.ok(answer.challenge?.includes(`resource_metadata="${metadataUrlOf(envHttp.resource)}"`));
    assert.ok(!answer.challenge?.includes('evil.example'));
  });

  it('row 52: an oversized body, a non-JSON body, deep nesting, a batch and a non-JSON content type are refused (413/400/415) and audited; an unknown method is denied by policy and audited with its name', async () => {
    const cases: [string, string, Record<string, string>, number, string][] = [
      ['over 1 MiB', 'x'.repeat(1024 * 1024 + 1), {}, 413, 'body_too_large'],
      ['not JSON', '{not json', {}, 400, 'invalid_request'],
      [
        'nested 100 000 deep',
        '['.repeat(100_000) + ']'.repeat(100_000),
        {},
        400,
        'invalid_request',
      ],
      ['a batch', JSON.stringify([JSON.parse(toolCall())]), {}, 400, 'invalid_request'],
      ['text/plain', toolCall(), { 'content-type': 'text/plain' }, 415, 'unsupported_media_type'],
    ];
    for (const [what, body, headers, status, reason] of cases) {
      const { answer, records, upstream } = await probe('/crm/mcp', headers, body);
      assert.equal(answer.status, status, what);
      assert.equal(upstream, 0, what);
      assert.equal(records.length, 1, what);
      assert.equal(records[0]!.outcome, 'deny', what);
      assert.equal(records[0]!.reason, reason, what);
    }
    const unknown = await probe(
      '/crm/mcp',
      {},
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'contacts/drop_all' }),
    );
    assert.equal(unknown.answer.status, 403);
    assert.equal(unknown.upstream, 0);
    assert.equal(unknown.records.length, 1);
    assert.equal(unknown.records[0]!.reason, 'forbidden');
    assert.equal(unknown.records[0]!.method, 'contacts/drop_all');
  });
});
