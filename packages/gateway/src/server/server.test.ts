/**
 * Specification of the gateway server: request hygiene before the guard (SECURITY-CASES rows 48–52),
 * the canary that the caller's token never reaches the upstream (row 54), upstream failures (row 64),
 * audit-before-answer, health/readiness/metrics/metadata endpoints, and logs without tokens.
 */
import { strict as assert } from 'node:assert';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { McpIamError } from '@mcp-iam/core';
import {
  answerJson,
  captureLogs,
  rpc,
  send,
  startUpstream,
  testConfig,
  TestGuard,
  type LogCapture,
  type RecordingUpstream,
} from '../testing/harness.js';
import { Gateway, type Rejection } from './server.js';

const TOKEN = 'alice.CANARY-caller-token-7f3a9c';
const INIT = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

/**
 * Sends raw request bytes (header lines, then `body`) to 127.0.0.1:`port` and resolves with the
 * whole answer once the connection closes: for requests node:http's client would not write.
 */
function rawExchange(port: string, head: readonly string[], body = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.end([...head, '', body].join('\r\n')),
    );
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('gateway server', () => {
  let upstream: RecordingUpstream;
  let guard: TestGuard;
  let gateway: Gateway;
  let base: string;
  let logs: LogCapture;
  let rejections: Rejection[];

  before(async () => {
    upstream = await startUpstream((req, res) => {
      answerJson(
        res,
        200,
        { jsonrpc: '2.0', id: 1, result: { tools: [] } },
        {
          'x-forwarded-user': 'upstream-claims-admin',
          'x-auth-request-email': 'admin@example.com',
          'x-mcp-iam-subject': 'admin',
          'set-cookie': 'sid=1',
          'mcp-session-id': 'session-1',
        },
      );
    });
    logs = captureLogs();
    rejections = [];
    guard = new TestGuard();
    gateway = new Gateway({
      config: testConfig(
        upstream.url,
        '    limits: { max_body_bytes: 256 }\n',
        'allowed_origins: [https://app.example.com]\n',
      ),
      guards: () => guard,
      logger: logs.logger,
      recordRejection: async (r) => {
        rejections.push(r);
      },
    });
    base = (await gateway.listen()).url;
  });

  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  beforeEach(() => {
    upstream.requests.length = 0;
    guard.seen.length = 0;
    guard.completed.length = 0;
    rejections.length = 0;
  });

  test('forwards an allowed request and answers with the upstream response', async () => {
    const answer = await rpc(base, '/crm/mcp', TOKEN, INIT);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { jsonrpc: '2.0', id: 1, result: { tools: [] } });
    assert.equal(answer.headers['mcp-session-id'], 'session-1');
    assert.equal(upstream.requests.length, 1);
    assert.equal(upstream.requests[0]?.url, '/mcp');
    assert.deepEqual(guard.completed, [{ status: 200, upstreamStatus: 200, reason: undefined }]);
  });

  test("every answer carries the gateway's own request id; a client traceparent only joins the trace (row 85)", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const allowed = await rpc(base, '/crm/mcp', TOKEN, INIT, {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    const requestId = String(allowed.headers['x-request-id']);
    assert.match(requestId, /^[0-9a-f]{32}$/);
    assert.notEqual(requestId, traceId, 'the client chose the trace id, not the request id');
    assert.equal(guard.seen.at(-1)?.requestId, requestId, 'the audited id is the answered one');
    assert.match(
      String(upstream.requests.at(-1)?.headers.traceparent),
      new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`),
      'the upstream continues the client trace',
    );
    const denied = await rpc(base, '/crm/mcp', 'no-dot-token', INIT);
    assert.equal(denied.status, 401);
    assert.match(String(denied.headers['x-request-id']), /^[0-9a-f]{32}$/);
    const refused = await send(base, { method: 'PUT', path: '/crm/mcp' });
    assert.equal(refused.status, 405);
    assert.equal(refused.headers.allow, 'POST, GET, DELETE');
    assert.match(String(refused.headers['x-request-id']), /^[0-9a-f]{32}$/);
    assert.notEqual(denied.headers['x-request-id'], refused.headers['x-request-id']);
  });

  test('row 54: the upstream never receives the caller token, only the guard-issued one', async () => {
    await rpc(base, '/crm/mcp?access_token=QUERY-CANARY&keep=1', TOKEN, INIT, {
      cookie: 'session=abc',
    });
    const seen = upstream.requests[0];
    assert.ok(seen);
    assert.equal(seen.headers.authorization, 'Bearer gateway-issued-upstream-token');
    assert.equal(seen.headers.cookie, undefined);
    assert.equal(seen.url, '/mcp?keep=1');
    const everything = JSON.stringify(seen);
    assert.doesNotMatch(everything, /CANARY/);
  });

  test('row 48: client identity headers are stripped before the guard and before forwarding', async () => {
    const identity = {
      'x-forwarded-user': 'admin',
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-host': 'evil.example',
      'x-auth-request-user': 'admin',
      'x-auth-request-email': 'admin@example.com',
      'x-mcp-iam-subject': 'admin',
      forwarded: 'for=10.0.0.1;host=evil.example',
      'x-real-ip': '10.0.0.1',
    };
    await rpc(base, '/crm/mcp', TOKEN, INIT, identity);
    for (const name of Object.keys(identity)) {
      assert.equal(guard.seen[0]?.headers[name], undefined, `guard saw ${name}`);
      assert.equal(guard.seen[0]?.headersDistinct[name], undefined, `guard saw ${name}`);
      assert.equal(upstream.requests[0]?.headers[name], undefined, `upstream saw ${name}`);
    }
  });

  test('hop-by-hop headers and the headers named by Connection never reach the upstream', async () => {
    // The upstream gives every answer the session id `session-1`: the first request binds it to
    // the caller, so the caller may send it.
    await rpc(base, '/crm/mcp', TOKEN, INIT);
    upstream.requests.length = 0;
    guard.seen.length = 0;
    await rpc(base, '/crm/mcp', TOKEN, INIT, {
      connection: 'keep-alive, x-secret-hop',
      'x-secret-hop': 'hop',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic cHJveHk6cHc=',
      'mcp-protocol-version': '2025-06-18',
      'mcp-session-id': 'session-1',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=1',
    });
    const seen = upstream.requests[0]?.headers ?? {};
    for (const name of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization'])
      assert.equal(seen[name], undefined, name);
    assert.equal(seen['mcp-protocol-version'], '2025-06-18');
    assert.equal(seen['mcp-session-id'], 'session-1');
    assert.equal(seen.tracestate, 'vendor=1');
    assert.match(String(seen.traceparent), /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.match(String(guard.seen[0]?.requestId), /^[0-9a-f]{32}$/);
    assert.notEqual(guard.seen[0]?.requestId, '0af7651916cd43dd8448eb211c80319c');
  });

  test('identity-claiming headers and cookies of the upstream answer are stripped', async () => {
    const answer = await rpc(base, '/crm/mcp', TOKEN, INIT);
    for (const name of [
      'x-forwarded-user',
      'x-auth-request-email',
      'x-mcp-iam-subject',
      'set-cookie',
    ])
      assert.equal(answer.headers[name], undefined, name);
  });

  test('row 50: a Host outside the allowlist is refused with 403 before the guard', async () => {
    const answer = await send(base, {
      method: 'POST',
      path: '/crm/mcp',
      headers: {
        host: 'evil.example',
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
      },
      body: '{}',
    });
    assert.equal(answer.status, 403);
    assert.equal(JSON.parse(answer.body).error, 'host_forbidden');
    assert.equal(guard.seen.length, 0);
    assert.equal(upstream.requests.length, 0);
    assert.equal(rejections.length, 1);
    assert.equal(rejections[0]?.reason, 'host_forbidden');
  });

  test('row 50: the public_url host is accepted as Host', async () => {
    const answer = await rpc(base, '/crm/mcp', TOKEN, INIT, { host: 'gateway.test' });
    assert.equal(answer.status, 200);
  });

  test('row 50: a present but unlisted Origin is refused with 403 before the guard', async () => {
    for (const origin of ['https://evil.example', 'null', 'https://app.example.com.evil.example']) {
      const answer = await rpc(base, '/crm/mcp', TOKEN, INIT, { origin });
      assert.equal(answer.status, 403, origin);
      assert.equal(JSON.parse(answer.body).error, 'origin_forbidden');
    }
    assert.equal(guard.seen.length, 0);
    assert.equal(upstream.requests.length, 0);
  });

  test('an allowed Origin gets CORS headers on the answer and on a preflight', async () => {
    const answer = await rpc(base, '/crm/mcp', TOKEN, INIT, { origin: 'https://app.example.com' });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['access-control-allow-origin'], 'https://app.example.com');
    const preflight = await send(base, {
      method: 'OPTIONS',
      path: '/crm/mcp',
      headers: { origin: 'https://app.example.com' },
    });
    assert.equal(preflight.status, 204);
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
    assert.equal(guard.seen.length, 1);
  });

  test('row 51: an attacker X-Forwarded-Host never reaches the guard or the upstream', async () => {
    await rpc(base, '/crm/mcp', TOKEN, INIT, {
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
    });
    assert.equal(guard.seen[0]?.headers['x-forwarded-host'], undefined);
    assert.equal(guard.seen[0]?.headers['x-forwarded-proto'], undefined);
  });

  test('row 49: path tricks are refused with 400 and never reach the guard', async () => {
    const tricks = [
      '/.well-known/..%2fcrm/mcp',
      '/.well-known/oauth-protected-resource/..%2fcrm/mcp',
      '//crm/mcp',
      '/crm//mcp',
      '/crm/mcp;x',
      '/crm%2fmcp',
      '/crm%2Fmcp',
      '/crm%5cmcp',
      '/crm/./mcp',
      '/x/../crm/mcp',
      '/x/%2e%2e/crm/mcp',
      '/crm/mcp%00',
      '/crm/mc%zz',
    ];
    for (const path of tricks) {
      const answer = await send(base, {
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(answer.status, 400, path);
    }
    assert.equal(guard.seen.length, 0);
    assert.equal(upstream.requests.length, 0);
  });

  test('row 49: the decided path is the forwarded path (unreserved escapes are decoded)', async () => {
    const answer = await rpc(base, '/%63rm/mcp', TOKEN, INIT);
    assert.equal(answer.status, 200);
    assert.equal(guard.seen[0]?.path, '/crm/mcp');
    assert.equal(upstream.requests[0]?.url, '/mcp');
  });

  test('row 49: routes and auth-exempt paths match exactly', async () => {
    assert.equal((await rpc(base, '/crm/mcp/', TOKEN, INIT)).status, 404);
    assert.equal((await rpc(base, '/CRM/mcp', TOKEN, INIT)).status, 404);
    assert.equal((await send(base, { path: '/healthz/' })).status, 404);
    assert.equal((await send(base, { path: '/healthz/../crm/mcp' })).status, 400);
    assert.equal((await send(base, { path: '/healthz' })).status, 200);
    assert.equal(guard.seen.length, 0);
    // Every refusal is audited, unknown paths included.
    assert.deepEqual(
      rejections.map((r) => [r.status, r.reason]),
      [
        [404, 'route_not_found'],
        [404, 'route_not_found'],
        [404, 'route_not_found'],
        [400, 'invalid_request'],
      ],
    );
  });

  test('row 52: a body over max_body_bytes is refused with 413 before the guard', async () => {
    const answer = await send(base, {
      method: 'POST',
      path: '/crm/mcp',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: `{"pad":"${'x'.repeat(400)}"}`,
    });
    assert.equal(answer.status, 413);
    assert.equal(JSON.parse(answer.body).error, 'body_too_large');
    assert.equal(guard.seen.length, 0);
    assert.equal(rejections[0]?.reason, 'body_too_large');
    assert.equal(rejections[0]?.route, 'crm');
    assert.equal(rejections[0]?.method, 'POST');
  });

  test('row 52: a POST that is not application/json is refused with 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
      const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
      if (type) headers['content-type'] = type;
      const answer = await send(base, {
        method: 'POST',
        path: '/crm/mcp',
        headers,
        body: 'access_token=x',
      });
      assert.equal(answer.status, 415, type);
    }
    const ok = await rpc(base, '/crm/mcp', TOKEN, INIT, {
      'content-type': 'application/json; charset=utf-8',
    });
    assert.equal(ok.status, 200);
    assert.equal(guard.seen.length, 1);
  });

  test('a method other than POST, GET, DELETE is refused with 405', async () => {
    const answer = await send(base, {
      method: 'PUT',
      path: '/crm/mcp',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(answer.status, 405);
    assert.equal(guard.seen.length, 0);
  });

  test('a guard deny is answered verbatim and the upstream is not called', async () => {
    const answer = await rpc(base, '/crm/mcp', undefined, INIT);
    assert.equal(answer.status, 401);
    assert.match(String(answer.headers['www-authenticate']), /^Bearer resource_metadata=/);
    assert.equal(upstream.requests.length, 0);
    assert.equal(rejections.length, 0, 'guard denials are audited by the guard');
  });

  test('RFC 9728 metadata is served without auth, with CORS, at the path-inserted and root URLs', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource/crm/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const answer = await send(base, { path, headers: { origin: 'https://anywhere.example' } });
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers['access-control-allow-origin'], '*');
      assert.equal(JSON.parse(answer.body).resource, 'http://gateway.test/crm/mcp');
    }
    const preflight = await send(base, {
      method: 'OPTIONS',
      path: '/.well-known/oauth-protected-resource/crm/mcp',
    });
    assert.equal(preflight.status, 204);
    assert.equal(
      (await send(base, { path: '/.well-known/oauth-protected-resource/other' })).status,
      404,
    );
  });

  test('metrics count requests by route, outcome and reason', async () => {
    await rpc(base, '/crm/mcp', TOKEN, INIT);
    const answer = await send(base, { path: '/metrics' });
    assert.equal(answer.status, 200);
    assert.match(
      answer.body,
      /mcp_iam_requests_total\{route="crm",outcome="allow",reason="allowed",status="200"\} \d+/,
    );
    assert.match(answer.body, /mcp_iam_upstream_duration_seconds_bucket/);
  });

  test('logs never contain the caller token, the Authorization header or a query token', async () => {
    await rpc(base, '/crm/mcp?access_token=QUERY-CANARY-91', TOKEN, INIT);
    await rpc(base, '/crm/mcp?access_token=QUERY-CANARY-91', TOKEN, INIT, {
      origin: 'https://evil.example',
    });
    await send(base, {
      method: 'POST',
      path: '/crm/mcp?access_token=QUERY-CANARY-91',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
      body: 'x',
    });
    const text = logs.text();
    assert.ok(logs.lines.length > 0);
    assert.doesNotMatch(text, /CANARY/);
    assert.doesNotMatch(text, /gateway-issued-upstream-token/);
    assert.doesNotMatch(text, /[Bb]earer /);
  });
});

describe('gateway upstream failures and audit', () => {
  test('row 64: a refused upstream connection answers 502 upstream_unavailable with an error record', async () => {
    const dead = await startUpstream(() => undefined);
    const url = dead.url;
    await dead.close();
    const guard = new TestGuard();
    const gateway = new Gateway({
      config: testConfig(url),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      const answer = await rpc(base, '/crm/mcp', TOKEN, INIT);
      assert.equal(answer.status, 502);
      assert.equal(JSON.parse(answer.body).error, 'upstream_unavailable');
      assert.deepEqual(guard.completed, [
        { status: 502, reason: 'upstream_unavailable', upstreamStatus: undefined },
      ]);
    } finally {
      await gateway.close();
    }
  });

  test('row 64: an upstream that does not answer in time gives 504 upstream_timeout', async () => {
    const slow = await startUpstream(() => undefined); // never answers
    const guard = new TestGuard();
    const gateway = new Gateway({
      config: testConfig(slow.url, '    limits: { upstream_timeout_ms: 200 }\n'),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      const answer = await rpc(base, '/crm/mcp', TOKEN, INIT);
      assert.equal(answer.status, 504);
      assert.equal(JSON.parse(answer.body).error, 'upstream_timeout');
      assert.equal(guard.completed[0]?.reason, 'upstream_timeout');
    } finally {
      await gateway.close();
      await slow.close();
    }
  });

  test('an upstream 401 becomes 502 upstream_error without the upstream challenge', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Bearer resource_metadata="http://other/"' });
      res.end();
    });
    const guard = new TestGuard();
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      const answer = await rpc(base, '/crm/mcp', TOKEN, INIT);
      assert.equal(answer.status, 502);
      assert.equal(answer.headers['www-authenticate'], undefined);
      assert.deepEqual(guard.completed, [
        { status: 502, reason: 'upstream_error', upstreamStatus: 401 },
      ]);
    } finally {
      await gateway.close();
      await up.close();
    }
  });

  test('a failed token exchange answers 502 and never falls back to the caller token', async () => {
    const up = await startUpstream((_req, res) => answerJson(res, 200, {}));
    const guard = new TestGuard({
      upstreamTokenError: new McpIamError('token_exchange_invalid', 'bad exchange'),
    });
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      const answer = await rpc(base, '/crm/mcp', TOKEN, INIT);
      assert.equal(answer.status, 502);
      assert.equal(JSON.parse(answer.body).error, 'token_exchange_invalid');
      assert.equal(up.requests.length, 0);
    } finally {
      await gateway.close();
      await up.close();
    }
  });

  test('when the audit record cannot be written the client gets 503, not the upstream answer', async () => {
    const up = await startUpstream((_req, res) =>
      answerJson(res, 200, { jsonrpc: '2.0', id: 1, result: { secret: 1 } }),
    );
    const guard = new TestGuard({ completeFails: true });
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      const answer = await rpc(base, '/crm/mcp', TOKEN, INIT);
      assert.equal(answer.status, 503);
      assert.equal(JSON.parse(answer.body).error, 'audit_unavailable');
      assert.doesNotMatch(answer.body, /secret/);
    } finally {
      await gateway.close();
      await up.close();
    }
  });

  test('the allow record is written before the first byte of a streamed answer', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('data: {"jsonrpc":"2.0","id":1,"result":{}}\n\n');
    });
    const guard = new TestGuard({ completeDelayMs: 150 });
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      const url = new URL(base);
      const recordedAtHeaders = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: '/crm/mcp',
            headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          },
          (res) => {
            resolve(guard.completed.length);
            res.resume();
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify(INIT));
      });
      assert.equal(recordedAtHeaders, 1);
    } finally {
      await gateway.close();
      await up.close();
    }
  });

  test('a rejection whose audit record cannot be written is answered 503', async () => {
    const up = await startUpstream((_req, res) => answerJson(res, 200, {}));
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => new TestGuard(),
      logger: captureLogs().logger,
      recordRejection: () => Promise.reject(new Error('sink down')),
    });
    try {
      const base = (await gateway.listen()).url;
      const answer = await rpc(base, '/crm/mcp', TOKEN, INIT, { origin: 'https://evil.example' });
      assert.equal(answer.status, 503);
      assert.equal(JSON.parse(answer.body).error, 'audit_unavailable');
    } finally {
      await gateway.close();
      await up.close();
    }
  });
});

describe('gateway health and lifecycle', () => {
  test('/readyz reports failing readiness checks with 503, /healthz stays 200', async () => {
    const up = await startUpstream((_req, res) => answerJson(res, 200, {}));
    let keysLoaded = false;
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => new TestGuard(),
      logger: captureLogs().logger,
      readiness: [{ name: 'issuer-keys', check: () => keysLoaded }],
    });
    try {
      const base = (await gateway.listen()).url;
      const notReady = await send(base, { path: '/readyz', headers: { host: '10.1.2.3:8080' } });
      assert.equal(notReady.status, 503);
      assert.deepEqual(JSON.parse(notReady.body).failing, ['issuer-keys']);
      keysLoaded = true;
      assert.equal((await send(base, { path: '/readyz' })).status, 200);
      assert.equal((await send(base, { path: '/healthz' })).status, 200);
    } finally {
      await gateway.close();
      await up.close();
    }
  });

  test('close() lets an in-flight request finish before stopping', async () => {
    const up = await startUpstream((_req, res) => {
      setTimeout(() => answerJson(res, 200, { jsonrpc: '2.0', id: 1, result: {} }), 300);
    });
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => new TestGuard(),
      logger: captureLogs().logger,
      shutdownTimeoutMs: 5000,
    });
    try {
      const base = (await gateway.listen()).url;
      const pending = rpc(base, '/crm/mcp', TOKEN, INIT);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closed = gateway.close();
      const answer = await pending;
      assert.equal(answer.status, 200);
      await closed;
      await assert.rejects(send(base, { path: '/healthz' }));
    } finally {
      await gateway.close();
      await up.close();
    }
  });
});

describe('gateway guard input', () => {
  test('the guard sees every value of a repeated Authorization header', async () => {
    const up = await startUpstream((_req, res) => answerJson(res, 200, {}));
    const guard = new TestGuard();
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      await send(base, {
        method: 'POST',
        path: '/crm/mcp?access_token=q',
        headers: {
          authorization: [`Bearer ${TOKEN}`, 'Bearer bob.other'],
          'content-type': 'application/json',
        },
        body: JSON.stringify(INIT),
      });
      assert.deepEqual(guard.seen[0]?.headersDistinct.authorization, [
        `Bearer ${TOKEN}`,
        'Bearer bob.other',
      ]);
      assert.equal(guard.seen[0]?.headersRepeated, true);
      assert.equal(guard.seen[0]?.query, 'access_token=q');
      assert.equal(guard.seen[0]?.body?.toString('utf8'), JSON.stringify(INIT));
    } finally {
      await gateway.close();
      await up.close();
    }
  });

  test('a request with two Host lines is refused 400 before the guard, whatever their values (RFC 9112)', async () => {
    let upstreamCalls = 0;
    const up = await startUpstream((_req, res) => {
      upstreamCalls++;
      answerJson(res, 200, {});
    });
    const guard = new TestGuard();
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      const { port } = new URL(base);
      const statusOf = async (hosts: string[]) =>
        (
          await rawExchange(port, [
            'GET /crm/mcp HTTP/1.1',
            ...hosts.map((h) => `Host: ${h}`),
            `Authorization: Bearer ${TOKEN}`,
            'Connection: close',
          ])
        ).split('\r\n')[0] ?? '';
      const allowed = `127.0.0.1:${port}`;
      assert.match(await statusOf([allowed, 'evil.example']), /^HTTP\/1\.1 400 /);
      assert.match(await statusOf([allowed, allowed]), /^HTTP\/1\.1 400 /);
      assert.equal(guard.seen.length, 0, 'the guard never saw them');
      assert.equal(upstreamCalls, 0);
      assert.doesNotMatch(await statusOf([allowed]), /^HTTP\/1\.1 400 /);
    } finally {
      await gateway.close();
      await up.close();
    }
  });

  test('headersRepeated is true exactly when a header name occurs twice, in any letter case', async () => {
    const up = await startUpstream((_req, res) => answerJson(res, 200, {}));
    const guard = new TestGuard();
    const gateway = new Gateway({
      config: testConfig(up.url),
      guards: () => guard,
      logger: captureLogs().logger,
    });
    try {
      const base = (await gateway.listen()).url;
      const { port } = new URL(base);
      // Raw bytes: node:http's client would merge two spellings of one header name.
      const body = JSON.stringify(INIT);
      const post = (lines: string[]) =>
        rawExchange(
          port,
          [
            'POST /crm/mcp HTTP/1.1',
            `Host: 127.0.0.1:${port}`,
            'Content-Type: application/json',
            `Content-Length: ${body.length}`,
            'Connection: close',
            ...lines,
          ],
          body,
        );
      await post([`Authorization: Bearer ${TOKEN}`, 'X-Trace: a']);
      await post([`authorization: Bearer ${TOKEN}`, 'Authorization: Bearer bob.other']);
      await post([`Authorization: Bearer ${TOKEN}`, 'Accept: a/b', 'Accept: c/d']);
      assert.deepEqual(
        guard.seen.map((r) => r.headersRepeated),
        [false, true, true],
      );
      assert.deepEqual(guard.seen[0]?.headersDistinct.authorization, [`Bearer ${TOKEN}`]);
      assert.deepEqual(guard.seen[1]?.headersDistinct.authorization, [
        `Bearer ${TOKEN}`,
        'Bearer bob.other',
      ]);
    } finally {
      await gateway.close();
      await up.close();
    }
  });
});
