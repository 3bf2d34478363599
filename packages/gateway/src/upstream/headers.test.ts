/** Specification of header hygiene between client, gateway and upstream (rows 48, 53, 54). */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import {
  clientResponseHeaders,
  isIdentityHeader,
  stripClientIdentityHeaders,
  upstreamRequestHeaders,
} from './headers.js';

describe('header hygiene', () => {
  test('identity headers are recognised whatever their case', () => {
    for (const name of [
      'X-Forwarded-User',
      'x-forwarded-for',
      'X-Auth-Request-Email',
      'X-MCP-IAM-Subject',
      'Forwarded',
      'X-Real-IP',
    ])
      assert.equal(isIdentityHeader(name), true, name);
    for (const name of ['authorization', 'mcp-session-id', 'accept'])
      assert.equal(isIdentityHeader(name), false, name);
  });

  test('client identity headers are removed before the guard', () => {
    assert.deepEqual(
      stripClientIdentityHeaders({
        'x-forwarded-user': 'admin',
        accept: 'a',
        authorization: 'Bearer t',
      }),
      {
        accept: 'a',
        authorization: 'Bearer t',
      },
    );
  });

  test('the upstream gets MCP headers, never credentials, cookies, DPoP or hop-by-hop headers', () => {
    const out = upstreamRequestHeaders(
      {
        authorization: 'Bearer caller',
        cookie: 'a=1',
        dpop: 'proof',
        connection: 'close, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=1',
        'transfer-encoding': 'chunked',
        'proxy-authorization': 'Basic x',
        upgrade: 'websocket',
        te: 'trailers',
        trailer: 'x',
        host: 'gateway',
        'accept-encoding': 'gzip',
        'mcp-session-id': 's',
        'mcp-protocol-version': '2025-11-25',
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
        'last-event-id': '4',
      },
      { token: 'exchanged' },
    );
    assert.deepEqual(out, {
      authorization: 'Bearer exchanged',
      'mcp-session-id': 's',
      'mcp-protocol-version': '2025-11-25',
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      'last-event-id': '4',
    });
  });

  test('without a token there is no Authorization header; forwarding headers are the gateway’s own', () => {
    const out = upstreamRequestHeaders(
      { authorization: 'Bearer caller', 'x-forwarded-for': '6.6.6.6' },
      { forwarded: { for: '127.0.0.1', proto: 'http', host: 'gw' } },
    );
    assert.deepEqual(out, {
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gw',
    });
  });

  test('upstream answers lose identity, credential, cookie, CORS and hop-by-hop headers', () => {
    const out = clientResponseHeaders(
      {
        'content-type': 'text/event-stream',
        'mcp-session-id': 's',
        'www-authenticate': 'Bearer',
        'set-cookie': ['a=1'],
        'x-forwarded-user': 'admin',
        'x-auth-request-user': 'admin',
        'access-control-allow-origin': '*',
        connection: 'x-hop',
        'x-hop': '1',
        'transfer-encoding': 'chunked',
        'content-length': '10',
      },
      { bodyRewritten: true },
    );
    assert.deepEqual(out, { 'content-type': 'text/event-stream', 'mcp-session-id': 's' });
  });
});
