/**
 * Request ids and W3C Trace Context. Every request gets the gateway's own random request id (the
 * audit record's and `X-Request-Id`); a client's `traceparent` only joins the request to the
 * client's trace and never becomes the request id (row 85: two callers could otherwise give their
 * records one id). A valid incoming `traceparent` keeps its trace id; otherwise a new trace
 * starts. The upstream gets a child `traceparent` whose parent is the gateway's own span.
 */
import { randomBytes } from 'node:crypto';

/** The trace of one request. */
export interface RequestTrace {
  /** The gateway's own id of the request (32 hex digits, random): logs, audit, `X-Request-Id`. */
  readonly requestId: string;
  /** 32 hex digits: the client's trace id, or a new one. */
  readonly traceId: string;
  /** The gateway's span id (16 hex digits). */
  readonly spanId: string;
  /** `traceparent` to send to the upstream. */
  readonly traceparent: string;
}

// Ids come from the CSPRNG in 4 KiB batches: one randomBytes call per ~200 requests instead of
// two per request (a measurable share of the gateway's per-request CPU).
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function randomHex(bytes: number): string {
  if (randomOffset + bytes > randomPool.length) {
    randomPool = randomBytes(4096);
    randomOffset = 0;
  }
  const hex = randomPool.toString('hex', randomOffset, randomOffset + bytes);
  randomOffset += bytes;
  return hex;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Reads the incoming `traceparent` (if valid) and opens the gateway's span. */
export function startTrace(incoming: string | string[] | undefined): RequestTrace {
  const match = typeof incoming === 'string' ? TRACEPARENT.exec(incoming.trim()) : null;
  if (match) {
    const [, version, traceId, parentId, flags] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    if (version !== 'ff' && !/^0+$/.test(traceId) && !/^0+$/.test(parentId)) {
      const ids = randomHex(24);
      const spanId = ids.slice(32);
      return {
        requestId: ids.slice(0, 32),
        traceId,
        spanId,
        traceparent: `00-${traceId}-${spanId}-${flags}`,
      };
    }
  }
  // A new trace: request id, trace id and span id from one read of the pool.
  const ids = randomHex(40);
  const traceId = ids.slice(32, 64);
  const spanId = ids.slice(64);
  return {
    requestId: ids.slice(0, 32),
    traceId,
    spanId,
    traceparent: `00-${traceId}-${spanId}-00`,
  };
}
