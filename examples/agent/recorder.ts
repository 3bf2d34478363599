/**
 * Records what an MCP client does on the wire, for the walkthrough's step-by-step story: every
 * HTTP request (method, URL, JSON-RPC method and target, whether a token was sent) with its status
 * and `WWW-Authenticate` challenge, plus notes such as "signed in at the IdP". Pass
 * {@link HttpRecorder.fetch} as the SDK transport's `fetch`; the SDK's OAuth discovery and token
 * requests go through it too. Tokens are never recorded.
 */
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';

/** One HTTP request and its answer. */
export interface HttpEvent {
  readonly kind: 'http';
  readonly method: string;
  readonly url: string;
  /** JSON-RPC method, and the tool/prompt name or resource URI, of a POSTed MCP message. */
  readonly rpc?: string;
  /** Whether an `Authorization` header was sent. */
  readonly withToken: boolean;
  readonly status: number;
  /** The `WWW-Authenticate` header of the answer. */
  readonly challenge?: string;
}

/** A line of narration (what the client or the user did). */
export interface NoteEvent {
  readonly kind: 'note';
  readonly text: string;
}

/** What the recorder keeps. */
export type RecordedEvent = HttpEvent | NoteEvent;

/** Called with each answer before the SDK sees it (used to react to step-up challenges). */
export type ResponseObserver = (response: Response, event: HttpEvent) => void | Promise<void>;

function describeRpc(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const message = JSON.parse(body) as {
      method?: unknown;
      params?: { name?: unknown; uri?: unknown };
    };
    if (typeof message.method !== 'string') return undefined;
    const target = message.params?.name ?? message.params?.uri;
    return typeof target === 'string' ? `${message.method} ${target}` : message.method;
  } catch {
    return undefined;
  }
}

/** Collects {@link RecordedEvent}s; one recorder per walkthrough step. */
export class HttpRecorder {
  readonly events: RecordedEvent[] = [];

  /** Adds a narration line. */
  note(text: string): void {
    this.events.push({ kind: 'note', text });
  }

  /** Forgets the events recorded so far (sessions keep recording into this recorder). */
  reset(): void {
    this.events.length = 0;
  }

  /** HTTP events only. */
  get requests(): HttpEvent[] {
    return this.events.filter((e): e is HttpEvent => e.kind === 'http');
  }

  /** A `fetch` that records each request and answer, then returns the answer unchanged. */
  readonly fetch: FetchLike = (url, init) => this.#record(url, init, undefined);

  /** Like {@link HttpRecorder.fetch}, and `observer` sees each answer before the caller does. */
  observedFetch(observer: ResponseObserver): FetchLike {
    return (url, init) => this.#record(url, init, observer);
  }

  async #record(
    url: string | URL,
    init: RequestInit | undefined,
    observer: ResponseObserver | undefined,
  ): Promise<Response> {
    const response = await fetch(url, init);
    const headers = new Headers(init?.headers);
    const challenge = response.headers.get('www-authenticate') ?? undefined;
    const rpc = describeRpc(init?.body);
    const event: HttpEvent = {
      kind: 'http',
      method: init?.method ?? 'GET',
      url: String(url),
      ...(rpc !== undefined ? { rpc } : {}),
      withToken: headers.has('authorization'),
      status: response.status,
      ...(challenge !== undefined ? { challenge } : {}),
    };
    this.events.push(event);
    await observer?.(response, event);
    return response;
  }
}

/**
 * Parses the parameters of a `Bearer` challenge (`error`, `scope`, `acr_values`, `max_age`,
 * `resource_metadata` …) into a map.
 */
export function challengeParams(challenge: string | undefined): Map<string, string> {
  const params = new Map<string, string>();
  if (!challenge) return params;
  const re = /([A-Za-z_][A-Za-z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g;
  for (const m of challenge.matchAll(re)) {
    params.set(m[1] as string, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? ''));
  }
  return params;
}
