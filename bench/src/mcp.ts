/**
 * The one MCP request every row serves during the benchmark: a JSON-RPC `tools/call` POST, and
 * the fixed answer the upstream gives it.
 */

/** The MCP tool the benchmark calls. */
export const TOOL_NAME = 'search_contacts';

/** The scope a token needs to call {@link TOOL_NAME}. */
export const REQUIRED_SCOPE = 'bench.read';

/** Scope a valid benchmark token carries (more than one, as real tokens do). */
export const VALID_TOKEN_SCOPE = `${REQUIRED_SCOPE} bench.write`;

/** Path of the MCP endpoint on the upstream and on every row. */
export const MCP_PATH = '/mcp';

/** The request body: a `tools/call` of {@link TOOL_NAME}. */
export const TOOLS_CALL_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: TOOL_NAME, arguments: { query: 'acme' } },
});

/** Request headers (the Authorization header is added per token). */
export const MCP_REQUEST_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-06-18',
};

/** The fixed JSON-RPC result the fixed-answer upstream returns. */
export const FIXED_RESULT_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  result: {
    content: [{ type: 'text', text: '1 contact: ACME Corp, contact@acme.example' }],
    isError: false,
  },
});
