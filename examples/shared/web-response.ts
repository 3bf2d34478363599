/**
 * Sends a Web `Response` (what the SDK's Web-standard MCP transport answers) on a node:http
 * `ServerResponse`: status and headers first, then the body as it streams (an SSE stream of a
 * tool call included). When the client goes away, the body stream is cancelled.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';

/** Writes `response` to `res` and resolves when it has been sent or the client has gone away. */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const body = Readable.fromWeb(response.body as unknown as NodeWebReadableStream<Uint8Array>);
  await pipeline(body, res).catch(() => undefined);
}
