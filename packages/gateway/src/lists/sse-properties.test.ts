/**
 * Properties of the gateway's SSE reading and writing, checked against an independent parser:
 * `eventsource-parser`, the one the MCP TypeScript SDK's client reads SSE with (after a
 * `TextDecoderStream`, which drops one leading BOM and replaces invalid UTF-8).
 *
 * 1. `EventStreamParser` reports the same events, retries and comments as `eventsource-parser`
 *    on generated streams: random fields, comments, CR / LF / CRLF endings, BOMs, unicode and
 *    invalid UTF-8, cut into random chunks.
 * 2. What `SseListFilter` writes, read by that client, never shows a hidden tool, and every other
 *    event arrives as the client would have read it from the upstream.
 *
 * Known differences of `eventsource-parser` 3.x, which the comparison accounts for:
 * - A line ended by a CR at the end of a chunk is held until a later chunk brings another line
 *   ending (to tell CR from CRLF); when the stream ends first, that line is never processed (an
 *   event whose blank line it is is not dispatched, a comment not reported). The standard, and
 *   `EventStreamParser`, end the line at the CR. The reference is fed the stream up to its last
 *   line ending, plus an LF when that ending is a CR (making it a CRLF, so no extra line).
 * - It strips the three characters U+00EF U+00BB U+00BF (a BOM's bytes read as Latin-1) at the
 *   start of its first chunk, not U+FEFF: the BOM itself is left to the UTF-8 decoder before it,
 *   as the standard does. Generated streams do not start with those characters; the gateway's
 *   output never does (it starts with a field name, `:` or LF).
 * - It reports an `id` only with a dispatched event; a block with an id and no data, which per the
 *   standard still sets the last event ID, is not reported (`onIdWithoutData` here), so it is left
 *   out of the comparison.
 */
import { strict as assert } from 'node:assert';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { EventStreamParser } from './event-stream.js';
import { SseListFilter } from './filter.js';

const RUNS = 300;

/** One thing a parser reported, comparable across parsers. */
type Report =
  | readonly ['event', string | undefined, string | undefined, string]
  | readonly ['retry', number]
  | readonly ['comment', string];

/** The bytes cut at `cuts` (positions taken modulo the length). */
function chunksOf(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const positions = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const position of [...positions, bytes.length]) {
    chunks.push(bytes.subarray(start, position));
    start = position;
  }
  return chunks;
}

/** What `EventStreamParser` reports for the stream, comments without one leading space. */
function ours(chunks: readonly Uint8Array[]): Report[] {
  const reports: Report[] = [];
  const parser = new EventStreamParser({
    onEvent: (event) => reports.push(['event', event.id, event.type, event.data]),
    onRetry: (ms) => reports.push(['retry', ms]),
    onComment: (text) => reports.push(['comment', text.startsWith(' ') ? text.slice(1) : text]),
  });
  for (const chunk of chunks) parser.feed(chunk);
  parser.end();
  return reports;
}

/** The text the SDK's client parses: UTF-8 decoded chunk by chunk, as a `TextDecoderStream`. */
function decodedChunks(chunks: readonly Uint8Array[]): string[] {
  const decoder = new TextDecoder();
  const texts = chunks.map((chunk) => decoder.decode(chunk, { stream: true }));
  texts.push(decoder.decode());
  return texts;
}

/**
 * What `eventsource-parser` reports for the stream, read as the SDK's client reads it: fed the
 * decoded chunks up to the stream's last line ending (the unfinished line after it is discarded
 * either way), and an LF after that ending when it is a CR (see the differences above).
 */
function reference(chunks: readonly Uint8Array[]): Report[] {
  const reports: Report[] = [];
  const parser = createParser({
    onEvent: (event) => reports.push(['event', event.id, event.event, event.data]),
    onRetry: (ms) => reports.push(['retry', ms]),
    onComment: (text) => reports.push(['comment', text]),
  });
  const texts = decodedChunks(chunks);
  const whole = texts.join('');
  const complete = Math.max(whole.lastIndexOf('\r'), whole.lastIndexOf('\n')) + 1;
  let fed = 0;
  for (const text of texts) {
    const part = text.slice(0, Math.max(0, complete - fed));
    fed += text.length;
    parser.feed(part);
  }
  if (whole.charAt(complete - 1) === '\r') parser.feed('\n');
  return reports;
}

function startsWithLatin1Bom(chunks: readonly Uint8Array[]): boolean {
  return decodedChunks(chunks).join('').startsWith('\u00EF\u00BB\u00BF');
}

const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);
const lineEnding = fc.constantFrom('\n', '\r', '\r\n');
/** Characters that matter to the grammar, and any other UTF-16 unit (lone surrogates too). */
const char = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(':', ' ', '\0', '\uFEFF', '\t', 'd', 'a', 'i', 'r', '7'),
  },
  { weight: 2, arbitrary: fc.constantFrom('é', '😀', '\u2028', '\u0085', '\r', '\n') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const text = fc.string({ unit: char, maxLength: 12 });
const fieldName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('data', 'event', 'id', 'retry') },
  { weight: 1, arbitrary: fc.constantFrom('Data', 'dat', 'data ', ' data', '', 'id\0') },
  { weight: 1, arbitrary: fc.string({ unit: char, maxLength: 5 }) },
);
const retryValue = fc.oneof(
  fc.nat().map(String),
  fc.constantFrom('', '007', '1e3', ' 5', '5 ', '-1', '\u0661\u0662', '123456789012345678901'),
);
/** One line, without its ending. */
const line = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fieldName, fc.constantFrom(':', ': ', ':  ', ''), text)
      .map(([name, colon, value]) => `${name}${colon}${value}`),
  },
  { weight: 1, arbitrary: retryValue.map((value) => `retry: ${value}`) },
  { weight: 1, arbitrary: text.map((comment) => `:${comment}`) },
  { weight: 3, arbitrary: fc.constant('') },
);
/** Invalid UTF-8 bytes to splice in: lone continuation and lead bytes, BOM pieces. */
const strayByte = fc.constantFrom(0xff, 0xc3, 0xe2, 0x80, 0xbf, 0xbb, 0xef);

const stream = fc
  .record({
    boms: fc.nat(2),
    lines: fc.array(fc.tuple(line, lineEnding), { maxLength: 30 }),
    unfinished: text,
    stray: fc.array(fc.tuple(fc.nat(), strayByte), { maxLength: 3 }),
    cuts: fc.array(fc.nat(), { maxLength: 10 }),
  })
  .map(({ boms, lines, unfinished, stray, cuts }) => {
    const body = lines.map(([l, ending]) => l + ending).join('') + unfinished;
    let bytes = Buffer.concat([...Array<Uint8Array>(boms).fill(BOM), Buffer.from(body)]);
    for (const [at, byte] of stray) {
      const i = at % (bytes.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, i), Uint8Array.of(byte), bytes.subarray(i)]);
    }
    return chunksOf(bytes, cuts);
  });

// ---- list answers in SSE streams ----

const isHidden = (name: string): boolean => name.startsWith('secret_');

function hideSecrets(method: string, result: unknown): unknown {
  const r = result as { tools?: { name: string }[] };
  if (method !== 'tools/list' || !Array.isArray(r.tools)) return result;
  return { ...r, tools: r.tools.filter((tool) => !isHidden(tool.name)) };
}

const toolName = fc.oneof(
  fc.constantFrom('search', 'read', 'write'),
  fc.nat(99).map((n) => `secret_${n}`),
);
const fieldText = fc.string({ unit: char, maxLength: 8 }).filter((t) => !/[\r\n\0]/.test(t));

/** One upstream event or line group, as lines (without endings). */
const item = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({
        id: fc.option(fieldText, { nil: undefined }),
        type: fc.option(fc.constantFrom('message', 'update'), { nil: undefined }),
        tools: fc.array(toolName, { maxLength: 5 }),
        pretty: fc.boolean(),
        spaced: fc.boolean(),
      })
      .map(({ id, type, tools, pretty, spaced }) => {
        const answer = {
          jsonrpc: '2.0',
          id: 1,
          result: { tools: tools.map((name) => ({ name })) },
        };
        const json = pretty ? JSON.stringify(answer, null, 2) : JSON.stringify(answer);
        const data = json.split('\n').map((l) => (spaced ? `data: ${l}` : `data:${l}`));
        return [
          ...(type !== undefined ? [`event: ${type}`] : []),
          ...data,
          ...(id !== undefined ? [`id: ${id}`] : []),
        ];
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ id: fc.option(fieldText, { nil: undefined }), note: fc.string({ unit: char }) })
      .filter(({ note }) => !note.includes('secret_'))
      .map(({ id, note }) => [
        ...(id !== undefined ? [`id: ${id}`] : []),
        `data: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { note } })}`,
      ]),
  },
  { weight: 1, arbitrary: fieldText.map((id) => [`id: ${id}`, 'retry: 1000', 'data: ']) },
  { weight: 1, arbitrary: fieldText.map((comment) => [`:${comment}`]) },
);

const listStream = fc
  .record({
    bom: fc.boolean(),
    items: fc.array(fc.tuple(item, lineEnding, lineEnding), { maxLength: 8 }),
    cuts: fc.array(fc.nat(), { maxLength: 10 }),
    method: fc.constantFrom('tools/list', undefined),
  })
  .map(({ bom, items, cuts, method }) => {
    // Each item's lines end with one ending, and a blank line with another ends the item (not an
    // LF right after a CR: the two would be one CRLF, and no blank line).
    const body = items
      .map(([lines, ending, blank]) => {
        const blankLine = ending === '\r' && blank === '\n' ? '\r\n' : blank;
        return lines.join(ending) + ending + blankLine;
      })
      .join('');
    const bytes = Buffer.concat([bom ? BOM : new Uint8Array(0), Buffer.from(body)]);
    return { chunks: chunksOf(bytes, cuts), method };
  });

async function filtered(
  chunks: readonly Uint8Array[],
  method: string | undefined,
): Promise<Buffer> {
  const out: Buffer[] = [];
  const filter = new SseListFilter({ filter: hideSecrets, method });
  for await (const chunk of Readable.from(chunks).pipe(filter)) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

function listedTools(data: string): string[] | undefined {
  const message = JSON.parse(data) as { result?: { tools?: { name: string }[] } };
  return message.result?.tools?.map((tool) => tool.name);
}

describe('SSE properties against eventsource-parser', () => {
  test('EventStreamParser dispatches the same events, retries and comments as eventsource-parser', () => {
    fc.assert(
      fc.property(stream, (chunks) => {
        fc.pre(!startsWithLatin1Bom(chunks));
        assert.deepEqual(ours(chunks), reference(chunks));
      }),
      { numRuns: RUNS },
    );
  });

  test('eventsource-parser strips U+00EF U+00BB U+00BF at the start, EventStreamParser does not (it is no BOM)', () => {
    const chunks = [Buffer.from('\u00EF\u00BB\u00BFdata: a\n\ndata: b\n\n')];
    assert.deepEqual(reference(chunks), [
      ['event', undefined, undefined, 'a'],
      ['event', undefined, undefined, 'b'],
    ]);
    assert.deepEqual(ours(chunks), [['event', undefined, undefined, 'b']]);
  });

  test('SseListFilter output read by eventsource-parser shows no hidden tool and keeps every other event as the upstream sent it', async () => {
    await fc.assert(
      fc.asyncProperty(listStream, async ({ chunks, method }) => {
        const output = await filtered(chunks, method);
        const text = new TextDecoder().decode(output);
        assert.doesNotMatch(text, /secret_/);
        const seen = reference([output]);
        const upstream = reference(chunks);
        assert.equal(seen.length, upstream.length);
        upstream.forEach((report, i) => {
          const got = seen[i] as Report;
          if (report[0] !== 'event' || got[0] !== 'event') {
            assert.deepEqual(got, report);
            return;
          }
          assert.deepEqual(got.slice(0, 3), report.slice(0, 3), 'id and event type kept');
          const tools = report[3] === '' ? undefined : listedTools(report[3]);
          if (tools === undefined) assert.equal(got[3], report[3], 'a non-list event is unchanged');
          else
            assert.deepEqual(
              listedTools(got[3]),
              tools.filter((name) => !isHidden(name)),
            );
        });
      }),
      { numRuns: RUNS },
    );
  });
});
