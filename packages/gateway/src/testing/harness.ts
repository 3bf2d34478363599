/**
 * Test support for the gateway's specifications: `TestGuard` (a test double for the guard seam),
 * a recording upstream HTTP server, a log capture and a raw HTTP client that sends exactly the
 * target and headers it is given.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Principal, ReasonCode } from '@mcp-iam/core';
import { loadConfig } from '../config/loader.js';
import type { GatewayConfig } from '../config/schema.js';
import type {
  GuardAllow,
  GuardDecision,
  GuardDeny,
  GuardOutcome,
  GuardRequest,
  RouteGuard,
} from '../server/seam.js';

/** Options of `TestGuard`. */
export interface TestGuardOptions {
  /** Token the guard hands out for the upstream (default `gateway-issued-upstream-token`). */
  readonly upstreamToken?: string;
  /** Makes `upstreamToken()` reject with this error. */
  readonly upstreamTokenError?: Error;
  /** List filter to offer on allowed requests. */
  readonly filterList?: (method: string, result: unknown) => unknown;
  /** Makes `complete()` reject (audit unavailable). */
  readonly completeFails?: boolean;
  /** Delay of `complete()` in ms, to observe ordering (default 0). */
  readonly completeDelayMs?: number;
  /** Lifetime of the caller's token in seconds (default 300). */
  readonly tokenLifetimeSeconds?: number;
}

/**
 * A test double for `RouteGuard`: a request is allowed when it carries `Authorization: Bearer
 * <subject>.<anything>` (the subject is the part before the first dot); otherwise it is denied with
 * 401. It records every request it saw and every completed outcome.
 */
export class TestGuard implements RouteGuard {
  readonly seen: GuardRequest[] = [];
  readonly completed: GuardOutcome[] = [];
  readonly denied: ReasonCode[] = [];
  readonly #options: TestGuardOptions;

  constructor(options: TestGuardOptions = {}) {
    this.#options = options;
  }

  async authorize(request: GuardRequest): Promise<GuardDecision> {
    this.seen.push(request);
    const auth = request.headers.authorization;
    const match = typeof auth === 'string' ? /^Bearer ([^.\s]+)\.\S+$/.exec(auth) : null;
    if (!match) {
      const deny: GuardDeny = {
        kind: 'deny',
        status: 401,
        headers: {
          'www-authenticate':
            'Bearer resource_metadata="http://gateway.test/.well-known/oauth-protected-resource/crm/mcp"',
        },
        body: '',
        reason: 'missing_token',
      };
      this.denied.push(deny.reason);
      return deny;
    }
    const subject = match[1] as string;
    let method = request.method;
    if (request.body) {
      try {
        const parsed = JSON.parse(request.body.toString('utf8')) as { method?: unknown };
        if (typeof parsed.method === 'string') method = parsed.method;
      } catch {
        // not JSON-RPC: the HTTP method stands
      }
    }
    const principal: Principal = {
      issuer: 'http://idp.test',
      subject,
      kind: 'user',
      clientId: 'test-client',
      scopes: [],
      audience: ['http://gateway.test/crm/mcp'],
      expiresAt: Date.now() / 1000 + (this.#options.tokenLifetimeSeconds ?? 300),
      tokenFormat: 'jwt',
      claims: {},
    };
    const options = this.#options;
    const allow: GuardAllow = {
      kind: 'allow',
      principal,
      operation: { method },
      upstreamToken: async () => {
        if (options.upstreamTokenError) throw options.upstreamTokenError;
        return options.upstreamToken ?? 'gateway-issued-upstream-token';
      },
      filterList: options.filterList,
      complete: async (outcome) => {
        if (options.completeDelayMs)
          await new Promise((resolve) => setTimeout(resolve, options.completeDelayMs));
        if (options.completeFails) throw new Error('audit sink unavailable');
        this.completed.push(outcome);
      },
    };
    return allow;
  }

  metadata(): unknown {
    return {
      resource: 'http://gateway.test/crm/mcp',
      authorization_servers: ['http://idp.test'],
      bearer_methods_supported: ['header'],
    };
  }
}

/** One request the recording upstream received. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: string;
}

/** A local HTTP server standing in for an MCP upstream, recording what it receives. */
export interface RecordingUpstream {
  readonly url: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Starts a recording upstream on an ephemeral port; `handler` answers each request. */
export async function startUpstream(
  handler: (req: RecordedRequest, res: ServerResponse) => void | Promise<void>,
): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      void handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JSON answer helper for upstream handlers. */
export function answerJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** Collects every log line written by a logger. */
export interface LogCapture {
  readonly logger: Logger;
  readonly lines: string[];
  text(): string;
}

/** A pino logger at `trace` level writing into memory. */
export function captureLogs(): LogCapture {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = pino({ level: 'trace' }, stream);
  return { logger, lines, text: () => lines.join('') };
}

/** A raw answer. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Options of `send`. */
export interface SendOptions {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string | string[]>;
  readonly body?: string | Buffer;
}

/** Sends one request with exactly the given target and headers and reads the whole answer. */
export function send(baseUrl: string, options: SendOptions): Promise<RawAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { host: url.host, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A JSON-RPC POST with a bearer token. */
export function rpc(
  baseUrl: string,
  path: string,
  token: string | undefined,
  message: unknown,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  return send(baseUrl, {
    method: 'POST',
    path,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify(message),
  });
}

/** A minimal valid configuration with one route `/crm/mcp` to `upstreamUrl`; `extra` is merged in YAML. */
export function testConfig(upstreamUrl: string, routeExtra = '', topExtra = ''): GatewayConfig {
  const text = `listen: { host: 127.0.0.1, port: 0 }
public_url: http://gateway.test
issuers:
  - issuer: http://idp.test
routes:
  - name: crm
    path: /crm/mcp
    upstream: { url: ${upstreamUrl} }
${routeExtra}audit: { sink: stdout }
${topExtra}`;
  return loadConfig(text, { env: {} }).config;
}
