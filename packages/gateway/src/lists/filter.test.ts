/** Specification of list filtering on JSON bodies and SSE streams. */
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { EventStreamTooLargeError } from './event-stream.js';
import { filterJsonBody, inferListMethod, ListAnswerError, SseListFilter } from './filter.js';

const filter = (method: string, result: unknown): unknown => {
  const r = result as Record<string, { name: string }[]>;
  const key = method.split('/')[0] as string;
  return { ...r, [key]: (r[key] ?? []).filter((x) => !x.name.startsWith('hidden')) };
};

async function collect(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

describe('list filtering', () => {
  test('rewrites the result of a list answer and leaves other bodies untouched', () => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      result: { prompts: [{ name: 'a' }, { name: 'hidden-b' }] },
    });
    assert.deepEqual(
      JSON.parse(filterJsonBody(body, { filter, method: 'prompts/list' })).result.prompts,
      [{ name: 'a' }],
    );
    const error = '{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}';
    assert.equal(filterJsonBody(error, { filter, method: 'tools/list' }), error);
    assert.throws(
      () => filterJsonBody('not json', { filter, method: 'tools/list' }),
      ListAnswerError,
    );
    const call = '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"hidden"}]}}';
    assert.equal(filterJsonBody(call, { filter, method: 'tools/call' }), call);
  });

  test('infers the list method from the result shape', () => {
    assert.equal(inferListMethod({ tools: [] }), 'tools/list');
    assert.equal(inferListMethod({ resourceTemplates: [] }), 'resources/templates/list');
    assert.equal(inferListMethod({ resources: [] }), 'resources/list');
    assert.equal(inferListMethod({ prompts: [] }), 'prompts/list');
    assert.equal(inferListMethod({ content: [] }), undefined);
  });

  test('rewrites SSE events split across chunks and keeps comments, ids and other events', async () => {
    const event = `id: 7\nevent: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'a' }, { name: 'hidden' }] } })}\n\n`;
    const text = `: keep-alive\n\ndata: {"jsonrpc":"2.0","method":"notifications/message"}\n\n${event}`;
    const chunks = [text.slice(0, 5), text.slice(5, 40), text.slice(40, 90), text.slice(90)];
    const out = await collect(
      Readable.from(chunks.map((c) => Buffer.from(c))).pipe(
        new SseListFilter({ filter, method: 'tools/list' }),
      ),
    );
    assert.equal(
      out,
      `: keep-alive\n\ndata: {"jsonrpc":"2.0","method":"notifications/message"}\n\nevent: message\nid: 7\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'a' }] } })}\n\n`,
    );
  });

  test('rewrites multi-line data payloads and fails on an oversized event', async () => {
    const multi =
      'data: {"jsonrpc":"2.0","id":1,\ndata: "result":{"tools":[{"name":"hidden"}]}}\n\n';
    const out = await collect(
      Readable.from([Buffer.from(multi)]).pipe(new SseListFilter({ filter, method: 'tools/list' })),
    );
    assert.equal(out, 'data: {"jsonrpc":"2.0","id":1,"result":{"tools":[]}}\n\n');
    const huge = new SseListFilter({ filter, maxEventChars: 10 });
    await assert.rejects(
      collect(Readable.from([Buffer.from('data: 0123456789abcdef')]).pipe(huge)),
      EventStreamTooLargeError,
    );
  });

  test('a JSON list answer that is not one JSON object, or whose result is not an object, throws ListAnswerError', () => {
    const hidden = '{"name":"hidden"}';
    for (const body of [
      '',
      `{"jsonrpc":"2.0","id":1,"result":{"tools":[${hidden}]}`,
      `{"jsonrpc":"2.0","id":1,"result":{"tools":[${hidden}]},"x":NaN}`,
      `[{"jsonrpc":"2.0","id":1,"result":{"tools":[${hidden}]}}]`,
      '"text"',
      'null',
      `{"jsonrpc":"2.0","id":1,"result":[${hidden}]}`,
      '{"jsonrpc":"2.0","id":1,"result":null}',
    ])
      assert.throws(
        () => filterJsonBody(body, { filter, method: 'tools/list' }),
        ListAnswerError,
        body,
      );
    // Without a known method (a GET stream), a result of no list shape is not a list answer.
    const other = '{"jsonrpc":"2.0","id":1,"result":"x"}';
    assert.equal(filterJsonBody(other, { filter }), other);
  });

  test('drops one leading BOM of a JSON body, then filters it', () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'hidden' }] } });
    assert.equal(
      filterJsonBody(`\uFEFF${body}`, { filter, method: 'tools/list' }),
      '{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}',
    );
    const error = '{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}}';
    assert.equal(filterJsonBody(`\uFEFF${error}`, { filter, method: 'tools/list' }), error);
    assert.throws(
      () => filterJsonBody(`\uFEFF\uFEFF${body}`, { filter, method: 'tools/list' }),
      ListAnswerError,
    );
  });

  test('a message with a result is filtered as an answer even when it also names a method', () => {
    const body = '{"jsonrpc":"2.0","id":1,"method":"x","result":{"tools":[{"name":"hidden"}]}}';
    assert.deepEqual(JSON.parse(filterJsonBody(body, { filter })).result.tools, []);
  });

  test('writes SSE out in one canonical form: LF endings, no BOM, comments, retry and bare ids as their own blocks', async () => {
    const text =
      '\uFEFFretry: 1500\r\n: hi\r\ndata: {"jsonrpc":"2.0","method":"m"}\r\nid: 1\r\nevent: message\r\n\r\n' +
      'id: 2\r\rdata:{"jsonrpc":"2.0",\rdata\rdata:"method":"n"}\n\n' +
      'data: {"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"hidden"},{"name":"a"}]}}\n\r\n' +
      'data: {"unfinished":true}\n';
    const out = await collect(
      Readable.from([Buffer.from(text)]).pipe(new SseListFilter({ filter, method: 'tools/list' })),
    );
    assert.equal(
      out,
      'retry: 1500\n\n: hi\n\nevent: message\nid: 1\ndata: {"jsonrpc":"2.0","method":"m"}\n\n' +
        'id: 2\n\ndata: {"jsonrpc":"2.0",\ndata: \ndata: "method":"n"}\n\n' +
        'data: {"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"a"}]}}\n\n',
    );
  });

  test('an SSE event with empty data (a priming event) passes, its id and retry kept', async () => {
    const out = await collect(
      Readable.from([Buffer.from('id: p-1\nretry: 3000\ndata: \n\n')]).pipe(
        new SseListFilter({ filter, method: 'tools/list' }),
      ),
    );
    assert.equal(out, 'retry: 3000\n\nid: p-1\ndata: \n\n');
  });

  test('an SSE data payload that is not one JSON object fails the stream, with or without a known method', async () => {
    const payloads = [
      '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"hidden"}]},"x":NaN}',
      '[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"hidden"}]}}]',
      '"hidden"',
      'hidden',
    ];
    for (const method of ['tools/list', undefined])
      for (const payload of payloads) {
        const filtered = new SseListFilter({ filter, method });
        const stream = Readable.from([Buffer.from(`: x\n\ndata: ${payload}\n\n`)]).pipe(filtered);
        await assert.rejects(collect(stream), ListAnswerError, `${method}: ${payload}`);
      }
  });

  test('an SSE list answer whose result is not an object fails the stream', async () => {
    const filtered = new SseListFilter({ filter, method: 'tools/list' });
    const stream = Readable.from([
      Buffer.from('data: {"jsonrpc":"2.0","id":1,"result":[{"name":"hidden"}]}\n\n'),
    ]).pipe(filtered);
    await assert.rejects(collect(stream), ListAnswerError);
  });
});
