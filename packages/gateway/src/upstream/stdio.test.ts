/**
 * Specification of the stdio bridge with a real MCP stdio server (official SDK): request/response
 * mapping with concurrent callers, one initialize per process, per-subject isolation, restart after
 * a crash, idle reaping, notifications and list filtering.
 */
import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { loadConfig } from '../config/loader.js';
import { Gateway } from '../server/server.js';
import { captureLogs, rpc, send, TestGuard } from '../testing/harness.js';
import { StdioUpstream, type StdioUpstreamOptions } from './stdio.js';
import { UpstreamError } from './types.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/stdio-server.js', import.meta.url));

function bridge(options: Partial<StdioUpstreamOptions> = {}): StdioUpstream {
  return new StdioUpstream({
    name: 'notes',
    command: process.execPath,
    args: [FIXTURE],
    logger: captureLogs().logger,
    timeoutMs: 10_000,
    ...options,
  });
}

interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
}

async function call(
  upstream: StdioUpstream,
  subject: string,
  message: unknown,
  list?: { filter: (m: string, r: unknown) => unknown },
): Promise<Answer> {
  const answer = await upstream.forward({
    method: 'POST',
    query: '',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(message)),
    principalKey: subject,
    requestId: 'r',
    list,
    signal: new AbortController().signal,
  });
  const chunks: Buffer[] = [];
  for await (const chunk of answer.body) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return {
    status: answer.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
  };
}

const initialize = (id: unknown) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'test', version: '1' },
  },
});
const echo = (id: unknown, text: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'echo', arguments: { text } },
});

function textOf(answer: Answer): string {
  const result = answer.body?.result as { content: { text: string }[] } | undefined;
  return result?.content[0]?.text ?? '';
}

function pidOf(answer: Answer): string {
  return /pid=(\d+)/.exec(textOf(answer))?.[1] ?? '';
}

describe('stdio upstream', () => {
  test('maps concurrent requests with colliding ids to the right callers', async () => {
    const upstream = bridge({ isolation: 'shared' });
    try {
      const [a, b] = await Promise.all([
        call(upstream, 'alice', initialize(1)),
        call(upstream, 'bob', initialize(1)),
      ]);
      assert.equal(a.status, 200);
      assert.equal(a.body?.id, 1);
      assert.deepEqual(a.body?.result, b.body?.result);
      assert.equal(upstream.processCount, 1);
      const texts = Array.from({ length: 8 }, (_, i) => `message-${i}`);
      const answers = await Promise.all(
        texts.map((t, i) => call(upstream, i % 2 ? 'alice' : 'bob', echo(1, t))),
      );
      answers.forEach((answer, i) => {
        assert.equal(answer.body?.id, 1);
        assert.match(textOf(answer), new RegExp(`^message-${i} pid=`));
      });
      const slow = call(upstream, 'alice', {
        jsonrpc: '2.0',
        id: 'x',
        method: 'tools/call',
        params: { name: 'slow', arguments: { ms: 200, text: 'late' } },
      });
      const fast = call(upstream, 'bob', {
        jsonrpc: '2.0',
        id: 'x',
        method: 'tools/call',
        params: { name: 'slow', arguments: { ms: 0, text: 'early' } },
      });
      assert.equal(textOf(await fast), 'early');
      assert.equal(textOf(await slow), 'late');
    } finally {
      await upstream.close();
    }
  });

  test('a request before any initialize is served after the gateway initializes the process', async () => {
    const upstream = bridge();
    try {
      const answer = await call(upstream, 'alice', echo(5, 'hello'));
      assert.equal(answer.status, 200);
      assert.equal(answer.body?.id, 5);
      assert.match(textOf(answer), /^hello pid=/);
    } finally {
      await upstream.close();
    }
  });

  test('notifications and client answers are accepted with 202', async () => {
    const upstream = bridge();
    try {
      await call(upstream, 'alice', initialize(1));
      assert.equal(
        (await call(upstream, 'alice', { jsonrpc: '2.0', method: 'notifications/initialized' }))
          .status,
        202,
      );
      assert.equal(
        (
          await call(upstream, 'alice', {
            jsonrpc: '2.0',
            method: 'notifications/cancelled',
            params: { requestId: 9 },
          })
        ).status,
        202,
      );
      assert.equal(
        (await call(upstream, 'alice', { jsonrpc: '2.0', id: 3, result: {} })).status,
        202,
      );
      assert.equal((await call(upstream, 'alice', [echo(1, 'batch')])).status, 400);
    } finally {
      await upstream.close();
    }
  });

  test('per-subject isolation runs one process per subject', async () => {
    const upstream = bridge({ isolation: 'per-subject' });
    try {
      const [alice, bob, alice2] = await Promise.all([
        call(upstream, 'alice', echo(1, 'a')),
        call(upstream, 'bob', echo(1, 'b')),
        call(upstream, 'alice', echo(2, 'a2')),
      ]);
      assert.equal(upstream.processCount, 2);
      assert.notEqual(pidOf(alice), pidOf(bob));
      assert.equal(pidOf(alice), pidOf(alice2));
    } finally {
      await upstream.close();
    }
  });

  test('row 81: processes are keyed by the whole principal key, not by the subject alone', async () => {
    const upstream = bridge({ isolation: 'per-subject' });
    const main = JSON.stringify(['https://idp.example', 'user', 'alice']);
    const partner = JSON.stringify(['https://partner.example', 'user', 'alice']);
    const client = JSON.stringify(['https://idp.example', 'client', 'alice']);
    try {
      const answers = await Promise.all(
        [main, partner, client].map((k) => call(upstream, k, echo(1, 'x'))),
      );
      assert.equal(upstream.processCount, 3);
      assert.equal(new Set(answers.map(pidOf)).size, 3);
      assert.deepEqual([...upstream.pids().keys()].sort(), [client, main, partner].sort());
    } finally {
      await upstream.close();
    }
  });

  test('row 83: the ids a process sees are random, not a counter a caller could guess', async () => {
    const upstream = bridge({ isolation: 'shared' });
    const requestId = (id: number) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'request_id', arguments: {} },
    });
    try {
      const seen = [];
      for (let i = 0; i < 3; i++) seen.push(textOf(await call(upstream, 'alice', requestId(i))));
      for (const id of seen)
        assert.match(id, /^mcp-iam-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(new Set(seen).size, 3);
    } finally {
      await upstream.close();
    }
  });

  test("row 83: another principal's notifications/cancelled never reaches a shared process; the owner's does", async () => {
    const dropped: string[] = [];
    const upstream = bridge({
      isolation: 'shared',
      timeoutMs: 20_000,
      onDroppedNotification: (method) => dropped.push(method),
    });
    const slow = (id: unknown, ms: number) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'slow', arguments: { ms, text: 'done' } },
    });
    const cancel = (requestId: unknown) => ({
      jsonrpc: '2.0',
      method: 'notifications/cancelled',
      params: { requestId, reason: 'test' },
    });
    const cancellations = async () =>
      Number(
        textOf(
          await call(upstream, 'bob', {
            jsonrpc: '2.0',
            id: 'count',
            method: 'tools/call',
            params: { name: 'cancellations', arguments: {} },
          }),
        ),
      );
    try {
      await call(upstream, 'alice', initialize(0));
      const alices = call(upstream, 'alice', slow(7, 1500));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Alice's own id, and the ids a counter would have given her request.
      for (let i = 0; i < 20; i++) {
        assert.equal((await call(upstream, 'bob', cancel(7))).status, 202);
        assert.equal((await call(upstream, 'bob', cancel(`mcp-iam-${i}`))).status, 202);
      }
      assert.equal(await cancellations(), 0, 'no cancellation reached the process');
      assert.equal(textOf(await alices), 'done', "bob could not cancel alice's call");
      assert.equal(dropped.length, 40);
      assert.ok(dropped.every((m) => m === 'notifications/cancelled'));

      // The owner's own cancellation is rewritten to the gateway id and reaches the server.
      const cancelled = call(upstream, 'alice', slow(8, 3000)).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await call(upstream, 'alice', cancel(8))).status, 202);
      const deadline = Date.now() + 5000;
      while ((await cancellations()) === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(await cancellations(), 1, "alice's cancellation reached the process");
      assert.equal(dropped.length, 40);
      assert.equal(
        (
          await call(upstream, 'bob', {
            jsonrpc: '2.0',
            method: 'notifications/progress',
            params: { progressToken: 1, progress: 1 },
          })
        ).status,
        202,
      );
      assert.deepEqual(dropped.slice(40), ['notifications/progress']);
      await upstream.close();
      assert.ok((await cancelled) instanceof UpstreamError, 'the cancelled call never answered');
    } finally {
      await upstream.close();
    }
  });

  test('row 84: a list answer whose result is not an object is refused, never passed on unfiltered', async () => {
    const raw = fileURLToPath(new URL('./fixtures/raw-stdio-server.js', import.meta.url));
    const list = { filter: (_m: string, r: unknown) => r };
    for (const result of ['[{"name":"hidden"}]', '"tools"', 'null']) {
      const upstream = bridge({ args: [raw], env: { RAW_LIST_RESULT: result } });
      try {
        await assert.rejects(
          call(upstream, 'alice', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, list),
          (e: unknown) => e instanceof UpstreamError && e.code === 'upstream_error',
          result,
        );
      } finally {
        await upstream.close();
      }
    }
    const fine = bridge({ args: [raw], env: { RAW_LIST_RESULT: '{"tools":[{"name":"a"}]}' } });
    try {
      const answer = await call(
        fine,
        'alice',
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        list,
      );
      assert.deepEqual(answer.body?.result, { tools: [{ name: 'a' }] });
    } finally {
      await fine.close();
    }
  });

  test('a crashed process fails its request with 502 and is restarted on the next request', async () => {
    const upstream = bridge({ restartBackoffMs: 50 });
    try {
      const before = pidOf(await call(upstream, 'alice', echo(1, 'before')));
      await assert.rejects(
        call(upstream, 'alice', {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'crash', arguments: {} },
        }),
        (e: unknown) =>
          e instanceof UpstreamError && e.code === 'upstream_unavailable' && e.status === 502,
      );
      const after = await call(upstream, 'alice', echo(3, 'after'));
      assert.match(textOf(after), /^after pid=/);
      assert.notEqual(pidOf(after), before);
    } finally {
      await upstream.close();
    }
  });

  test('an idle process is stopped after the idle timeout', async () => {
    const counts: number[] = [];
    const upstream = bridge({ idleTimeoutMs: 150, onProcessCount: (n) => counts.push(n) });
    try {
      await call(upstream, 'alice', echo(1, 'x'));
      assert.equal(upstream.processCount, 1);
      const deadline = Date.now() + 5000;
      while (upstream.processCount > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      assert.equal(upstream.processCount, 0);
      assert.deepEqual(counts, [1, 0]);
      assert.match(textOf(await call(upstream, 'alice', echo(2, 'again'))), /^again pid=/);
    } finally {
      await upstream.close();
    }
  });

  test('a command that cannot start answers 502 upstream_unavailable', async () => {
    const upstream = bridge({ command: '/nonexistent/mcp-server', args: [] });
    try {
      await assert.rejects(
        call(upstream, 'alice', echo(1, 'x')),
        (e: unknown) => e instanceof UpstreamError && e.code === 'upstream_unavailable',
      );
    } finally {
      await upstream.close();
    }
  });

  test('tools/list answers are rewritten by the list filter', async () => {
    const upstream = bridge();
    try {
      const filter = (method: string, result: unknown) => {
        const r = result as { tools: { name: string }[] };
        return method === 'tools/list'
          ? { ...r, tools: r.tools.filter((t) => !t.name.startsWith('secret_')) }
          : result;
      };
      const answer = await call(
        upstream,
        'alice',
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { filter },
      );
      const names = ((answer.body?.result as { tools: { name: string }[] }).tools ?? []).map(
        (t) => t.name,
      );
      assert.ok(names.includes('echo'));
      assert.ok(!names.includes('secret_admin'));
    } finally {
      await upstream.close();
    }
  });

  test('GET and DELETE are not available on a stdio route', async () => {
    const upstream = bridge();
    try {
      const answer = await upstream.forward({
        method: 'GET',
        query: '',
        headers: {},
        principalKey: 'a',
        requestId: 'r',
        signal: new AbortController().signal,
      });
      assert.equal(answer.status, 405);
      assert.equal(upstream.processCount, 0);
    } finally {
      await upstream.close();
    }
  });
});

describe('stdio route behind the gateway', () => {
  test('each principal gets its own process, GET and DELETE are refused before any decision, and no process sees the caller token or the gateway environment', async () => {
    process.env.MCP_IAM_GATEWAY_ONLY_SECRET = 'do-not-inherit';
    const { config } = loadConfig(
      `listen: { host: 127.0.0.1, port: 0 }
public_url: http://gateway.test
issuers:
  - issuer: http://idp.test
routes:
  - name: notes
    path: /notes/mcp
    upstream: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FIXTURE)}], env: { NOTES_MODE: demo } }
audit: { sink: stdout }
`,
      { env: {} },
    );
    const guard = new TestGuard();
    const rejections: Array<{ status: number; method: string }> = [];
    const gateway = new Gateway({
      config,
      guards: () => guard,
      logger: captureLogs().logger,
      recordRejection: async (r) => void rejections.push({ status: r.status, method: r.method }),
    });
    try {
      const base = (await gateway.listen()).url;
      // GET and DELETE are refused by the gateway before any decision (a stdio route has no SSE
      // stream and no session), with the refusal's own record rather than an allow.
      for (const method of ['GET', 'DELETE']) {
        const refused = await send(base, {
          method,
          path: '/notes/mcp',
          headers: { authorization: 'Bearer alice.CANARY-alice-token' },
        });
        assert.equal(refused.status, 405, method);
        assert.equal(refused.headers.allow, 'POST');
      }
      assert.deepEqual(rejections, [
        { status: 405, method: 'GET' },
        { status: 405, method: 'DELETE' },
      ]);
      assert.equal(guard.seen.length, 0, 'the guard was not asked');
      const call = (token: string, name: string, id: number) =>
        rpc(base, '/notes/mcp', token, {
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name, arguments: { text: name } },
        });
      const alice = await call('alice.CANARY-alice-token', 'echo', 1);
      const bob = await call('bob.CANARY-bob-token', 'echo', 1);
      assert.equal(alice.status, 200);
      const pid = (a: { body: string }) => /pid=(\d+)/.exec(a.body)?.[1];
      assert.notEqual(pid(alice), pid(bob));
      const seen = await call('alice.CANARY-alice-token', 'environment', 2);
      assert.equal(seen.status, 200);
      assert.doesNotMatch(seen.body, /CANARY/);
      assert.doesNotMatch(seen.body, /do-not-inherit/);
      assert.match(seen.body, /NOTES_MODE/);
      assert.equal(
        (await rpc(base, '/notes/mcp', undefined, { jsonrpc: '2.0', id: 1, method: 'tools/list' }))
          .status,
        401,
      );
    } finally {
      delete process.env.MCP_IAM_GATEWAY_ONLY_SECRET;
      await gateway.close();
    }
  });
});
