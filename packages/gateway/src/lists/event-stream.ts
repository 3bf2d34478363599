/**
 * A parser of `text/event-stream` bodies that follows the HTML standard's event stream
 * interpretation exactly (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
 * so the gateway reads an SSE answer the way a conforming client does: UTF-8 decoded with
 * replacement, one leading BOM dropped, lines ended by CRLF, LF or CR, events dispatched on blank
 * lines, and an event left unfinished at the end of the stream discarded.
 */
import { McpIamError } from '@mcp-iam/core';

const LF = 0x0a;
const SPACE = 0x20;
const ASCII_DIGITS = /^[0-9]+$/;

/** One event the stream dispatched. */
export interface ServerSentEvent {
  /** The event's `data` lines joined with LF. */
  readonly data: string;
  /** The `event` field, when the event set a non-empty one (absent means `message`). */
  readonly type?: string;
  /**
   * The `id` field of this event's block (the last one without NUL), when it had one. A client
   * keeps the last id it was given as its last event ID until another one comes.
   */
  readonly id?: string;
}

/** What an `EventStreamParser` reports, in stream order. */
export interface EventStreamHandlers {
  /** An event was dispatched (a blank line ended a block with at least one `data` line). */
  onEvent(event: ServerSentEvent): void;
  /** A `retry` field of ASCII digits set the reconnection time, in milliseconds. */
  onRetry?(ms: number): void;
  /** A comment line: the text after its `:`, untrimmed. */
  onComment?(text: string): void;
  /**
   * A blank line ended a block that set an `id` but had no `data`: nothing is dispatched, but a
   * client's last event ID (sent back as `Last-Event-ID` on reconnection) is now `id`.
   */
  onIdWithoutData?(id: string): void;
}

/** Options of `EventStreamParser`. */
export interface EventStreamParserOptions extends EventStreamHandlers {
  /**
   * Most characters an event may hold while it is read (its data plus the unfinished line);
   * beyond it `feed` throws `EventStreamTooLargeError`. Default: no limit.
   */
  readonly maxEventChars?: number;
}

/** An event grew beyond `maxEventChars`. */
export class EventStreamTooLargeError extends McpIamError<'sse_event_too_large'> {
  constructor(maxEventChars: number) {
    super('sse_event_too_large', `SSE event larger than ${maxEventChars} characters`);
    this.name = 'EventStreamTooLargeError';
  }
}

/**
 * Reads an event stream chunk by chunk, in any split (inside a UTF-8 sequence, the BOM, or a
 * CRLF), and reports events, retries and comments through its handlers while feeding. A handler
 * that throws stops the feed that called it; the parser is then not to be fed again.
 *
 * Field semantics, per the standard: `data` appends its value and an LF to the data buffer;
 * `event` sets the event type; `id` sets the event's id unless the value contains NUL; `retry`
 * counts only when it is all ASCII digits; other fields are ignored. A field's value is the text
 * after the first `:` with one leading space removed; a line without `:` is a field name with an
 * empty value. At a blank line an empty data buffer dispatches nothing; otherwise its one trailing
 * LF is removed and the event dispatched.
 *
 * @example
 * ```ts
 * const parser = new EventStreamParser({ onEvent: (event) => console.log(event.data) });
 * parser.feed(Buffer.from('\uFEFFdata: one\r')); // the BOM is dropped, the line ends at the CR
 * parser.feed(Buffer.from('\n\r\n')); // the LF completes that CRLF; the blank line logs "one"
 * parser.end();
 * ```
 */
export class EventStreamParser {
  readonly #handlers: EventStreamHandlers;
  readonly #maxEventChars: number;
  /** Decodes UTF-8 with replacement and drops one leading BOM, across chunk boundaries. */
  readonly #decoder = new TextDecoder('utf-8');
  /** The start of a line whose end has not arrived yet. */
  #line = '';
  /** The last chunk ended with CR: an LF starting the next one belongs to that line ending. */
  #afterCr = false;
  #data = '';
  #type = '';
  #id: string | undefined;

  constructor(options: EventStreamParserOptions) {
    this.#handlers = options;
    this.#maxEventChars = options.maxEventChars ?? Infinity;
  }

  /** Reads the next bytes of the stream. */
  feed(chunk: Uint8Array): void {
    this.#read(this.#decoder.decode(chunk, { stream: true }));
    if (this.#line.length + this.#data.length > this.#maxEventChars)
      throw new EventStreamTooLargeError(this.#maxEventChars);
  }

  /** Ends the stream: an unfinished line or event is discarded, as the standard requires. */
  end(): void {
    this.#read(this.#decoder.decode());
    this.#line = '';
    this.#afterCr = false;
    this.#data = '';
    this.#type = '';
    this.#id = undefined;
  }

  #read(text: string): void {
    const length = text.length;
    if (length === 0) return;
    let start = 0;
    if (this.#afterCr) {
      this.#afterCr = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    // The next CR and LF at or after `start`, -1 once there is none left: each is searched again
    // only after it was passed, so a chunk is scanned once whatever its line endings.
    let cr = text.indexOf('\r', start);
    let lf = text.indexOf('\n', start);
    while (start < length) {
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (end === -1) break;
      const piece = text.slice(start, end);
      const line = this.#line === '' ? piece : this.#line + piece;
      this.#line = '';
      start = end + 1;
      if (end === cr) {
        if (start === length) this.#afterCr = true;
        else if (text.charCodeAt(start) === LF) start++;
      }
      this.#processLine(line);
    }
    if (start < length) this.#line += text.slice(start);
  }

  #processLine(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) {
      this.#handlers.onComment?.(line.slice(1));
      return;
    }
    let field = line;
    let value = '';
    if (colon > 0) {
      field = line.slice(0, colon);
      value = line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    }
    switch (field) {
      case 'data':
        this.#data += value;
        this.#data += '\n';
        if (this.#data.length > this.#maxEventChars)
          throw new EventStreamTooLargeError(this.#maxEventChars);
        return;
      case 'event':
        this.#type = value;
        return;
      case 'id':
        if (!value.includes('\0')) this.#id = value;
        return;
      case 'retry':
        if (ASCII_DIGITS.test(value)) this.#handlers.onRetry?.(Number.parseInt(value, 10));
        return;
      default:
        return; // unknown fields are ignored
    }
  }

  #dispatch(): void {
    const data = this.#data;
    const type = this.#type;
    const id = this.#id;
    this.#data = '';
    this.#type = '';
    this.#id = undefined;
    if (data === '') {
      if (id !== undefined) this.#handlers.onIdWithoutData?.(id);
      return;
    }
    const event: { data: string; type?: string; id?: string } = { data: data.slice(0, -1) };
    if (type !== '') event.type = type;
    if (id !== undefined) event.id = id;
    this.#handlers.onEvent(event);
  }
}
