/**
 * Builds an `AuditRecord` from what a request decision knows (principal, operation, outcome),
 * escaping and capping every attacker-controlled string and replacing the token with its keyed
 * fingerprint. Also an in-memory sink for tests and examples.
 */
import type { ReasonCode } from '../errors.js';
import type { McpOperation } from '../mcp/operation.js';
import { actorChain, type Principal } from '../principal/principal.js';
import {
  newRecordId,
  sanitizeAuditString,
  tokenFingerprint,
  type AuditOutcome,
  type AuditRecord,
  type AuditSink,
} from './record.js';
import { SanitizedAuditRecord } from './trusted.js';

/** Everything `buildAuditRecord` can use; all optional except outcome, reason and timing. */
export interface AuditInput {
  readonly outcome: AuditOutcome;
  readonly reason: ReasonCode;
  /** When the request arrived (ms since epoch). */
  readonly startedAt: number;
  /** When the answer was decided (ms since epoch); default now. */
  readonly endedAt?: number;
  readonly requestId?: string;
  readonly route?: string;
  readonly principal?: Principal;
  readonly operation?: Pick<McpOperation, 'method' | 'tool' | 'resource' | 'prompt'>;
  readonly scopesRequired?: readonly string[];
  readonly status?: number;
  readonly upstreamStatus?: number;
  /** The presented token: only its keyed fingerprint enters the record. */
  readonly token?: string;
  /** Secret key of the fingerprint; without it no fingerprint is recorded. */
  readonly fingerprintKey?: string | Buffer;
  /** An already computed fingerprint (used when `token` is absent). */
  readonly tokenFingerprint?: string;
  readonly detail?: string;
}

const s = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : sanitizeAuditString(v);
// Sanitized copies of frozen lists, by identity: a cached principal's scopes and a policy's
// required scopes are the same frozen arrays on every request, so each is sanitized once. Only
// frozen inputs are remembered (a mutable array could change after its copy was made).
const sanitizedLists = new WeakMap<readonly string[], readonly string[]>();
const list = (v: readonly string[] | undefined): readonly string[] | undefined => {
  if (v === undefined) return undefined;
  // Only plain arrays are remembered: a subclass could override what a copy reads.
  const plain = Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype;
  let out = plain ? sanitizedLists.get(v) : undefined;
  if (out !== undefined) return out;
  const copy: string[] = [];
  const n = Math.min(v.length, 64);
  for (let i = 0; i < n; i++) copy.push(sanitizeAuditString(v[i] as string));
  out = Object.freeze(copy);
  if (plain && Object.isFrozen(v)) sanitizedLists.set(v, out);
  return out;
};

type Draft = { -readonly [K in keyof AuditRecord]?: AuditRecord[K] };

// Many records start in the same millisecond under load: reuse the last formatted time.
let lastStartedAt = Number.NaN;
let lastTime = '';
function isoTime(startedAt: number): string {
  if (startedAt === lastStartedAt) return lastTime;
  const time = new Date(startedAt).toISOString();
  if (typeof startedAt === 'number') {
    lastStartedAt = startedAt;
    lastTime = time;
  }
  return time;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]{0,256}$/;
const printable = (v: unknown): boolean => typeof v === 'string' && PRINTABLE_ASCII.test(v);
const finiteOrAbsent = (v: unknown): boolean =>
  v === undefined || (typeof v === 'number' && Number.isFinite(v));

// The fields buildAuditRecord does not sanitize itself (they are not attacker-controlled in
// well-typed callers) must already be what a sink would accept unchanged, or the record is not
// marked and a sink validates it in full.
// The caller reads each field once and passes the values it will store (a getter must not pass the
// check with one value and be stored with another).
function passesSinkChecks(
  outcome: unknown,
  reason: unknown,
  status: unknown,
  upstreamStatus: unknown,
  durationMs: number,
  fingerprint: string | undefined,
): boolean {
  return (
    (outcome === 'allow' || outcome === 'deny' || outcome === 'error') &&
    printable(reason) &&
    (fingerprint === undefined || printable(fingerprint)) &&
    finiteOrAbsent(status) &&
    finiteOrAbsent(upstreamStatus) &&
    Number.isFinite(durationMs)
  );
}

/**
 * Builds one audit record. Method, tool, resource, prompt, subject, client, actors, acr, scopes,
 * request id, route and detail pass through `sanitizeAuditString`. The record and its lists are
 * frozen; when its other fields are valid too, `isSanitizedAuditRecord` recognises it, so a sink
 * can store it without validating it again (such a record is an instance of a core class: compare
 * its data, `{ ...record }`, rather than its prototype).
 *
 * @example
 * ```ts
 * const record = buildAuditRecord({ outcome: 'deny', reason: 'missing_token', startedAt: Date.now() });
 * await sink.write(record);
 * ```
 */
export function buildAuditRecord(input: AuditInput): AuditRecord {
  const p = input.principal;
  const op = input.operation;
  // Absent fields are never assigned (rather than deleted afterwards), and fields are assigned by
  // name in one fixed order: the record keeps fast properties, which JSON.stringify (the sink
  // serialises every record) and the field reads are much quicker on.
  const durationMs = Math.max(0, (input.endedAt ?? Date.now()) - input.startedAt);
  const fingerprint =
    input.token !== undefined && input.fingerprintKey !== undefined
      ? tokenFingerprint(input.token, input.fingerprintKey)
      : input.tokenFingerprint;
  const { outcome, reason, status, upstreamStatus } = input;
  const record: Draft = passesSinkChecks(
    outcome,
    reason,
    status,
    upstreamStatus,
    durationMs,
    fingerprint,
  )
    ? (new SanitizedAuditRecord() as Draft)
    : {};
  record.id = newRecordId();
  record.time = isoTime(input.startedAt);
  record.requestId = sanitizeAuditString(input.requestId ?? newRecordId(), 128);
  let v: string | readonly string[] | number | undefined;
  if ((v = s(input.route)) !== undefined) record.route = v;
  if (outcome !== undefined) record.outcome = outcome;
  if (reason !== undefined) record.reason = reason;
  if (p !== undefined) {
    if ((v = s(p.issuer)) !== undefined) record.issuer = v;
    if ((v = s(p.subject)) !== undefined) record.subject = v;
    if ((v = s(p.clientId)) !== undefined) record.clientId = v;
    // The actor chain is empty exactly when there is no actor.
    if (p.actor) record.actorChain = list(actorChain(p));
    if ((v = s(p.acr)) !== undefined) record.acr = v;
  }
  if (op !== undefined) {
    if ((v = s(op.method)) !== undefined) record.method = v;
    if ((v = s(op.tool)) !== undefined) record.tool = v;
    if ((v = s(op.resource)) !== undefined) record.resource = v;
    if ((v = s(op.prompt)) !== undefined) record.prompt = v;
  }
  if ((v = list(input.scopesRequired)) !== undefined) record.scopesRequired = v;
  if ((v = list(p?.scopes)) !== undefined) record.scopesGranted = v;
  if (status !== undefined) record.status = status;
  if (upstreamStatus !== undefined) record.upstreamStatus = upstreamStatus;
  record.durationMs = durationMs;
  if (fingerprint !== undefined) record.tokenFingerprint = fingerprint;
  if ((v = s(input.detail)) !== undefined) record.detail = v;
  return Object.freeze(record) as AuditRecord;
}

/**
 * An audit sink that keeps records in memory, for tests and examples only (not durable).
 *
 * @example
 * ```ts
 * const sink = new InMemoryAuditSink();
 * // ... run requests ...
 * assert.equal(sink.records.length, 1);
 * ```
 */
export class InMemoryAuditSink implements AuditSink {
  readonly #records: AuditRecord[] = [];
  readonly #max: number;

  /** @param max Most records kept (oldest dropped first). Default 10 000. */
  constructor(max = 10_000) {
    this.#max = max;
  }

  /** Records written so far, oldest first. */
  get records(): readonly AuditRecord[] {
    return this.#records;
  }

  async write(record: AuditRecord): Promise<void> {
    this.#records.push(record);
    if (this.#records.length > this.#max) this.#records.shift();
  }

  /** Forgets every record. */
  clear(): void {
    this.#records.length = 0;
  }
}
