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
const list = (v: readonly string[] | undefined): readonly string[] | undefined =>
  v === undefined ? undefined : v.slice(0, 64).map((x) => sanitizeAuditString(x));

function put(record: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) record[key] = value;
}

/**
 * Builds one audit record. Method, tool, resource, prompt, subject, client, actors, acr, scopes,
 * request id, route and detail pass through `sanitizeAuditString`.
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
  const chain = p ? actorChain(p) : [];
  // Absent fields are never assigned (rather than deleted afterwards): deleting keys turns the
  // object into a slow dictionary, and the record is serialised once more by the sink.
  const record: Record<string, unknown> = {
    id: newRecordId(),
    time: new Date(input.startedAt).toISOString(),
    requestId: sanitizeAuditString(input.requestId ?? newRecordId(), 128),
  };
  put(record, 'route', s(input.route));
  put(record, 'outcome', input.outcome);
  put(record, 'reason', input.reason);
  put(record, 'issuer', s(p?.issuer));
  put(record, 'subject', s(p?.subject));
  put(record, 'clientId', s(p?.clientId));
  put(record, 'actorChain', chain.length > 0 ? list(chain) : undefined);
  put(record, 'acr', s(p?.acr));
  put(record, 'method', s(op?.method));
  put(record, 'tool', s(op?.tool));
  put(record, 'resource', s(op?.resource));
  put(record, 'prompt', s(op?.prompt));
  put(record, 'scopesRequired', list(input.scopesRequired));
  put(record, 'scopesGranted', list(p?.scopes));
  put(record, 'status', input.status);
  put(record, 'upstreamStatus', input.upstreamStatus);
  record.durationMs = Math.max(0, (input.endedAt ?? Date.now()) - input.startedAt);
  put(
    record,
    'tokenFingerprint',
    input.token !== undefined && input.fingerprintKey !== undefined
      ? tokenFingerprint(input.token, input.fingerprintKey)
      : input.tokenFingerprint,
  );
  put(record, 'detail', s(input.detail));
  return Object.freeze(record) as unknown as AuditRecord;
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
