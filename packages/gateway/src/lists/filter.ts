/**
 * List filtering on the way back from the upstream: a caller sees in `tools/list`, `resources/list`,
 * `resources/templates/list` and `prompts/list` only what it may use. Works on a JSON body and,
 * event by event, on an SSE stream (nothing else of the stream is delayed or changed).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

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

function rewriteMessage(message: unknown, ctx: ListFilterContext): unknown {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) return message;
  const m = message as Record<string, unknown>;
  if (!('result' in m) || 'method' in m) return message;
  const method = ctx.method ?? inferListMethod(m.result);
  if (!method || !isListMethod(method)) return message;
  return { ...m, result: ctx.filter(method, m.result) };
}

/**
 * Rewrites a JSON-RPC response body. A body that is not a JSON object with a `result` is returned
 * unchanged.
 */
export function filterJsonBody(body: string, ctx: ListFilterContext): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const rewritten = rewriteMessage(parsed, ctx);
  return rewritten === parsed ? body : JSON.stringify(rewritten);
}

/** Options of `SseListFilter`. */
export interface SseListFilterOptions extends ListFilterContext {
  /** Largest accepted event in characters (default 16 MiB); a larger one fails the stream. */
  readonly maxEventChars?: number;
}

/**
 * A transform over an SSE byte stream that rewrites list results inside `data:` payloads and passes
 * every other event (and every other field) through as soon as the event is complete.
 */
export class SseListFilter extends Transform {
  readonly #ctx: ListFilterContext;
  readonly #max: number;
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  constructor(options: SseListFilterOptions) {
    super();
    this.#ctx = options;
    this.#max = options.maxEventChars ?? 16 * 1024 * 1024;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#pending += this.#decoder.write(chunk);
    this.#drain(done);
  }

  override _flush(done: TransformCallback): void {
    this.#pending += this.#decoder.end();
    if (this.#pending.length > 0) this.push(this.#rewriteEvent(this.#pending));
    this.#pending = '';
    done();
  }

  #drain(done: TransformCallback): void {
    for (;;) {
      const end = /\r\n\r\n|\n\n|\r\r/.exec(this.#pending);
      if (!end) break;
      const event = this.#pending.slice(0, end.index);
      const separator = end[0];
      this.#pending = this.#pending.slice(end.index + separator.length);
      this.push(this.#rewriteEvent(event) + '\n\n');
    }
    if (this.#pending.length > this.#max) {
      done(new Error('SSE event too large'));
      return;
    }
    done();
  }

  #rewriteEvent(event: string): string {
    const lines = event.split(/\r\n|\n|\r/);
    const data: string[] = [];
    const others: string[] = [];
    for (const line of lines) {
      if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      else others.push(line);
    }
    if (data.length === 0) return lines.join('\n');
    const payload = data.join('\n');
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return lines.join('\n');
    }
    const rewritten = rewriteMessage(parsed, this.#ctx);
    if (rewritten === parsed) return lines.join('\n');
    return [...others, `data: ${JSON.stringify(rewritten)}`].join('\n');
  }
}
