import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperationError, parseMcpOperation } from './operation.js';

const json = { 'content-type': 'application/json' };
const post = (body: unknown, headers: Record<string, string> = {}) =>
  parseMcpOperation({
    httpMethod: 'POST',
    headers: { ...json, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
const rejects = (fn: () => unknown, code: string, status = 400) =>
  assert.throws(
    fn,
    (e: unknown) => e instanceof OperationError && e.code === code && e.status === status,
  );

test('reads method, id and the tool name of tools/call', () => {
  const op = post({
    jsonrpc: '2.0',
    id: 7,
    method: 'tools/call',
    params: { name: 'search', arguments: {} },
  });
  assert.equal(op.kind, 'request');
  assert.equal(op.method, 'tools/call');
  assert.equal(op.id, 7);
  assert.equal(op.tool, 'search');
});

test('reads the uri of resources/read and the name of prompts/get', () => {
  assert.equal(
    post({ jsonrpc: '2.0', id: 'a', method: 'resources/read', params: { uri: 'crm://x' } })
      .resource,
    'crm://x',
  );
  assert.equal(
    post({ jsonrpc: '2.0', id: 1, method: 'prompts/get', params: { name: 'p' } }).prompt,
    'p',
  );
});

test('a tools/call without a string name is invalid_request', () => {
  rejects(
    () => post({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 5 } }),
    'invalid_request',
  );
});

test('notifications and client responses pass as operations', () => {
  const n = post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  assert.equal(n.kind, 'notification');
  assert.equal(n.method, 'notifications/initialized');
  const r = post({ jsonrpc: '2.0', id: 3, result: {} });
  assert.equal(r.kind, 'response');
  assert.equal(r.method, 'response');
});

test('GET and DELETE are http operations without a body', () => {
  assert.deepEqual(parseMcpOperation({ httpMethod: 'GET', headers: {} }), {
    kind: 'http',
    method: 'GET',
  });
  assert.deepEqual(parseMcpOperation({ httpMethod: 'delete', headers: {} }), {
    kind: 'http',
    method: 'DELETE',
  });
});

test('row 52: a JSON-RPC batch is refused with 400', () => {
  rejects(() => post([{ jsonrpc: '2.0', id: 1, method: 'ping' }]), 'invalid_request');
});

test('row 52: non-JSON, non-object and method-less bodies are refused with 400', () => {
  rejects(() => post('{not json'), 'invalid_request');
  rejects(() => post('"a string"'), 'invalid_request');
  rejects(() => post('null'), 'invalid_request');
  rejects(() => post({ jsonrpc: '2.0', id: 1 }), 'invalid_request');
  rejects(() => post({ jsonrpc: '2.0', id: 1, method: 42 }), 'invalid_request');
  rejects(() => parseMcpOperation({ httpMethod: 'POST', headers: json }), 'invalid_request');
});

test('duplicate member names are refused, so no later parser can read another tool name', () => {
  rejects(
    () =>
      post('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","name":"evil"}}'),
    'invalid_request',
  );
  rejects(
    () => post('{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}'),
    'invalid_request',
  );
});

test('a message that is not JSON-RPC 2.0 is refused', () => {
  rejects(() => post({ id: 1, method: 'ping' }), 'invalid_request');
  rejects(() => post({ jsonrpc: '1.0', id: 1, method: 'ping' }), 'invalid_request');
});

test('row 52: deep nesting is refused with bounded work', () => {
  const deep = `{"jsonrpc":"2.0","id":1,"method":"x","params":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
  rejects(() => post(deep), 'invalid_request');
  // Brackets inside strings do not count.
  assert.equal(
    post({ jsonrpc: '2.0', id: 1, method: 'x', params: { s: '[[[[['.repeat(100) } }).method,
    'x',
  );
});

test('row 52: an oversized body is 413 and a non-JSON content type is 415', () => {
  const big = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'x',
    params: { s: 'a'.repeat(2000) },
  });
  assert.throws(
    () =>
      parseMcpOperation({ httpMethod: 'POST', headers: json, body: big }, { maxBodyBytes: 1000 }),
    (e: unknown) => e instanceof OperationError && e.status === 413 && e.code === 'body_too_large',
  );
  rejects(
    () =>
      parseMcpOperation({
        httpMethod: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '{}',
      }),
    'unsupported_media_type',
    415,
  );
});

test('an already parsed body is checked for depth too', () => {
  let v: unknown = 1;
  for (let i = 0; i < 100; i++) v = [v];
  rejects(
    () =>
      parseMcpOperation({ httpMethod: 'POST', headers: json, json: { method: 'x', params: v } }),
    'invalid_request',
  );
  assert.equal(
    parseMcpOperation({
      httpMethod: 'POST',
      headers: json,
      json: { jsonrpc: '2.0', method: 'ping', id: 1 },
    }).method,
    'ping',
  );
});

test('Mcp-Method and Mcp-Name headers must match the body', () => {
  const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'search' } };
  assert.equal(post(call, { 'mcp-method': 'tools/call', 'mcp-name': 'search' }).tool, 'search');
  rejects(() => post(call, { 'Mcp-Method': 'tools/list' }), 'operation_mismatch');
  rejects(() => post(call, { 'mcp-name': 'delete_everything' }), 'operation_mismatch');
  rejects(
    () => post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-name': 'x' }),
    'operation_mismatch',
  );
});
