/**
 * The bare Node reverse proxy: node:http in, undici out, no authentication at all. It is the
 * floor for any gateway written in Node: whatever a gateway adds is measured against it. It reads
 * the (small) JSON-RPC request body before forwarding it, as any MCP gateway must to learn the
 * operation, and streams the answer back.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

/** Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** A listening bare proxy. */
export interface BareProxy {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the bare proxy on 127.0.0.1 in front of `upstreamOrigin` (e.g. `http://127.0.0.1:5001`). */
export async function startBareProxy(upstreamOrigin: string, port = 0): Promise<BareProxy> {
  const pool = new Pool(upstreamOrigin, { connections: 128, keepAliveTimeout: 60_000 });
  const server = createServer((req, res) => {
    const headers = forwardable(req.headers);
    readBody(req)
      .then((body) =>
        pool.request({
          method: req.method as 'POST',
          path: req.url ?? '/',
          headers,
          body: body.length > 0 ? body : null,
        }),
      )
      .then((answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        }
        res.writeHead(answer.statusCode, out);
        answer.body.on('data', (chunk: Buffer) => res.write(chunk));
        answer.body.once('end', () => res.end());
        answer.body.once('error', () => res.destroy());
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502, { 'content-length': 0 });
        res.end();
      });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool.close();
    },
  };
}

/** Largest request body the proxy accepts (JSON-RPC messages are small). */
const MAX_BODY_BYTES = 1 << 20;

// Plain stream events rather than async iteration or stream.pipeline: cheaper per request, and
// the floor should not carry overhead a real gateway would avoid.
function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('request body too large'));
      else chunks.push(chunk);
    });
    req.once('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    );
    req.once('error', reject);
  });
}

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}
