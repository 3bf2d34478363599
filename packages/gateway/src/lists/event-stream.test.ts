/** Specification of the SSE parser: the HTML standard's event stream interpretation, rule by rule. */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  EventStreamParser,
  EventStreamTooLargeError,
  type EventStreamParserOptions,
  type ServerSentEvent,
} from './event-stream.js';

/** What the parser reported, in order. */
type Report =
  | { readonly event: ServerSentEvent }
  | { readonly retry: number }
  | { readonly comment: string }
  | { readonly idWithoutData: string };

/** Feeds `chunks` (strings are UTF-8 encoded) and ends the stream. */
function parse(
  chunks: ReadonlyArray<string | Uint8Array>,
  options: Partial<EventStreamParserOptions> = {},
): Report[] {
  const reports: Report[] = [];
  const parser = new EventStreamParser({
    ...options,
    onEvent: (event) => reports.push({ event }),
    onRetry: (retry) => reports.push({ retry }),
    onComment: (comment) => reports.push({ comment }),
    onIdWithoutData: (id) => reports.push({ idWithoutData: id }),
  });
  for (const chunk of chunks) parser.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  parser.end();
  return reports;
}

/** The data of every dispatched event. */
function data(chunks: ReadonlyArray<string | Uint8Array>): string[] {
  return parse(chunks).flatMap((r) => ('event' in r ? [r.event.data] : []));
}

const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);

describe('event stream parser', () => {
  test('drops one leading BOM, also when it is split across chunks', () => {
    assert.deepEqual(data([Buffer.concat([BOM, Buffer.from('data: a\n\n')])]), ['a']);
    assert.deepEqual(
      data([BOM.subarray(0, 1), BOM.subarray(1, 2), BOM.subarray(2), 'data: a\n\n']),
      ['a'],
    );
  });

  test('drops only one BOM: a second one starts the first field name, which is then unknown', () => {
    assert.deepEqual(data([Buffer.concat([BOM, BOM, Buffer.from('data: a\n\ndata: b\n\n')])]), [
      'b',
    ]);
    assert.deepEqual(data(['data: a\n\n\uFEFFdata: b\n\n']), ['a']);
  });

  test('ends lines with CR, LF or CRLF, mixed in one stream', () => {
    assert.deepEqual(data(['data: a\r\rdata: b\n\ndata: c\r\n\r\ndata: d\r\ndata: e\r\n\n']), [
      'a',
      'b',
      'c',
      'd\ne',
    ]);
  });

  test('a CR and an LF arriving in different chunks are one line ending', () => {
    assert.deepEqual(data(['data: a\r', '\ndata: b\r', '\n\r', '\n']), ['a\nb']);
    // An empty chunk between them changes nothing.
    assert.deepEqual(data(['data: a\r', '', '\n', '\n']), ['a']);
  });

  test('a CR at the end of a chunk ends its line at once: the event is dispatched without waiting', () => {
    const reports: string[] = [];
    const parser = new EventStreamParser({ onEvent: (event) => reports.push(event.data) });
    parser.feed(Buffer.from('data: a\r\r'));
    assert.deepEqual(reports, ['a']);
    parser.feed(Buffer.from('\ndata: b\n\n')); // the LF belonged to the CR before it
    assert.deepEqual(reports, ['a', 'b']);
  });

  test('events separated by \\n\\r\\n are separate events (LF, then a CRLF blank line)', () => {
    assert.deepEqual(data(['data: a\n\r\ndata: b\n\r\n']), ['a', 'b']);
  });

  test('a line without a colon is a field name with an empty value', () => {
    assert.deepEqual(data(['data\n\n']), ['']);
    assert.deepEqual(data(['data\ndata\ndata: x\n\n']), ['\n\nx']);
    assert.deepEqual(parse(['event\ndata: x\n\n']), [{ event: { data: 'x' } }]);
  });

  test('removes exactly one space after the colon, and only a space', () => {
    assert.deepEqual(data(['data:a\n\ndata: a\n\ndata:  a\n\ndata:\ta\n\ndata: a \n\n']), [
      'a',
      'a',
      ' a',
      '\ta',
      'a ',
    ]);
    assert.deepEqual(data(['data: a: b\n\n']), ['a: b']);
  });

  test('a comment is a line starting with a colon and carries no data', () => {
    assert.deepEqual(parse([': keep-alive\n:\n:: x\n\n']), [
      { comment: ' keep-alive' },
      { comment: '' },
      { comment: ': x' },
    ]);
  });

  test('field names are compared exactly; unknown fields are ignored', () => {
    assert.deepEqual(data(['Data: a\n data: b\ndata : c\ndatum: d\nfoo: e\n\n']), []);
  });

  test('sets the event type; an empty one is the default (message)', () => {
    assert.deepEqual(parse(['event: update\ndata: a\n\nevent: x\nevent:\ndata: b\n\n']), [
      { event: { data: 'a', type: 'update' } },
      { event: { data: 'b' } },
    ]);
  });

  test('ignores an id containing NUL, keeping the id set before it in the event', () => {
    assert.deepEqual(parse(['id: 1\nid: 2\0\ndata: a\n\nid: \0\ndata: b\n\n']), [
      { event: { data: 'a', id: '1' } },
      { event: { data: 'b' } },
    ]);
    assert.deepEqual(parse(['id:\ndata: a\n\n']), [{ event: { data: 'a', id: '' } }]);
  });

  test('takes a retry only when its value is all ASCII digits', () => {
    assert.deepEqual(
      parse([
        'retry: 1500\nretry:0042\nretry:\nretry:  15\nretry: 15 \nretry: 1e3\nretry: -1\n',
        'retry: \u0661\u0662\nretry: 0x10\nretry: 1.5\n\n',
      ]),
      [{ retry: 1500 }, { retry: 42 }],
    );
  });

  test('an event with empty data is dispatched; a block without data is not', () => {
    assert.deepEqual(parse(['data:\n\n']), [{ event: { data: '' } }]);
    assert.deepEqual(parse(['event: x\n\nretry: 5\n\n\n\n']), [{ retry: 5 }]);
  });

  test('a block with an id and no data dispatches nothing but reports the id (the last event ID)', () => {
    assert.deepEqual(parse(['id: 7\n\nid: 8\nevent: x\n\n']), [
      { idWithoutData: '7' },
      { idWithoutData: '8' },
    ]);
  });

  test('removes one trailing LF from the data: a data line with an empty value stays', () => {
    assert.deepEqual(data(['data: a\ndata:\n\n']), ['a\n']);
  });

  test('discards an incomplete last event at the end of the stream', () => {
    assert.deepEqual(data(['data: a\n\ndata: b\n']), ['a']);
    assert.deepEqual(data(['data: a\n\ndata: b']), ['a']);
    assert.deepEqual(data(['data: a\n\ndata: b\r']), ['a']);
  });

  test('an event whose blank line is a CR at the very end of the stream is dispatched', () => {
    assert.deepEqual(data(['data: a\r\r']), ['a']);
  });

  test('decodes UTF-8 across chunk boundaries and replaces invalid bytes with U+FFFD', () => {
    const text = Buffer.from('data: é😀\n\n');
    const chunks = [...text].map((byte) => Uint8Array.of(byte));
    assert.deepEqual(data(chunks), ['é😀']);
    assert.deepEqual(data([Uint8Array.of(0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0xc3, 0x0a, 0x0a)]), [
      '\uFFFD\uFFFD',
    ]);
    // Bytes of an unfinished sequence at the end of the stream are replaced too, then discarded
    // with the unfinished event.
    assert.deepEqual(data(['data: a\n\ndata: ', Uint8Array.of(0xe2, 0x82)]), ['a']);
  });

  test('an event larger than maxEventChars throws EventStreamTooLargeError', () => {
    assert.throws(
      () => parse(['data: 0123456789abcdef'], { maxEventChars: 10 }),
      EventStreamTooLargeError,
    );
    assert.throws(
      () => parse(['data: 012345\ndata: 6789ab\n'], { maxEventChars: 10 }),
      EventStreamTooLargeError,
    );
    assert.deepEqual(
      parse(['data: 01234\n\ndata: 56789\n\n'], { maxEventChars: 10 }).length,
      2,
      'the limit counts one event at a time',
    );
  });
});
