/**
 * The fixed-answer upstream: a minimal node:http server that stands in for an MCP server in the
 * speed rows. It reads the request body and answers every POST to the MCP path with the same
 * JSON-RPC result, so the cost measured is the proxy's, not the upstream's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FIXED_RESULT_BODY, MCP_PATH } from '../mcp.js';

/** A listening fixed-answer upstream. */
export interface FixedUpstream {
  readonly server: Server;
  /** The MCP endpoint URL, e.g. `http://127.0.0.1:40123/mcp`. */
  readonly url: string;
  readonly port: number;
}

/** Starts the fixed-answer upstream on 127.0.0.1 (port 0: any free port). */
export async function startFixedUpstream(port = 0): Promise<FixedUpstream> {
  const body = Buffer.from(FIXED_RESULT_BODY);
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== MCP_PATH) {
        res.writeHead(404, { 'content-length': 0 });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  return { server, port: actual, url: `http://127.0.0.1:${actual}${MCP_PATH}` };
}
