/**
 * The MCP operation a request asks for, read from its JSON-RPC body (bounded in size and nesting)
 * and checked against the 2026-07-28 `Mcp-Method` / `Mcp-Name` headers. Policy decides on this.
 */
import { McpIamError } from '../errors.js';
import { headerValues, type HeaderRecord } from '../bearer/bearer.js';
import { parseStrictJson } from '../token/strict-json.js';

/** Default maximum JSON-RPC body size in bytes (1 MiB). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default maximum nesting depth of a JSON-RPC body. */
export const DEFAULT_MAX_RPC_DEPTH = 64;

/** What kind of message the request carries. */
export type OperationKind = 'request' | 'notification' | 'response' | 'http';

/**
 * One MCP operation. For `http` operations (`GET` opens an SSE stream, `DELETE` ends a session)
 * `method` is the HTTP method.
 */
export interface McpOperation {
  readonly kind: OperationKind;
  /** JSON-RPC method, `'response'` for client → server responses, or the HTTP method. */
  readonly method: string;
  /** JSON-RPC id of a request or response. */
  readonly id?: string | number | null;
  /** Tool name (`tools/call`). */
  readonly tool?: string;
  /** Resource URI (`resources/read`). */
  readonly resource?: string;
  /** Prompt name (`prompts/get`). */
  readonly prompt?: string;
  /** The parsed JSON-RPC message (absent for `http` operations). */
  readonly message?: Readonly<Record<string, unknown>>;
}

/** Why a body was refused. `status` is the HTTP status to answer with. */
export class OperationError extends McpIamError {
  /** HTTP status: 400, 413 or 415. */
  readonly status: number;
  /** JSON-RPC error code for the answer body. */
  readonly rpcCode: number;
  /** Method name when it could be read (for the audit record). */
  readonly method?: string;

  constructor(
    code: 'invalid_request' | 'operation_mismatch' | 'body_too_large' | 'unsupported_media_type',
    message: string,
    options: { status: number; rpcCode: number; method?: string },
  ) {
    super(code, message);
    this.status = options.status;
    this.rpcCode = options.rpcCode;
    if (options.method !== undefined) this.method = options.method;
  }
}

/** Input of `parseMcpOperation`. */
export interface OperationInput {
  /** HTTP method. */
  readonly httpMethod: string;
  readonly headers: HeaderRecord;
  /** Raw body (bytes or text). */
  readonly body?: Uint8Array | string;
  /** An already parsed body (e.g. `express.json()` result); used when `body` is absent. */
  readonly json?: unknown;
}

/** Options of `parseMcpOperation`. */
export interface OperationOptions {
  /** Largest accepted body in bytes; default 1 MiB. Larger → 413 `body_too_large`. */
  readonly maxBodyBytes?: number;
  /** Deepest accepted nesting of arrays/objects; default 64. Deeper → 400 (bounded work). */
  readonly maxDepth?: number;
  /**
   * Require `Content-Type: application/json` on POST (else 415). Default true.
   */
  readonly requireJsonContentType?: boolean;
}

const PARSE_ERROR = -32700;
// Stateless between calls (no `stream` option), so one decoder serves every request.
const utf8 = new TextDecoder('utf-8', { fatal: true });
const INVALID_REQUEST = -32600;

function bad(message: string, rpcCode = INVALID_REQUEST, method?: string): OperationError {
  return new OperationError('invalid_request', message, {
    status: 400,
    rpcCode,
    ...(method === undefined ? {} : { method }),
  });
}

/** Depth of an already parsed value, iteratively, stopping past `limit`. */
function valueDepthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  let visited = 0;
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth + 1 > limit || ++visited > 1_000_000) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value === 'application/json') return true; // the usual spelling, nothing to normalise
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]*\+json$/.test(type);
}

function singleHeader(headers: HeaderRecord, name: string): string | undefined {
  const values = headerValues(headers, name);
  if (values.length > 1) {
    throw new OperationError('operation_mismatch', `repeated ${name} header`, {
      status: 400,
      rpcCode: INVALID_REQUEST,
    });
  }
  return values[0];
}

/** The non-empty string `params[key]` of a targeted method. */
function targetOf(
  params: Record<string, unknown> | undefined,
  key: string,
  method: string,
): string {
  const value = params?.[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw bad(`${method} needs a string params.${key}`, INVALID_REQUEST, method);
  }
  return value;
}

function mismatch(what: string, method: string): OperationError {
  return new OperationError('operation_mismatch', `${what} header does not match the body`, {
    status: 400,
    rpcCode: INVALID_REQUEST,
    method,
  });
}

/**
 * Reads the MCP operation of a request. POST bodies must be one JSON-RPC message (batches,
 * non-JSON, non-objects, a missing or non-string method → 400 with a JSON-RPC error code);
 * GET and other body-less methods become `{ kind: 'http', method: 'GET' }`. When `Mcp-Method`
 * or `Mcp-Name` headers are present they must equal the body's method and target
 * (`operation_mismatch`, 400).
 *
 * @example
 * ```ts
 * const op = parseMcpOperation({ httpMethod: 'POST', headers, body: rawBytes });
 * if (op.method === 'tools/call') console.log(op.tool);
 * ```
 */
export function parseMcpOperation(
  input: OperationInput,
  options: OperationOptions = {},
): McpOperation {
  return readMcpOperation(
    input,
    options,
    input.body === undefined ? undefined : headerValues(input.headers, 'content-type')[0],
  );
}

/**
 * `parseMcpOperation` with the first `Content-Type` value already read (it is only looked at when
 * there is a body). For the pipeline, which needs that header too; not exported by the package.
 */
export function readMcpOperation(
  input: OperationInput,
  options: OperationOptions,
  contentType: string | undefined,
): McpOperation {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_RPC_DEPTH;
  const httpMethod = input.httpMethod === 'POST' ? 'POST' : input.httpMethod.toUpperCase();
  if (httpMethod !== 'POST') {
    return { kind: 'http', method: httpMethod };
  }
  if (
    (options.requireJsonContentType ?? true) &&
    input.body !== undefined &&
    !isJsonContentType(contentType)
  ) {
    throw new OperationError('unsupported_media_type', 'body is not application/json', {
      status: 415,
      rpcCode: INVALID_REQUEST,
    });
  }

  let message: unknown;
  if (input.body !== undefined) {
    const size =
      typeof input.body === 'string' ? Buffer.byteLength(input.body) : input.body.byteLength;
    if (size > maxBodyBytes) {
      throw new OperationError('body_too_large', 'body exceeds the size cap', {
        status: 413,
        rpcCode: INVALID_REQUEST,
      });
    }
    let text: string;
    try {
      text = typeof input.body === 'string' ? input.body : utf8.decode(input.body);
    } catch {
      throw bad('body is not UTF-8', PARSE_ERROR);
    }
    try {
      // Strict: duplicate member names are refused so that this decision and the MCP server
      // that later parses the same bytes can never read different values.
      message = parseStrictJson(text, maxDepth);
    } catch {
      throw bad('body is not JSON, has duplicate members or nests too deeply', PARSE_ERROR);
    }
  } else if (input.json !== undefined) {
    if (valueDepthExceeds(input.json, maxDepth)) throw bad('body nests too deeply', PARSE_ERROR);
    message = input.json;
  } else {
    throw bad('empty body', PARSE_ERROR);
  }

  if (Array.isArray(message)) throw bad('JSON-RPC batches are not accepted');
  if (message === null || typeof message !== 'object') throw bad('body is not a JSON-RPC object');
  const rpc = message as Record<string, unknown>;
  if (rpc['jsonrpc'] !== '2.0') throw bad('not a JSON-RPC 2.0 message');
  const id = rpc['id'];
  const hasId = Object.prototype.hasOwnProperty.call(rpc, 'id');
  if (hasId && !(typeof id === 'string' || typeof id === 'number' || id === null)) {
    throw bad('invalid JSON-RPC id');
  }

  // Operations are written as whole literals (same members, same order as always): no closures,
  // no spreads, one object per request.
  let operation: McpOperation;
  const method = rpc['method'];
  if (method === undefined && hasId && ('result' in rpc || 'error' in rpc)) {
    operation = {
      kind: 'response',
      method: 'response',
      id: id as string | number | null,
      message: rpc,
    };
  } else {
    if (typeof method !== 'string' || method.length === 0) throw bad('missing JSON-RPC method');
    const params = rpc['params'];
    const p =
      params !== null && typeof params === 'object' && !Array.isArray(params)
        ? (params as Record<string, unknown>)
        : undefined;
    const rpcId = id as string | number | null;
    if (method === 'tools/call') {
      const tool = targetOf(p, 'name', method);
      operation = hasId
        ? { kind: 'request', method, id: rpcId, message: rpc, tool }
        : { kind: 'notification', method, message: rpc, tool };
    } else if (method === 'resources/read') {
      const resource = targetOf(p, 'uri', method);
      operation = hasId
        ? { kind: 'request', method, id: rpcId, message: rpc, resource }
        : { kind: 'notification', method, message: rpc, resource };
    } else if (method === 'prompts/get') {
      const prompt = targetOf(p, 'name', method);
      operation = hasId
        ? { kind: 'request', method, id: rpcId, message: rpc, prompt }
        : { kind: 'notification', method, message: rpc, prompt };
    } else {
      operation = hasId
        ? { kind: 'request', method, id: rpcId, message: rpc }
        : { kind: 'notification', method, message: rpc };
    }
  }

  const headerMethod = singleHeader(input.headers, 'mcp-method');
  const headerName = singleHeader(input.headers, 'mcp-name');
  if (headerMethod !== undefined && headerMethod !== operation.method) {
    throw mismatch('Mcp-Method', operation.method);
  }
  if (headerName !== undefined) {
    const name = operation.tool ?? operation.resource ?? operation.prompt;
    if (headerName !== name) throw mismatch('Mcp-Name', operation.method);
  }
  return operation;
}
