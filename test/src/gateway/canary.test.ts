/**
 * The canary (SECURITY-CASES rows 48–56, in particular 54): requests of every kind — allowed and
 * refused, person and machine, JWT and opaque — go through every route and downstream mode
 * (HTTP with token exchange, HTTP with no credentials, stdio) carrying identity-claiming headers.
 * Afterwards no upstream has ever seen a caller's token or one of those headers, the audit spool
 * holds exactly one record per request with the right outcome and reason, and neither the spool
 * nor the gateway's log contains any token text.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { querySpool } from '@mcp-iam/audit';
import {
  NIGHTLY_SYNC_PRIVATE_JWK,
  clientCredentialsToken,
  totpNow,
  userAccessToken,
} from '@mcp-iam/dev-idp';
import { rpc, resultText, type RpcAnswer } from './support/rpc.js';
import { startStack, type Stack } from './support/stack.js';

const MARKER = 'canary-identity-5d1e';

/** Headers a client could send to claim an identity or an address; none may reach an upstream. */
const IDENTITY_HEADERS: Record<string, string> = {
  'x-forwarded-user': MARKER,
  'x-forwarded-email': `${MARKER}@example.test`,
  'x-forwarded-for': '203.0.113.54',
  'x-forwarded-host': `${MARKER}.example.test`,
  forwarded: `for=203.0.113.54;host=${MARKER}.example.test`,
  'x-real-ip': '203.0.113.54',
  'x-auth-request-user': MARKER,
  'x-auth-request-email': `${MARKER}@example.test`,
  'x-auth-request-access-token': MARKER,
  'remote-user': MARKER,
  'x-remote-user': MARKER,
  'x-user': MARKER,
  'x-email': `${MARKER}@example.test`,
  'x-mcp-iam-subject': MARKER,
};

interface Exchange {
  readonly label: string;
  readonly route: 'crm' | 'direct' | 'notes';
  readonly token: string | undefined;
  readonly traceId: string;
  readonly expected: { status: number; outcome: 'allow' | 'deny'; reason: string };
  answer?: RpcAnswer;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const JWT_SHAPE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/;

describe('canary: no caller credential or identity header crosses the gateway, every request audited once', () => {
  let stack: Stack;
  const exchanges: Exchange[] = [];
  const callerTokens = new Set<string>();
  let environmentReport = '';

  before(async () => {
    stack = await startStack();
    const issuer = stack.idp.issuer;
    const user = (scope: string, resource: string, mfa = false) =>
      userAccessToken({
        issuer,
        user: 'alice',
        password: 'alice',
        scope,
        resource,
        ...(mfa ? { otp: totpNow('alice'), acrValues: 'mfa' } : {}),
      }).then((t) => t.access_token);
    const aliceCrm = await user('crm.read crm.write', stack.routes.crm);
    const aliceMfa = await user('crm.read crm.write', stack.routes.crm, true);
    const aliceDirect = await user('crm.read', stack.routes.direct);
    const aliceNotes = await user('notes.read notes.write', stack.routes.notes);
    const nightlyRead = (
      await clientCredentialsToken({
        issuer,
        clientId: 'nightly-sync',
        privateJwk: NIGHTLY_SYNC_PRIVATE_JWK,
        scope: 'notes.read',
        resource: stack.routes.notes,
      })
    ).access_token;
    const tampered = `${aliceCrm.slice(0, -4)}${aliceCrm.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    for (const token of [aliceCrm, aliceMfa, aliceDirect, aliceNotes, nightlyRead, tampered]) {
      callerTokens.add(token);
    }

    const plan: Array<[Omit<Exchange, 'traceId'>, string, Record<string, unknown>]> = [
      [
        {
          label: 'list crm tools',
          route: 'crm',
          token: aliceCrm,
          expected: { status: 200, outcome: 'allow', reason: 'allowed' },
        },
        'tools/list',
        {},
      ],
      [
        {
          label: 'search contacts',
          route: 'crm',
          token: aliceCrm,
          expected: { status: 200, outcome: 'allow', reason: 'allowed' },
        },
        'tools/call',
        { name: 'search_contacts', arguments: { query: 'ada' } },
      ],
      [
        {
          label: 'update without MFA',
          route: 'crm',
          token: aliceCrm,
          expected: { status: 401, outcome: 'deny', reason: 'insufficient_user_authentication' },
        },
        'tools/call',
        { name: 'update_contact', arguments: { id: 'c1', name: 'x' } },
      ],
      [
        {
          label: 'update with MFA',
          route: 'crm',
          token: aliceMfa,
          expected: { status: 200, outcome: 'allow', reason: 'allowed' },
        },
        'tools/call',
        { name: 'update_contact', arguments: { id: 'c1', name: 'Ada King' } },
      ],
      [
        {
          label: 'tool outside the policy',
          route: 'crm',
          token: aliceMfa,
          expected: { status: 403, outcome: 'deny', reason: 'forbidden' },
        },
        'tools/call',
        { name: 'delete_everything', arguments: {} },
      ],
      [
        {
          label: 'no token',
          route: 'crm',
          token: undefined,
          expected: { status: 401, outcome: 'deny', reason: 'missing_token' },
        },
        'tools/list',
        {},
      ],
      [
        {
          label: 'tampered signature',
          route: 'crm',
          token: tampered,
          expected: { status: 401, outcome: 'deny', reason: 'token_bad_signature' },
        },
        'tools/list',
        {},
      ],
      [
        {
          label: 'notes token at the crm route',
          route: 'crm',
          token: aliceNotes,
          expected: { status: 401, outcome: 'deny', reason: 'token_bad_audience' },
        },
        'tools/list',
        {},
      ],
      [
        {
          label: 'direct route, mode none',
          route: 'direct',
          token: aliceDirect,
          expected: { status: 200, outcome: 'allow', reason: 'allowed' },
        },
        'tools/call',
        { name: 'search_contacts', arguments: { query: 'ada' } },
      ],
      [
        {
          label: 'stdio environment as alice',
          route: 'notes',
          token: aliceNotes,
          expected: { status: 200, outcome: 'allow', reason: 'allowed' },
        },
        'tools/call',
        { name: 'environment', arguments: {} },
      ],
      [
        {
          label: 'stdio list as nightly-sync',
          route: 'notes',
          token: nightlyRead,
          expected: { status: 200, outcome: 'allow', reason: 'allowed' },
        },
        'tools/call',
        { name: 'list_notes', arguments: {} },
      ],
      [
        {
          label: 'stdio write without notes.write',
          route: 'notes',
          token: nightlyRead,
          expected: { status: 403, outcome: 'deny', reason: 'insufficient_scope' },
        },
        'tools/call',
        { name: 'add_note', arguments: { text: 'x' } },
      ],
    ];
    for (const [spec, method, params] of plan) {
      const traceId = randomBytes(16).toString('hex');
      const exchange: Exchange = { ...spec, traceId };
      exchange.answer = await rpc(stack.routes[spec.route], spec.token, method, params, {
        ...IDENTITY_HEADERS,
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      });
      exchanges.push(exchange);
      if (spec.label === 'stdio environment as alice')
        environmentReport = resultText(exchange.answer.json);
    }
  });
  after(async () => {
    await stack?.close();
  });

  it('answers every request with the status its rule demands', () => {
    for (const exchange of exchanges) {
      assert.equal(
        exchange.answer?.status,
        exchange.expected.status,
        `${exchange.label}: ${exchange.answer?.text}`,
      );
      // Row 85: the request id is the gateway's own, never the trace id the client sent.
      const requestId = exchange.answer?.headers.get('x-request-id');
      assert.match(String(requestId), /^[0-9a-f]{32}$/, exchange.label);
      assert.notEqual(requestId, exchange.traceId, exchange.label);
    }
  });

  it('never lets a caller token reach an HTTP upstream; the token-exchange route sends only an exchanged token, mode none sends none', () => {
    const forwarded = exchanges.filter(
      (e) => e.route !== 'notes' && e.expected.outcome === 'allow',
    );
    const seen = stack.crm.requests;
    assert.equal(
      seen.length,
      forwarded.length,
      'exactly the allowed HTTP requests reached the upstream',
    );
    for (const request of seen) {
      const text = JSON.stringify(request);
      for (const token of callerTokens)
        assert.ok(!text.includes(token), 'a caller token reached the upstream');
      const traceId = /^00-([0-9a-f]{32})-/.exec(String(request.headers.traceparent))?.[1];
      const exchange = exchanges.find((e) => e.traceId === traceId);
      assert.ok(exchange, 'the upstream request carries the trace of a known request');
      if (exchange.route === 'direct') {
        assert.equal(
          request.headers.authorization,
          undefined,
          `${exchange.label}: no credentials in mode none`,
        );
      } else {
        const header = request.headers.authorization ?? '';
        assert.match(header, /^Bearer /);
        const claims = decodeJwt(header.slice('Bearer '.length));
        assert.equal(
          claims.aud,
          stack.crm.url,
          `${exchange.label}: the exchanged token is for the upstream`,
        );
        assert.deepEqual(claims['act'], { sub: 'mcp-gateway' });
      }
    }
  });

  it('never lets a client identity header reach an upstream (HTTP headers, stdio environment and arguments)', () => {
    assert.ok(stack.crm.requests.length > 0);
    for (const request of stack.crm.requests) {
      for (const name of Object.keys(IDENTITY_HEADERS)) {
        if (name === 'x-forwarded-for' || name === 'x-forwarded-host' || name === 'forwarded') {
          assert.ok(
            !String(request.headers[name] ?? '').includes('203.0.113.54'),
            `${name} crossed`,
          );
          assert.ok(!String(request.headers[name] ?? '').includes(MARKER), `${name} crossed`);
        } else {
          assert.equal(request.headers[name], undefined, `${name} reached the upstream`);
        }
      }
      assert.ok(!JSON.stringify(request.headers).includes(MARKER));
      assert.ok(!JSON.stringify(request.headers).includes('203.0.113.54'));
    }
    assert.ok(environmentReport.includes('"env"'), 'the stdio server reported its environment');
    assert.ok(
      !environmentReport.includes(MARKER),
      'an identity header value reached the stdio process',
    );
    for (const token of callerTokens) {
      assert.ok(!environmentReport.includes(token), 'a caller token reached the stdio process');
    }
    assert.ok(
      !environmentReport.includes('gateway-secret'),
      'the gateway secret reached the stdio process',
    );
  });

  it('writes exactly one audit record per request, with the outcome and reason of its answer', async () => {
    const records = await querySpool(stack.auditDir, { limit: 100_000, order: 'asc' });
    assert.equal(records.length, exchanges.length, 'no missing and no extra records');
    for (const exchange of exchanges) {
      const requestId = exchange.answer?.headers.get('x-request-id');
      const mine = records.filter((r) => r.requestId === requestId);
      assert.equal(mine.length, 1, `${exchange.label}: one record`);
      const record = mine[0];
      assert.equal(record?.outcome, exchange.expected.outcome, exchange.label);
      assert.equal(record?.reason, exchange.expected.reason, exchange.label);
      assert.equal(record?.status, exchange.expected.status, exchange.label);
      assert.equal(record?.route, exchange.route, exchange.label);
    }
  });

  it('keeps every token out of the audit spool and the gateway log', async () => {
    const upstreamTokens = stack.crm.requests
      .map((r) => r.headers.authorization?.slice('Bearer '.length))
      .filter((t): t is string => typeof t === 'string');
    const secrets = [...callerTokens, ...upstreamTokens];
    const files = await filesUnder(stack.auditDir);
    assert.ok(files.length > 0, 'the spool has files');
    const spoolText = (await Promise.all(files.map((f) => readFile(f))))
      .map((b) => b.toString('latin1'))
      .join('\n');
    const logText = stack.logs.join('');
    assert.ok(logText.length > 0, 'the gateway logged');
    for (const [where, text] of [
      ['audit spool', spoolText],
      ['gateway log', logText],
    ] as const) {
      for (const secret of secrets)
        assert.ok(!text.includes(secret), `a token appears in the ${where}`);
      assert.doesNotMatch(text, JWT_SHAPE, `a JWT-shaped string appears in the ${where}`);
      assert.ok(!text.includes('gateway-secret'), `the client secret appears in the ${where}`);
    }
  });
});
