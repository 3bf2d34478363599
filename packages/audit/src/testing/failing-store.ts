/**
 * Test double for a store that is down: it fails a set number of inserts, then delegates to a real
 * store (or keeps records in memory), so tests can watch retries and replay.
 */
import type { AuditRecord } from '@mcp-iam/core';
import { AuditError } from '../errors.js';
import { compareAuditRecords, matchesAuditQuery, queryLimit, type AuditQuery } from '../query.js';
import type { AuditStore } from '../store/store.js';

/** In-memory store double, idempotent by id like the real stores. */
export class MemoryStoreDouble implements AuditStore {
  readonly records = new Map<string, AuditRecord>();
  inserts = 0;

  async insert(records: readonly AuditRecord[]): Promise<number> {
    this.inserts += 1;
    let added = 0;
    for (const record of records) {
      if (this.records.has(record.id)) continue;
      this.records.set(record.id, record);
      added += 1;
    }
    return added;
  }

  async query(query: AuditQuery): Promise<AuditRecord[]> {
    return [...this.records.values()]
      .filter((r) => matchesAuditQuery(r, query))
      .sort(compareAuditRecords(query.order ?? 'desc'))
      .slice(0, queryLimit(query));
  }

  async close(): Promise<void> {}
}

/** Store double that rejects its first `failures` inserts (store down), then delegates. */
export class FailingStoreDouble implements AuditStore {
  readonly #inner: AuditStore;
  remainingFailures: number;
  attempts = 0;

  constructor(inner: AuditStore, failures: number) {
    this.#inner = inner;
    this.remainingFailures = failures;
  }

  async insert(records: readonly AuditRecord[]): Promise<number> {
    this.attempts += 1;
    if (this.remainingFailures > 0) {
      this.remainingFailures -= 1;
      throw new AuditError('store_failed', 'store double: store is down');
    }
    return this.#inner.insert(records);
  }

  query(query: AuditQuery): Promise<AuditRecord[]> {
    return this.#inner.query(query);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
