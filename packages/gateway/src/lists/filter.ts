/**
 * List filtering on the way back from the upstream: a caller sees in `tools/list`, `resources/list`,
 * `resources/templates/list` and `prompts/list` only what it may use. Works on a JSON body and,
 * event by event, on an SSE stream. It fails closed: an answer it cannot read is refused
 * (`ListAnswerError`), never passed on unfiltered, and an SSE stream leaves in one canonical form
 * built from what the gateway parsed, so a client cannot read in it anything the gateway did not.
 */
import { McpIamError } from '@mcp-iam/core';
import { Transform, type TransformCallback } from 'node:stream';
import { EventStreamParser, type ServerSentEvent } from './event-stream.js';

/** Rewrites the result of one list method; returns the result to send. */
export type ListFilter = (method: string, result: unknown) => unknown;

/** JSON-RPC methods whose results are filtered. */
export const LIST_METHODS = [
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'prompts/list',
] as const;

/** Whether a JSON-RPC method returns a list that is filtered. */
export function isListMethod(method: string): boolean {
  return (LIST_METHODS as readonly string[]).includes(method);
}

/**
 * The list method a result answers, from its shape (`{ tools: [...] }` → `tools/list`); used for
 * streams whose request is not known (resumed SSE streams).
 */
export function inferListMethod(result: unknown): string | undefined {
  if (result === null || typeof result !== 'object') return undefined;
  const r = result as Record<string, unknown>;
  if (Array.isArray(r.tools)) return 'tools/list';
  if (Array.isArray(r.resourceTemplates)) return 'resources/templates/list';
  if (Array.isArray(r.resources)) return 'resources/list';
  if (Array.isArray(r.prompts)) return 'prompts/list';
  return undefined;
}

/** Which messages to rewrite and how. */
export interface ListFilterContext {
  readonly filter: ListFilter;
  /** Method of the request whose answer this is; inferred from the result's shape when absent. */
  readonly method?: string;
}

/** A list answer the gateway cannot read, so cannot filter: it must not reach the client. */
export class ListAnswerError extends McpIamError<'list_answer_unreadable'> {
  constructor(message: string) {
    super('list_answer_unreadable', message);
    this.name = 'ListAnswerError';
  }
}

/** The JSON object `text` holds; anything else throws `ListAnswerError` naming it `what`. */
function parseMessage(text: string, what: string): Record<string, unknown> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    throw new ListAnswerError(`${what} is not JSON`);
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message))
    throw new ListAnswerError(`${what} is not one JSON object`);
  return message as Record<string, unknown>;
}

/**
 * The message with its list result filtered, or the message itself when it carries no list
 * result. Any message with a `result` counts as an answer (a `method` beside it does not exempt
 * it); a list answer whose `result` is not an object is refused.
 */
function rewriteMessage(
  message: Record<string, unknown>,
  ctx: ListFilterContext,
): Record<string, unknown> {
  if (!('result' in message)) return message;
  const result = message.result;
  const method = ctx.method ?? inferListMethod(result);
  if (method === undefined || !isListMethod(method)) return message;
  if (result === null || typeof result !== 'object' || Array.isArray(result))
    throw new ListAnswerError(`${method} answer whose result is not an object`);
  return { ...message, result: ctx.filter(method, result) };
}

/**
 * Rewrites a JSON-RPC response body. One leading BOM is dropped (as a fetch client's UTF-8 decode
 * drops it). The body must be one JSON object: anything else (not JSON, a batch, a scalar) throws
 * `ListAnswerError`, as does a list answer whose `result` is not an object. A body without a list
 * result (an `error` answer) is returned as it came, without the BOM.
 */
export function filterJsonBody(body: string, ctx: ListFilterContext): string {
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  const message = parseMessage(text, 'list answer');
  const rewritten = rewriteMessage(message, ctx);
  return rewritten === message ? text : JSON.stringify(rewritten);
}

/** Options of `SseListFilter`. */
export interface SseListFilterOptions extends ListFilterContext {
  /** Largest accepted event in characters (default 16 MiB); a larger one fails the stream. */
  readonly maxEventChars?: number;
}

/**
 * A transform over an SSE byte stream that parses it as a client would (`EventStreamParser`) and
 * writes it out again in one canonical form, so a client reads exactly what the gateway read: no
 * BOM, LF line endings, and one block (ended by a blank line) per thing parsed: an event as
 * `event:` (when set), `id:` (when set) and one `data: ` line per line of its data; a comment as
 * `:` and its text; a `retry` as `retry:` and its digits; an id without data as `id:`. Blocks
 * are written as the chunk that completes them is read; an event left unfinished at the end of
 * the stream is dropped.
 *
 * Every non-empty data payload must be one JSON object; list results in it are rewritten. Any
 * other payload (not JSON, a batch, a scalar), a list answer whose `result` is not an object, or
 * an event larger than `maxEventChars` fails the stream with the error (`ListAnswerError`,
 * `EventStreamTooLargeError`); nothing of that chunk is written.
 */
export class SseListFilter extends Transform {
  readonly #ctx: ListFilterContext;
  readonly #parser: EventStreamParser;
  /** What the chunk being read writes out. */
  #out = '';

  constructor(options: SseListFilterOptions) {
    super();
    this.#ctx = options;
    this.#parser = new EventStreamParser({
      maxEventChars: options.maxEventChars ?? 16 * 1024 * 1024,
      onEvent: (event) => {
        this.#out += this.#serialize(event);
      },
      onComment: (text) => {
        this.#out += `:${text}\n\n`;
      },
      onRetry: (ms) => {
        // A reconnection time past 2^53 ms cannot be written back as the digits it came as.
        if (Number.isSafeInteger(ms)) this.#out += `retry: ${ms}\n\n`;
      },
      onIdWithoutData: (id) => {
        this.#out += `id: ${id}\n\n`;
      },
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#run(() => this.#parser.feed(chunk), done);
  }

  override _flush(done: TransformCallback): void {
    this.#run(() => this.#parser.end(), done);
  }

  #run(read: () => void, done: TransformCallback): void {
    this.#out = '';
    try {
      read();
    } catch (error) {
      this.#out = '';
      done(error as Error);
      return;
    }
    if (this.#out !== '') this.push(this.#out);
    this.#out = '';
    done();
  }

  #serialize(event: ServerSentEvent): string {
    let data = event.data;
    if (data !== '') {
      const message = parseMessage(data, 'SSE data');
      const rewritten = rewriteMessage(message, this.#ctx);
      if (rewritten !== message) data = JSON.stringify(rewritten);
    }
    let text = '';
    if (event.type !== undefined) text += `event: ${event.type}\n`;
    if (event.id !== undefined) text += `id: ${event.id}\n`;
    text += `data: ${data.replaceAll('\n', '\ndata: ')}\n\n`;
    return text;
  }
}
