/** Specifies how a request that got no answer is described: the URL and the system's cause. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { fetchFailureCause, fetchJsonObject, IdpFetchError } from './fetch.js';

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listening(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a refused connection is named ECONNREFUSED, with the URL, in the IdP error', async () => {
  const url = new URL(`http://127.0.0.1:${await closedPort()}/jwks`);
  await assert.rejects(fetchJsonObject(url, 2000), (error: unknown) => {
    assert.ok(error instanceof IdpFetchError);
    assert.equal(error.message, `request to ${url.href} failed (ECONNREFUSED)`);
    assert.equal(fetchFailureCause(error.cause), 'ECONNREFUSED');
    return true;
  });
});

test('no answer within the timeout is named ETIMEDOUT', async () => {
  const server = createServer(() => undefined);
  const port = await listening(server);
  try {
    await assert.rejects(
      fetchJsonObject(new URL(`http://127.0.0.1:${port}/slow`), 200),
      /failed \(ETIMEDOUT\)$/,
    );
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('an error without a code is described by its innermost message', () => {
  const error = new TypeError('fetch failed', { cause: new Error('certificate rejected') });
  assert.equal(fetchFailureCause(error), 'certificate rejected');
});
