/**
 * Plain JSON-RPC over HTTP to a gateway route, for assertions on exact status codes and headers
 * (the SDK client hides those). Also reads the text content of a tool result.
 */

/** An answer of the gateway. */
export interface RpcAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON body, or undefined when the body was not JSON. */
  readonly json: unknown;
  readonly text: string;
}

let nextId = 1;

/** Sends one JSON-RPC request with a bearer token (if any) and extra headers. */
export async function rpc(
  url: string,
  token: string | undefined,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<RpcAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** Calls a tool and returns the raw answer. */
export function callTool(
  url: string,
  token: string | undefined,
  name: string,
  args: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<RpcAnswer> {
  return rpc(url, token, 'tools/call', { name, arguments: args }, headers);
}

/** The concatenated text content of a tool result (SDK `callTool` result or JSON-RPC answer). */
export function resultText(value: unknown): string {
  const record = value as { result?: unknown; content?: unknown } | undefined;
  const result = (record?.result ?? record) as { content?: unknown } | undefined;
  const content = Array.isArray(result?.content) ? result.content : [];
  return content
    .map((item: unknown) => {
      const text = (item as { text?: unknown }).text;
      return typeof text === 'string' ? text : '';
    })
    .join('');
}
