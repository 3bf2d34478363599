/**
 * `FaultInjectingIdpProxy`: an HTTP reverse proxy on 127.0.0.1 in front of the development IdP, so
 * the gateway can be pointed at it (key set, introspection, token endpoint) while tests obtain
 * tokens from the IdP directly. Each request path can be made to fail: `reset` drops the
 * connection as a dead host would, `unavailable` answers 503, `garbage` answers 200 with a body
 * that is not a valid token response; `pass` forwards the request unchanged.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with a request. */
export type Fault = 'pass' | 'reset' | 'unavailable' | 'garbage';

/** A running proxy. */
export class FaultInjectingIdpProxy {
  readonly #server: Server;
  readonly #target: URL;
  #default: Fault = 'pass';
  readonly #byPath = new Map<string, Fault>();
  /** Paths of the requests received, in order (with the fault applied). */
  readonly seen: Array<{ path: string; fault: Fault }> = [];

  private constructor(server: Server, target: URL) {
    this.#server = server;
    this.#target = target;
  }

  /** Starts a proxy to `target` (an origin such as the IdP's issuer) on an ephemeral port. */
  static async start(target: string): Promise<FaultInjectingIdpProxy> {
    const server = createServer();
    const proxy = new FaultInjectingIdpProxy(server, new URL(target));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Sets the fault of every path without a path-specific one. */
  setDefault(fault: Fault): void {
    this.#default = fault;
  }

  /** Sets the fault of one exact path (e.g. `/token`); `undefined` removes it. */
  setPath(path: string, fault: Fault | undefined): void {
    if (fault === undefined) this.#byPath.delete(path);
    else this.#byPath.set(path, fault);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname;
    const fault = this.#byPath.get(path) ?? this.#default;
    this.seen.push({ path, fault });
    switch (fault) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'unavailable':
        req.resume();
        res.writeHead(503, { 'content-type': 'text/plain' }).end('unavailable\n');
        return;
      case 'garbage':
        req.resume();
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ token_type: 'Bearer', note: 'no access token here' }));
        return;
      case 'pass':
        this.forward(req, res);
    }
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const headers = { ...req.headers, host: this.#target.host };
    const upstream = httpRequest(
      {
        host: this.#target.hostname,
        port: this.#target.port,
        method: req.method,
        path: req.url,
        headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(upstream);
  }

  /** Stops the proxy and drops its connections. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}
