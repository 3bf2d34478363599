/**
 * Fuzz properties of `parseMcpOperation`: any method, headers and body give an operation or an
 * `OperationError` with a 400/413/415 status, never another exception; a `tools/call` round-trips
 * its tool name; `Mcp-Method` / `Mcp-Name` headers must match the body.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OperationError, parseMcpOperation, type HeaderRecord } from '@mcp-iam/core';
import { jsonishText } from './strict-json.fuzz.js';
import { fuzzProperty, onlyThrows, type FuzzProperty } from './property.js';

const OPERATION_CODES = [
  'invalid_request',
  'operation_mismatch',
  'body_too_large',
  'unsupported_media_type',
];
const methods = fc.constantFrom(
  'initialize',
  'tools/call',
  'tools/list',
  'resources/read',
  'prompts/get',
  'notifications/initialized',
  'ping',
);
const rpcId = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null));
const rpcMessage = fc.record(
  {
    jsonrpc: fc.constantFrom('2.0', '1.0', 2),
    id: fc.oneof(rpcId, fc.jsonValue({ maxDepth: 1 })),
    method: fc.oneof(methods, fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })),
    params: fc.oneof(
      fc.record(
        {
          name: fc.oneof(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })),
          uri: fc.string({ maxLength: 12 }),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    result: fc.jsonValue({ maxDepth: 2 }),
    error: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);
const headerValue = fc.oneof(fc.string({ maxLength: 14 }), methods);
const headers: fc.Arbitrary<HeaderRecord> = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/vnd.mcp+json',
      'text/plain',
      'application/x-www-form-urlencoded',
    ),
    'mcp-method': fc.oneof(headerValue, fc.array(headerValue, { maxLength: 2 })),
    'mcp-name': fc.oneof(headerValue, fc.array(headerValue, { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  rpcMessage.map((m) => JSON.stringify(m)),
  jsonishText,
  fc.uint8Array({ maxLength: 64 }),
  fc.array(rpcMessage, { maxLength: 2 }).map((batch) => JSON.stringify(batch)),
);
const httpMethod = fc.constantFrom('POST', 'post', 'GET', 'DELETE', 'PUT', 'OPTIONS');

function check(outcome: ReturnType<typeof run>): void {
  if ('error' in outcome) {
    const error = outcome.error as OperationError;
    assert.ok(OPERATION_CODES.includes(error.code), error.code);
    assert.ok([400, 413, 415].includes(error.status), String(error.status));
    return;
  }
  const op = outcome.value;
  assert.ok(['request', 'notification', 'response', 'http'].includes(op.kind));
  assert.equal(typeof op.method, 'string');
  if (op.method === 'tools/call' && op.kind !== 'http') assert.equal(typeof op.tool, 'string');
}

function run(input: Parameters<typeof parseMcpOperation>[0], maxBodyBytes?: number) {
  return onlyThrows(
    () => parseMcpOperation(input, maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
    [OperationError],
  );
}

/** Every property of this target. */
export const properties: FuzzProperty[] = [
  fuzzProperty(
    'parseMcpOperation',
    'gives an operation or an OperationError (400/413/415) for any method, headers and body',
    fc.property(
      httpMethod,
      headers,
      fc.option(body, { nil: undefined }),
      fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
      (method, h, b, cap) => {
        check(
          run({ httpMethod: method, headers: h, ...(b !== undefined ? { body: b } : {}) }, cap),
        );
      },
    ),
  ),
  fuzzProperty(
    'parseMcpOperation',
    'gives an operation or an OperationError for any already parsed JSON value',
    fc.property(fc.oneof(rpcMessage, fc.jsonValue({ maxDepth: 70 })), (json) => {
      check(run({ httpMethod: 'POST', headers: {}, json }));
    }),
  ),
  fuzzProperty(
    'parseMcpOperation',
    'round-trips the tool name of tools/call, and matching Mcp-Method/Mcp-Name headers pass',
    fc.property(
      fc.string({ minLength: 1, maxLength: 40 }),
      rpcId,
      fc.boolean(),
      (name, id, withHeaders) => {
        const op = parseMcpOperation({
          httpMethod: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(withHeaders ? { 'mcp-method': 'tools/call', 'mcp-name': name } : {}),
          },
          body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name } }),
        });
        assert.equal(op.kind, 'request');
        assert.equal(op.method, 'tools/call');
        assert.equal(op.tool, name);
        assert.equal(op.id, id);
      },
    ),
  ),
  fuzzProperty(
    'parseMcpOperation',
    'refuses an Mcp-Name or Mcp-Method header that differs from the body with operation_mismatch',
    fc.property(
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.string({ minLength: 1, maxLength: 20 }),
      fc.boolean(),
      (name, other, onName) => {
        fc.pre(name !== other && other !== 'tools/call');
        const outcome = run({
          httpMethod: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(onName ? { 'mcp-name': other } : { 'mcp-method': other }),
          },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name } }),
        });
        assert.ok('error' in outcome);
        assert.equal((outcome.error as OperationError).code, 'operation_mismatch');
        assert.equal((outcome.error as OperationError).status, 400);
      },
    ),
  ),
  fuzzProperty(
    'parseMcpOperation',
    'refuses a body over the byte cap with 413 before parsing it',
    fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }), (text) => {
      const size = Buffer.byteLength(text);
      const outcome = run(
        { httpMethod: 'POST', headers: { 'content-type': 'application/json' }, body: text },
        size - 1,
      );
      assert.ok('error' in outcome);
      assert.equal((outcome.error as OperationError).status, 413);
    }),
  ),
];
