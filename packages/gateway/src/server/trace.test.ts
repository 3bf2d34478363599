/** Specification of request ids and W3C Trace Context. */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { startTrace } from './trace.js';

describe('startTrace', () => {
  test('keeps the trace id of a valid incoming traceparent and opens a child span', () => {
    const t = startTrace('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    assert.equal(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.match(t.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.notEqual(t.spanId, '00f067aa0ba902b7');
  });

  test("row 85: the request id is the gateway's own, never the trace id a client sent", () => {
    const sent = '4bf92f3577b34da6a3ce929d0e0e4736';
    const a = startTrace(`00-${sent}-00f067aa0ba902b7-01`);
    const b = startTrace(`00-${sent}-00f067aa0ba902b7-01`);
    assert.match(a.requestId, /^[0-9a-f]{32}$/);
    assert.notEqual(a.requestId, sent);
    assert.notEqual(a.requestId, b.requestId);
    assert.notEqual(startTrace(undefined).requestId, startTrace(undefined).requestId);
  });

  test('starts a new trace for a missing, malformed or all-zero traceparent', () => {
    for (const bad of [
      undefined,
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    ]) {
      const t = startTrace(bad);
      assert.match(t.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    }
  });
});
