/** Specification of list filtering on JSON bodies and SSE streams. */
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { filterJsonBody, inferListMethod, SseListFilter } from './filter.js';

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
    assert.equal(filterJsonBody('not json', { filter, method: 'tools/list' }), 'not json');
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
      `: keep-alive\n\ndata: {"jsonrpc":"2.0","method":"notifications/message"}\n\nid: 7\nevent: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { tools: [{ name: 'a' }] } })}\n\n`,
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
    );
  });
});
