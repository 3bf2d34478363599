/**
 * stdio upstream: runs an MCP server as a child process (no shell) and bridges HTTP POSTs to
 * newline-delimited JSON-RPC on its stdin/stdout.
 *
 * Session model: the gateway owns one MCP session per process. The first client `initialize` is
 * forwarded (with client capabilities emptied, since the gateway cannot relay server-to-client
 * requests); its result is cached and replayed, under the caller's request id, to every later
 * `initialize`. Client `notifications/initialized` is sent once by the gateway itself. After a
 * restart the gateway re-initializes with the remembered parameters before forwarding anything.
 * Request ids are remapped to random gateway ids, so concurrent callers never see each other's
 * answers and no caller can guess another's id. A client notification that names a request
 * (`notifications/cancelled`) reaches the process only when it names a pending request of the
 * same principal, rewritten to that request's gateway id; otherwise it is dropped and counted
 * (row 83: no caller cancels another's request). Client progress notifications are dropped: they
 * answer server-to-client requests, which the gateway refuses itself. Server-to-client requests
 * are answered with a JSON-RPC error; server notifications are logged and dropped (answers are
 * plain JSON, never SSE).
 */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { isListMethod } from '../lists/filter.js';
import {
  UpstreamError,
  type Upstream,
  type UpstreamAbortSignal,
  type UpstreamRequest,
  type UpstreamResponse,
} from './types.js';

/** Options of `StdioUpstream`. */
export interface StdioUpstreamOptions {
  /** Route name, for logs. */
  readonly name: string;
  /** Executable; started without a shell. */
  readonly command: string;
  readonly args?: readonly string[];
  /** Extra environment; only PATH and HOME are inherited from the gateway. */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /**
   * `per-subject` (default): one process per principal, keyed by issuer, kind and subject (two
   * issuers' `alice`, or a client whose id is a user's `sub`, never share one); `shared`: one
   * process for every caller.
   */
  readonly isolation?: 'per-subject' | 'shared';
  /** Stop a process after this many idle ms (default 300000). */
  readonly idleTimeoutMs?: number;
  /** Most live processes (default 100); beyond it requests get 503. */
  readonly maxProcesses?: number;
  /** Time for a start-up `initialize` and for each answer, in ms (default 30000); then 504. */
  readonly timeoutMs?: number;
  /** First restart delay after an exit, doubled per quick crash (default 100 ms, at most 10 s). */
  readonly restartBackoffMs?: number;
  /** Largest accepted stdout line (default 16 MiB); a longer one stops the process. */
  readonly maxLineBytes?: number;
  /** Logger for process lifecycle and stderr lines. */
  readonly logger?: Logger;
  /** Told the number of live processes whenever it changes. */
  readonly onProcessCount?: (count: number) => void;
  /** Told of each client notification dropped because it names no pending request of its sender. */
  readonly onDroppedNotification?: (method: string) => void;
}

/** A JSON-RPC message as exchanged on stdio. */
type JsonRpcMessage = Record<string, unknown>;

const DEFAULT_PROTOCOL_VERSION = '2025-06-18';
const STABLE_UPTIME_MS = 10_000;

function json(
  status: number,
  value: unknown,
  extra: Record<string, string> = {},
): UpstreamResponse {
  const body = Buffer.from(JSON.stringify(value));
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'content-length': String(body.length),
      ...extra,
    },
    body: Readable.from([body]),
    discard: () => undefined,
  };
}

function empty(status: number, extra: Record<string, string> = {}): UpstreamResponse {
  return {
    status,
    headers: { 'content-length': '0', ...extra },
    body: Readable.from([]),
    discard: () => undefined,
  };
}

function rpcError(id: unknown, code: number, message: string): JsonRpcMessage {
  return { jsonrpc: '2.0', id: id ?? null, error: { code, message } };
}

/**
 * Bridges HTTP to stdio MCP server processes, one per subject or one shared.
 *
 * @example
 * ```ts
 * const upstream = new StdioUpstream({ name: 'notes', command: 'node', args: ['server.js'] });
 * ```
 */
export class StdioUpstream implements Upstream {
  readonly kind = 'stdio' as const;
  readonly #options: StdioUpstreamOptions;
  readonly #processes = new Map<string, StdioProcess>();
  #closed = false;

  constructor(options: StdioUpstreamOptions) {
    this.#options = options;
  }

  /** Number of live (or starting) processes. */
  get processCount(): number {
    return this.#processes.size;
  }

  /** Process ids of the live processes, by principal key (`''` when shared); for diagnostics. */
  pids(): Map<string, number | undefined> {
    return new Map([...this.#processes].map(([k, p]) => [k, p.pid]));
  }

  async forward(request: UpstreamRequest): Promise<UpstreamResponse> {
    if (this.#closed) throw new UpstreamError('upstream_unavailable', 'gateway is stopping');
    if (request.method !== 'POST') return empty(405, { allow: 'POST' });
    let message: unknown;
    try {
      message = JSON.parse((request.body ?? Buffer.alloc(0)).toString('utf8'));
    } catch {
      return json(400, rpcError(null, -32700, 'Parse error'));
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message))
      return json(400, rpcError(null, -32600, 'Invalid Request'));
    const msg = message as JsonRpcMessage;
    const proc = this.#processFor(request.principalKey);
    proc.busy++;
    try {
      if (typeof msg.method !== 'string') return empty(202); // a client's answer: nothing awaits it
      if (!('id' in msg)) {
        if (!(await proc.notify(msg, request.principalKey)))
          this.#options.onDroppedNotification?.(msg.method);
        return empty(202);
      }
      const answer = await proc.request(msg, request.principalKey, request.signal);
      if (request.list && isListMethod(msg.method) && 'result' in answer) {
        const result = answer.result;
        // Row 84: a list answer the filter cannot read is refused, never passed on unfiltered.
        if (result === null || typeof result !== 'object' || Array.isArray(result))
          throw new UpstreamError('upstream_error', 'stdio list answer has no result object');
        answer.result = request.list.filter(msg.method, result);
      }
      return json(200, answer);
    } finally {
      proc.busy--;
      proc.lastUsed = Date.now();
      this.#scheduleReap(proc);
    }
  }

  #processFor(principalKey: string): StdioProcess {
    const key = this.#options.isolation === 'shared' ? '' : principalKey;
    let proc = this.#processes.get(key);
    if (!proc) {
      if (this.#processes.size >= (this.#options.maxProcesses ?? 100))
        throw new UpstreamError('upstream_unavailable', 'stdio process limit reached', {
          status: 503,
        });
      proc = new StdioProcess(key, this.#options);
      this.#processes.set(key, proc);
      this.#options.onProcessCount?.(this.#processes.size);
    }
    return proc;
  }

  #scheduleReap(proc: StdioProcess): void {
    const idleMs = this.#options.idleTimeoutMs ?? 300_000;
    clearTimeout(proc.reapTimer);
    proc.reapTimer = setTimeout(() => {
      if (proc.busy > 0 || Date.now() - proc.lastUsed < idleMs) {
        this.#scheduleReap(proc);
        return;
      }
      if (this.#processes.get(proc.key) === proc) {
        this.#processes.delete(proc.key);
        this.#options.onProcessCount?.(this.#processes.size);
      }
      this.#options.logger?.info(
        { route: this.#options.name, pid: proc.pid },
        'stdio process idle; stopping',
      );
      void proc.stop();
    }, idleMs);
    proc.reapTimer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#processes.values()];
    this.#processes.clear();
    this.#options.onProcessCount?.(0);
    await Promise.all(
      all.map((p) => {
        clearTimeout(p.reapTimer);
        return p.stop();
      }),
    );
  }
}

interface Pending {
  readonly originalId: unknown;
  /** Principal key of the caller that sent the request. */
  readonly owner: string;
  readonly resolve: (message: JsonRpcMessage) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** One child process and its JSON-RPC session. */
class StdioProcess {
  readonly key: string;
  busy = 0;
  lastUsed = Date.now();
  reapTimer: NodeJS.Timeout | undefined;
  readonly #options: StdioUpstreamOptions;
  #child: ChildProcessWithoutNullStreams | undefined;
  #ready: Promise<void> | undefined;
  #initParams: Record<string, unknown> | undefined;
  #initResult: unknown;
  #pending = new Map<string, Pending>();
  #crashes = 0;
  #notBefore = 0;
  #startedAt = 0;
  #stopping = false;

  constructor(key: string, options: StdioUpstreamOptions) {
    this.key = key;
    this.#options = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get #timeoutMs(): number {
    return this.#options.timeoutMs ?? 30_000;
  }

  async request(
    message: JsonRpcMessage,
    owner: string,
    signal: UpstreamAbortSignal,
  ): Promise<JsonRpcMessage> {
    if (message.method === 'initialize') {
      if (!this.#initParams) {
        const params = (message.params ?? {}) as Record<string, unknown>;
        this.#initParams = { ...params, capabilities: {} };
      }
      await this.#ensureReady();
      return { jsonrpc: '2.0', id: message.id, result: this.#initResult };
    }
    await this.#ensureReady();
    return this.#send(message, owner, signal);
  }

  /**
   * Forwards a client notification; resolves false when it was dropped because it names no
   * pending request of `owner`.
   */
  async notify(message: JsonRpcMessage, owner: string): Promise<boolean> {
    if (message.method === 'notifications/initialized') return true; // sent by the gateway itself
    if (message.method === 'notifications/progress') return false;
    if (message.method === 'notifications/cancelled') {
      const params = message.params;
      const named =
        params !== null && typeof params === 'object' && !Array.isArray(params)
          ? (params as Record<string, unknown>).requestId
          : undefined;
      const ids = this.#pendingIdsOf(owner, named);
      if (ids.length === 0) return false;
      await this.#ensureReady();
      for (const id of ids)
        this.#write({ ...message, params: { ...(params as object), requestId: id } });
      return true;
    }
    await this.#ensureReady();
    this.#write(message);
    return true;
  }

  /** Gateway ids of `owner`'s pending requests that the client sent with id `clientId`. */
  #pendingIdsOf(owner: string, clientId: unknown): string[] {
    if (typeof clientId !== 'string' && typeof clientId !== 'number') return [];
    const ids: string[] = [];
    for (const [id, pending] of this.#pending)
      if (pending.owner === owner && pending.originalId === clientId) ids.push(id);
    return ids;
  }

  #ensureReady(): Promise<void> {
    if (this.#stopping)
      return Promise.reject(new UpstreamError('upstream_unavailable', 'stopping'));
    this.#ready ??= this.#start().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #start(): Promise<void> {
    const wait = this.#notBefore - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const o = this.#options;
    const env: Record<string, string> = {};
    for (const name of ['PATH', 'HOME']) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    const child = spawn(o.command, [...(o.args ?? [])], {
      cwd: o.cwd,
      env: { ...env, ...o.env },
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#startedAt = Date.now();
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error) =>
        reject(
          new UpstreamError('upstream_unavailable', 'stdio command failed to start', {
            cause: error,
          }),
        ),
      );
    });
    child.stdin.on('error', () => undefined); // EPIPE after an exit is handled by 'exit'
    this.#readLines(child);
    child.once('exit', (code, sig) => this.#onExit(child, code, sig));
    await spawned;
    o.logger?.info({ route: o.name, pid: child.pid }, 'stdio process started');

    const init = await this.#send(
      {
        jsonrpc: '2.0',
        id: 'init',
        method: 'initialize',
        params: this.#initParams ?? {
          protocolVersion: DEFAULT_PROTOCOL_VERSION,
          capabilities: {},
          clientInfo: { name: 'mcp-iam-gateway', version: '0.1.0' },
        },
      },
      '',
      undefined,
    );
    if (!('result' in init)) {
      await this.#kill(child);
      throw new UpstreamError('upstream_error', 'stdio server refused initialize');
    }
    this.#initResult = init.result;
    this.#write({ jsonrpc: '2.0', method: 'notifications/initialized' });
  }

  #readLines(child: ChildProcessWithoutNullStreams): void {
    const max = this.#options.maxLineBytes ?? 16 * 1024 * 1024;
    let buffer = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) this.#onLine(line);
        newline = buffer.indexOf('\n');
      }
      if (buffer.length > max) {
        this.#options.logger?.warn({ route: this.#options.name }, 'stdio line too long; stopping');
        buffer = '';
        void this.#kill(child);
      }
    });
    let errBuffer = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      errBuffer += chunk;
      const lines = errBuffer.split('\n');
      errBuffer = lines.pop() ?? '';
      if (errBuffer.length > 8192) errBuffer = '';
      for (const line of lines) {
        if (line.trim())
          this.#options.logger?.info(
            { route: this.#options.name, pid: child.pid, stream: 'stderr' },
            line.slice(0, 2000),
          );
      }
    });
  }

  #onLine(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.#options.logger?.warn({ route: this.#options.name }, 'stdio output is not JSON');
      return;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return;
    const m = message as JsonRpcMessage;
    if (typeof m.method === 'string') {
      if ('id' in m) this.#write(rpcError(m.id, -32601, 'not supported through the gateway'));
      return;
    }
    const pending = this.#pending.get(String(m.id));
    if (!pending) return;
    this.#pending.delete(String(m.id));
    clearTimeout(pending.timer);
    pending.resolve({ ...m, id: pending.originalId });
  }

  #send(
    message: JsonRpcMessage,
    owner: string,
    signal: UpstreamAbortSignal | undefined,
  ): Promise<JsonRpcMessage> {
    const id = `mcp-iam-${randomUUID()}`;
    return new Promise<JsonRpcMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new UpstreamError('upstream_timeout', 'stdio server did not answer in time'));
      }, this.#timeoutMs);
      this.#pending.set(id, { originalId: message.id, owner, resolve, reject, timer });
      signal?.addEventListener(
        'abort',
        () => {
          if (this.#pending.delete(id)) {
            clearTimeout(timer);
            reject(new UpstreamError('upstream_error', 'request aborted'));
          }
        },
        { once: true },
      );
      this.#write({ ...message, id });
    });
  }

  #write(message: JsonRpcMessage): void {
    this.#child?.stdin.write(`${JSON.stringify(message)}\n`);
  }

  #onExit(child: ChildProcessWithoutNullStreams, code: number | null, sig: string | null): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#ready = undefined;
    const quick = Date.now() - this.#startedAt < STABLE_UPTIME_MS;
    this.#crashes = quick ? this.#crashes + 1 : 0;
    const base = this.#options.restartBackoffMs ?? 100;
    this.#notBefore =
      this.#crashes > 0 ? Date.now() + Math.min(10_000, base * 2 ** (this.#crashes - 1)) : 0;
    if (!this.#stopping)
      this.#options.logger?.warn(
        { route: this.#options.name, pid: child.pid, code, signal: sig },
        'stdio process exited; restarting on next request',
      );
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new UpstreamError('upstream_unavailable', 'stdio process exited'));
      this.#pending.delete(id);
    }
  }

  async #kill(child: ChildProcessWithoutNullStreams): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(force);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (child) await this.#kill(child);
  }
}
