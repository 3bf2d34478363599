/**
 * Specification of the Streamable HTTP upstream behind the gateway: JSON and SSE answers stream
 * through unbuffered, GET and DELETE are forwarded, list results are filtered in JSON and in SSE,
 * and a list answer the gateway cannot read is refused (502) or cut, never passed on unfiltered.
 */
import { strict as assert } from 'node:assert';
import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { Gateway } from '../server/server.js';
import { HttpUpstream } from './http.js';
import { UpstreamAbort } from './types.js';
import {
  answerJson,
  captureLogs,
  rpc,
  send,
  startUpstream,
  testConfig,
  TestGuard,
} from '../testing/harness.js';

const TOKEN = 'alice.caller-token';
const TOOLS = {
  tools: [
    { name: 'search_contacts', inputSchema: { type: 'object' } },
    { name: 'secret_admin', inputSchema: { type: 'object' } },
  ],
};

function hideSecretTools(method: string, result: unknown): unknown {
  if (method !== 'tools/list') return result;
  const r = result as { tools: { name: string }[] };
  return { ...r, tools: r.tools.filter((t) => !t.name.startsWith('secret_')) };
}

const TOOLS_ANSWER = JSON.stringify({ jsonrpc: '2.0', id: 1, result: TOOLS });
const PROGRESS = '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}';
const LIST_TOOLS = { jsonrpc: '2.0', id: 1, method: 'tools/list' };

/** The events an MCP SDK client reads from an SSE body: UTF-8 decoded, then eventsource-parser. */
function eventsSeenByClient(body: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  createParser({ onEvent: (event) => events.push(event) }).feed(
    new TextDecoder().decode(Buffer.from(body)),
  );
  return events;
}

/** Every tool name a client finds in list results among `events`. */
function toolNamesSeenByClient(events: readonly EventSourceMessage[]): string[] {
  const names: string[] = [];
  for (const event of events) {
    const message = JSON.parse(event.data) as { result?: { tools?: { name: string }[] } };
    for (const tool of message.result?.tools ?? []) names.push(tool.name);
  }
  return names;
}

/** An answer read until the connection closes; `complete` is false when it was cut short. */
interface ReceivedAnswer {
  readonly status: number;
  readonly body: string;
  readonly complete: boolean;
}

/**
 * Sends a POST of `message` (or a GET without one) to the route and reads the answer until the
 * connection closes, also when the gateway cuts it off mid-body.
 */
function receive(base: string, message?: unknown): Promise<ReceivedAnswer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: message === undefined ? 'GET' : 'POST',
        path: '/crm/mcp',
        agent: false,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('error', () => undefined);
        res.on('close', () =>
          resolve({ status: res.statusCode ?? 0, body, complete: res.complete }),
        );
      },
    );
    req.on('error', reject);
    req.end(message === undefined ? undefined : JSON.stringify(message));
  });
}

async function withGateway(
  guard: TestGuard,
  upstreamUrl: string,
  run: (base: string) => Promise<void>,
): Promise<void> {
  const gateway = new Gateway({
    config: testConfig(upstreamUrl),
    guards: () => guard,
    logger: captureLogs().logger,
  });
  try {
    await run((await gateway.listen()).url);
  } finally {
    await gateway.close();
  }
}

/** The gateway's answer to an upstream answer it cannot pass on (502 `upstream_error`). */
const UPSTREAM_ERROR_BODY = {
  error: 'upstream_error',
  error_description: 'The upstream MCP server answered with an error or an unusable answer.',
  reason: 'upstream_error',
};

describe('HTTP upstream', () => {
  test('the first SSE event reaches the client before the upstream finishes the stream', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let releasedByClient = false;
    const up = await startUpstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(
        'id: 1\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n',
      );
      const timer = setTimeout(() => release(), 5000);
      await released;
      clearTimeout(timer);
      res.end('id: 2\ndata: {"jsonrpc":"2.0","id":1,"result":{"done":true}}\n\n');
    });
    try {
      await withGateway(new TestGuard(), up.url, async (base) => {
        const url = new URL(base);
        const body = await new Promise<string>((resolve, reject) => {
          const req = httpRequest(
            {
              host: url.hostname,
              port: url.port,
              method: 'POST',
              path: '/crm/mcp',
              headers: {
                authorization: `Bearer ${TOKEN}`,
                'content-type': 'application/json',
                accept: 'text/event-stream',
              },
            },
            (res) => {
              assert.equal(res.headers['content-type'], 'text/event-stream');
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                text += chunk;
                if (text.includes('notifications/progress') && !text.includes('"done"')) {
                  releasedByClient = true;
                  release();
                }
              });
              res.on('end', () => resolve(text));
            },
          );
          req.on('error', reject);
          req.end(
            JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } }),
          );
        });
        assert.ok(
          releasedByClient,
          'the client saw the first event while the upstream was still waiting',
        );
        assert.match(body, /"done":true/);
      });
    } finally {
      await up.close();
    }
  });

  test('a non-list JSON answer streams through byte for byte even when a list filter is offered', async () => {
    const raw = '{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"hi"}]}}';
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(raw),
      });
      res.end(raw);
    });
    try {
      await withGateway(new TestGuard(), up.url, async (base) => {
        const answer = await rpc(base, '/crm/mcp', TOKEN, {
          jsonrpc: '2.0',
          id: 7,
          method: 'tools/call',
          params: { name: 'x' },
        });
        assert.equal(answer.body, raw);
      });
    } finally {
      await up.close();
    }
  });

  test('GET opens the SSE stream and DELETE ends the session, with the session header forwarded', async () => {
    const up = await startUpstream((req, res) => {
      if (req.method === 'POST')
        answerJson(res, 200, { jsonrpc: '2.0', id: 1, result: {} }, { 'mcp-session-id': 's-1' });
      else if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(': ping\n\n');
      } else res.writeHead(204).end();
    });
    try {
      await withGateway(new TestGuard(), up.url, async (base) => {
        const opened = await rpc(base, '/crm/mcp', TOKEN, {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
        });
        assert.equal(opened.headers['mcp-session-id'], 's-1');
        up.requests.length = 0;
        const headers = {
          authorization: `Bearer ${TOKEN}`,
          'mcp-session-id': 's-1',
          accept: 'text/event-stream',
          'last-event-id': '41',
        };
        const stream = await send(base, { method: 'GET', path: '/crm/mcp', headers });
        assert.equal(stream.status, 200);
        assert.equal(stream.body, ': ping\n\n');
        const ended = await send(base, { method: 'DELETE', path: '/crm/mcp', headers });
        assert.equal(ended.status, 204);
        assert.deepEqual(
          up.requests.map((r) => [
            r.method,
            r.headers['mcp-session-id'],
            r.headers['last-event-id'],
          ]),
          [
            ['GET', 's-1', '41'],
            ['DELETE', 's-1', '41'],
          ],
        );
        const after = await send(base, { method: 'GET', path: '/crm/mcp', headers });
        assert.equal(after.status, 404, 'a deleted session is forgotten');
        assert.equal(up.requests.length, 2);
      });
    } finally {
      await up.close();
    }
  });

  test('a tools/list JSON answer is rewritten by the guard filter', async () => {
    const up = await startUpstream((_req, res) =>
      answerJson(res, 200, { jsonrpc: '2.0', id: 1, result: TOOLS }),
    );
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await rpc(base, '/crm/mcp', TOKEN, {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/list',
        });
        assert.equal(answer.status, 200);
        const names = (JSON.parse(answer.body).result.tools as { name: string }[]).map(
          (t) => t.name,
        );
        assert.deepEqual(names, ['search_contacts']);
        assert.equal(
          Number(answer.headers['content-length'] ?? answer.body.length),
          Buffer.byteLength(answer.body),
        );
      });
    } finally {
      await up.close();
    }
  });

  test('a tools/list result inside an SSE stream is rewritten and other events pass unchanged', async () => {
    const progress = '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}';
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`event: message\nid: e1\ndata: ${progress}\n\n`);
      res.end(
        `event: message\nid: e2\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: TOOLS })}\n\n`,
      );
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await rpc(base, '/crm/mcp', TOKEN, {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/list',
        });
        const events = answer.body.split('\n\n').filter(Boolean);
        assert.equal(events.length, 2);
        assert.equal(events[0], `event: message\nid: e1\ndata: ${progress}`);
        assert.match(events[1]!, /^event: message\nid: e2\ndata: /);
        const data = JSON.parse(events[1]!.split('data: ')[1]!);
        assert.deepEqual(
          data.result.tools.map((t: { name: string }) => t.name),
          ['search_contacts'],
        );
        assert.doesNotMatch(answer.body, /secret_admin/);
      });
    } finally {
      await up.close();
    }
  });

  test('a resumed SSE stream (GET) has list results filtered by their shape', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`id: 9\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: TOOLS })}\n\n`);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await send(base, {
          method: 'GET',
          path: '/crm/mcp',
          headers: { authorization: `Bearer ${TOKEN}`, 'last-event-id': '8' },
        });
        assert.doesNotMatch(answer.body, /secret_admin/);
        assert.match(answer.body, /search_contacts/);
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: a tools/list JSON answer starting with a UTF-8 BOM is filtered, never passed on unfiltered', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`\uFEFF${TOOLS_ANSWER}`);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await rpc(base, '/crm/mcp', TOKEN, LIST_TOOLS);
        assert.equal(answer.status, 200);
        assert.doesNotMatch(answer.body, /secret_admin/);
        // As a fetch client reads it: UTF-8 decoded (one BOM dropped), then JSON.
        const message = JSON.parse(new TextDecoder().decode(Buffer.from(answer.body)));
        assert.deepEqual(
          message.result.tools.map((t: { name: string }) => t.name),
          ['search_contacts'],
        );
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: an SSE list answer whose events end with \\n\\r\\n is filtered as the client parses it', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`event: message\ndata: ${PROGRESS}\n\r\nevent: message\ndata: ${TOOLS_ANSWER}\n\r\n`);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await rpc(base, '/crm/mcp', TOKEN, LIST_TOOLS);
        assert.equal(answer.status, 200);
        const events = eventsSeenByClient(answer.body);
        assert.deepEqual(
          events.map((e) => e.data === PROGRESS),
          [true, false],
        );
        assert.deepEqual(toolNamesSeenByClient(events), ['search_contacts']);
        assert.doesNotMatch(answer.body, /secret_admin/);
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: an SSE list answer starting with a UTF-8 BOM is filtered as the client parses it', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`\uFEFFdata: ${TOOLS_ANSWER}\nid: 1\n\n`);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await rpc(base, '/crm/mcp', TOKEN, LIST_TOOLS);
        assert.equal(answer.status, 200);
        const events = eventsSeenByClient(answer.body);
        assert.equal(events.length, 1);
        assert.equal(events[0]?.id, '1');
        assert.deepEqual(toolNamesSeenByClient(events), ['search_contacts']);
        assert.doesNotMatch(answer.body, /secret_admin/);
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: a JSON list answer that is not one JSON object with an object result is refused 502 upstream_error', async () => {
    const secret = '{"name":"secret_admin"}';
    const bodies = [
      `{"jsonrpc":"2.0","id":1,"result":{"tools":[${secret}]},"x":NaN}`, // read by lenient parsers
      `{"jsonrpc":"2.0","id":1,"result":{"tools":[${secret}]}`, // cut short
      `[{"jsonrpc":"2.0","id":1,"result":{"tools":[${secret}]}}]`, // a batch
      JSON.stringify(TOOLS_ANSWER), // a JSON string
      `{"jsonrpc":"2.0","id":1,"result":[${secret}]}`, // a result that is not an object
      '',
    ];
    let next = 0;
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(bodies[next++]);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        for (const body of bodies) {
          const answer = await rpc(base, '/crm/mcp', TOKEN, LIST_TOOLS);
          assert.equal(answer.status, 502, `${body}: ${answer.body}`);
          assert.deepEqual(JSON.parse(answer.body), UPSTREAM_ERROR_BODY);
        }
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: a JSON-RPC error answer to a list method still reaches the client', async () => {
    const error = { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'no tools here' } };
    const up = await startUpstream((_req, res) => answerJson(res, 200, error));
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await rpc(base, '/crm/mcp', TOKEN, LIST_TOOLS);
        assert.equal(answer.status, 200);
        assert.deepEqual(JSON.parse(answer.body), error);
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: a 2xx list answer with a body that is neither JSON nor SSE is refused 502 upstream_error', async () => {
    const types = ['text/plain', 'application/octet-stream', 'application/jsonl', undefined];
    let next = 0;
    const up = await startUpstream((_req, res) => {
      const type = types[next++];
      res.writeHead(200, type ? { 'content-type': type } : {});
      res.end(TOOLS_ANSWER);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        for (const type of types) {
          const answer = await rpc(base, '/crm/mcp', TOKEN, LIST_TOOLS);
          assert.equal(answer.status, 502, `${type ?? 'no type'}: ${answer.body}`);
          assert.deepEqual(JSON.parse(answer.body), UPSTREAM_ERROR_BODY);
        }
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: a list answer without a body (202, 204, empty 200) passes through', async () => {
    const answers: Array<[number, string | undefined]> = [
      [202, undefined],
      [204, 'text/plain'],
      [200, 'text/plain'],
      [202, 'application/json'],
    ];
    let next = 0;
    const up = await startUpstream((_req, res) => {
      const [status, type] = answers[next++] ?? [500, undefined];
      res.writeHead(status, type ? { 'content-type': type } : {});
      res.end();
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        for (const [status] of answers) {
          const answer = await rpc(base, '/crm/mcp', TOKEN, LIST_TOOLS);
          assert.equal(answer.status, status);
          assert.equal(answer.body, '');
        }
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: an SSE list answer with a data payload that is not one JSON object is refused 502 before anything is sent', async () => {
    const payloads = [
      `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret_admin"}]},"x":NaN}`,
      `[${TOOLS_ANSWER}]`,
      'secret_admin',
    ];
    let next = 0;
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`: opening comment\n\ndata: ${payloads[next++]}\n\n`);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        for (const payload of payloads) {
          const answer = await rpc(base, '/crm/mcp', TOKEN, LIST_TOOLS);
          assert.equal(answer.status, 502, `${payload}: ${answer.body}`);
          assert.deepEqual(JSON.parse(answer.body), UPSTREAM_ERROR_BODY);
        }
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: an SSE list answer that turns unreadable after its first event is cut, the rest never sent', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${PROGRESS}\n\n`);
      setTimeout(() => res.end(`data: [${TOOLS_ANSWER}]\n\ndata: ${PROGRESS}\n\n`), 50);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await receive(base, LIST_TOOLS);
        assert.equal(answer.status, 200);
        assert.equal(answer.complete, false, 'the client sees the stream break off');
        assert.deepEqual(
          eventsSeenByClient(answer.body).map((e) => e.data),
          [PROGRESS],
        );
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: an SSE list answer that fails while the audit record is written is cut, not left hanging', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`data: ${PROGRESS}\n\n`);
      setTimeout(() => res.end(`data: [${TOOLS_ANSWER}]\n\n`), 20);
    });
    try {
      const guard = new TestGuard({ filterList: hideSecretTools, completeDelayMs: 150 });
      await withGateway(guard, up.url, async (base) => {
        const answer = await receive(base, LIST_TOOLS);
        assert.equal(answer.complete, false, 'the client sees the stream break off');
        assert.doesNotMatch(answer.body, /secret_admin/);
      });
    } finally {
      await up.close();
    }
  });

  test('row 84: a GET stream carrying a data payload that is not JSON is cut', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`id: 1\ndata: ${PROGRESS}\n\n`);
      setTimeout(() => res.end(`id: 2\ndata: ${TOOLS_ANSWER.replace('}}', '},"x":NaN}')}\n\n`), 50);
    });
    try {
      await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
        const answer = await receive(base);
        assert.equal(answer.status, 200);
        assert.equal(answer.complete, false);
        assert.doesNotMatch(answer.body, /secret_admin/);
        assert.deepEqual(
          eventsSeenByClient(answer.body).map((e) => e.id),
          ['1'],
        );
      });
    } finally {
      await up.close();
    }
  });

  test('row 53: an SSE stream ends cleanly when the caller token expires', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\n');
      res.on('close', () => upstreamClosed()); // the upstream itself never ends the stream
    });
    try {
      await withGateway(new TestGuard({ tokenLifetimeSeconds: 0.3 }), up.url, async (base) => {
        const answer = await send(base, {
          method: 'GET',
          path: '/crm/mcp',
          headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' },
        });
        assert.equal(answer.status, 200);
        assert.match(answer.body, /notifications\/message/);
        await closed;
      });
    } finally {
      await up.close();
    }
  });

  test('an upstream answer with two Content-Type lines is refused 502, neither streamed nor passed through unfiltered', async () => {
    for (const types of [
      ['text/plain', 'application/json'],
      ['text/event-stream', 'text/event-stream'],
    ]) {
      const up = await startUpstream((_req, res) => {
        res.setHeader('content-type', types);
        res.writeHead(200);
        res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: TOOLS }));
      });
      try {
        await withGateway(new TestGuard({ filterList: hideSecretTools }), up.url, async (base) => {
          const answer = await rpc(base, '/crm/mcp', TOKEN, {
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/list',
          });
          assert.equal(answer.status, 502, `${types.join(', ')}: ${answer.body}`);
          assert.doesNotMatch(answer.body, /secret_admin/);
        });
      } finally {
        await up.close();
      }
    }
  });

  test('a client that goes away mid-stream cancels the upstream request', async () => {
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((resolve) => (upstreamClosed = resolve));
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\n');
      res.on('close', () => upstreamClosed()); // the upstream itself never ends the stream
    });
    try {
      await withGateway(new TestGuard(), up.url, async (base) => {
        const url = new URL(base);
        await new Promise<void>((resolve, reject) => {
          const req = httpRequest(
            {
              host: url.hostname,
              port: url.port,
              method: 'GET',
              path: '/crm/mcp',
              headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' },
            },
            (res) => {
              res.once('data', () => {
                req.destroy();
                resolve();
              });
            },
          );
          req.on('error', () => undefined);
          req.on('close', () => resolve());
          req.setTimeout(5000, () => reject(new Error('no event')));
          req.end();
        });
        await closed;
      });
    } finally {
      await up.close();
    }
  });

  test('a large answer to a slow client pauses the upstream instead of piling up in the gateway', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const total = 64 * 1024 * 1024;
    let written = 0;
    let writtenWhileClientPaused = 0;
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      const more = (): void => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
    });
    try {
      await withGateway(new TestGuard(), up.url, async (base) => {
        const url = new URL(base);
        const received = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            {
              host: url.hostname,
              port: url.port,
              method: 'GET',
              path: '/crm/mcp',
              headers: { authorization: `Bearer ${TOKEN}` },
            },
            (res) => {
              let size = 0;
              res.pause();
              setTimeout(() => {
                writtenWhileClientPaused = written;
                res.on('data', (c: Buffer) => (size += c.length));
                res.on('end', () => resolve(size));
                res.resume();
              }, 300);
            },
          );
          req.on('error', reject);
          req.end();
        });
        assert.equal(received, total, 'the whole answer arrives');
        assert.ok(
          writtenWhileClientPaused < total / 2,
          `the upstream was held back while the client did not read (${writtenWhileClientPaused} bytes written)`,
        );
      });
    } finally {
      await up.close();
    }
  });

  test('HttpUpstream answers can still be read as a stream (body)', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('id: 1\ndata: one\n\n');
      setTimeout(() => res.end('id: 2\ndata: two\n\n'), 20);
    });
    const upstream = new HttpUpstream({ url: up.url });
    try {
      const answer = await upstream.forward({
        method: 'POST',
        query: '',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{}'),
        principalKey: 'alice',
        requestId: 'r1',
        signal: new UpstreamAbort(),
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['content-type'], 'text/event-stream');
      const chunks: Buffer[] = [];
      for await (const c of answer.body) chunks.push(c as Buffer);
      assert.equal(
        Buffer.concat(chunks).toString('utf8'),
        'id: 1\ndata: one\n\nid: 2\ndata: two\n\n',
      );
    } finally {
      await upstream.close();
      await up.close();
    }
  });

  test('a client already full when the answer is attached holds the upstream back, whatever was held before (below the held limit)', async () => {
    const big = Buffer.alloc(1024 * 1024, 'b');
    let stop = false;
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // 40 KiB while the audit record would be written: held, below the 64 KiB pause limit.
      res.write(Buffer.alloc(40 * 1024, 'a'));
      const more = (): void => {
        while (!stop) {
          if (!res.write(big)) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      setTimeout(more, 100);
    });
    const upstream = new HttpUpstream({ url: up.url });
    const signal = new UpstreamAbort();
    // A client that reads nothing: every write after the first reports a full buffer.
    const client = new Writable({ highWaterMark: 1024, write: () => undefined });
    try {
      const answer = await upstream.forward({
        method: 'POST',
        query: '',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{}'),
        principalKey: 'alice',
        requestId: 'r1',
        signal,
      });
      await sleep(50); // the first 40 KiB arrive and are held
      assert.ok(answer.sendTo, 'the HTTP upstream writes answers straight into the client');
      answer.sendTo(client);
      await sleep(500); // the upstream offers several MiB meanwhile
      assert.ok(
        client.writableLength < 1024 * 1024,
        `the gateway took ${client.writableLength} bytes for a client that reads nothing`,
      );
    } finally {
      stop = true;
      signal.abort(new Error('test over'));
      client.destroy();
      await upstream.close().catch(() => undefined);
      await up.close();
    }
  });
});
