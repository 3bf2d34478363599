/**
 * The store interface shared by the SQLite and PostgreSQL back ends: idempotent batch inserts keyed
 * by record id, and queries. The shipper and the CLI work against this interface only.
 */
import type { AuditRecord } from '@mcp-iam/core';
import type { AuditQuery } from '../query.js';

/**
 * A durable, queryable audit store.
 *
 * @example
 * ```ts
 * const store = await SqliteAuditStore.open({ path: './audit.db' });
 * await store.insert([record]);
 * const denies = await store.query({ outcome: 'deny' });
 * ```
 */
export interface AuditStore {
  /**
   * Inserts records in one transaction. A record whose id is already stored is skipped (a replay is
   * harmless). Resolves with the number of records newly stored, once the transaction committed.
   */
  insert(records: readonly AuditRecord[]): Promise<number>;
  /** Records matching the query, newest first unless `order: 'asc'`. */
  query(query: AuditQuery): Promise<AuditRecord[]>;
  /** Releases connections. */
  close(): Promise<void>;
}
