/**
 * SQLite audit store (better-sqlite3): one file, WAL journal, `synchronous=FULL` so a committed
 * insert survives power loss; versioned migrations and idempotent inserts keyed by record id.
 */
import Database from 'better-sqlite3';
import type { AuditRecord } from '@mcp-iam/core';
import { AuditError } from '../errors.js';
import { queryLimit, type AuditQuery } from '../query.js';
import { RECORD_COLUMNS, recordColumns } from './columns.js';
import type { AuditStore } from './store.js';

/** Schema migrations, applied in order; a database records the versions it has in schema_version. */
const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE audit_records (
        id TEXT PRIMARY KEY NOT NULL,
        time INTEGER NOT NULL,
        request_id TEXT NOT NULL,
        route TEXT,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL,
        issuer TEXT,
        subject TEXT,
        client_id TEXT,
        actor TEXT,
        actor_chain TEXT NOT NULL DEFAULT '[]',
        acr TEXT,
        method TEXT,
        tool TEXT,
        resource TEXT,
        prompt TEXT,
        status INTEGER,
        upstream_status INTEGER,
        duration_ms REAL NOT NULL,
        token_fingerprint TEXT,
        record TEXT NOT NULL
      );
      CREATE INDEX audit_records_time ON audit_records (time);
      CREATE INDEX audit_records_subject ON audit_records (subject, time);
      CREATE INDEX audit_records_client ON audit_records (client_id, time);
      CREATE INDEX audit_records_actor ON audit_records (actor, time);
      CREATE INDEX audit_records_tool ON audit_records (tool, time);
      CREATE INDEX audit_records_outcome ON audit_records (outcome, time);
    `,
  },
];

/** Newest schema version this code writes. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Options of {@link SqliteAuditStore.open}. */
export interface SqliteAuditStoreOptions {
  /** Database file; created with the schema if missing. */
  readonly path: string;
  /** Open read-only (queries only; no migrations). Default `false`. */
  readonly readonly?: boolean;
}

/**
 * Audit store in a SQLite file.
 *
 * @example
 * ```ts
 * const store = SqliteAuditStore.open({ path: './data/audit.db' });
 * await store.insert(records);
 * await store.close();
 * ```
 */
export class SqliteAuditStore implements AuditStore {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement | undefined;
  readonly #insertMany: ((records: readonly AuditRecord[]) => number) | undefined;

  private constructor(db: Database.Database, readonly: boolean) {
    this.#db = db;
    if (readonly) return;
    const placeholders = RECORD_COLUMNS.map(() => '?').join(', ');
    const insert = db.prepare(
      `INSERT INTO audit_records (${RECORD_COLUMNS.join(', ')}) VALUES (${placeholders}) ON CONFLICT (id) DO NOTHING`,
    );
    this.#insert = insert;
    this.#insertMany = db.transaction((records: readonly AuditRecord[]) => {
      let added = 0;
      for (const record of records) added += insert.run(...recordColumns(record, 'sqlite')).changes;
      return added;
    });
  }

  /** Opens (and migrates) the database at `options.path`. */
  static open(options: SqliteAuditStoreOptions): SqliteAuditStore {
    const readonly = options.readonly ?? false;
    let db: Database.Database;
    try {
      db = new Database(options.path, { readonly, fileMustExist: readonly });
    } catch (error) {
      throw new AuditError('store_failed', `cannot open SQLite audit store ${options.path}`, {
        cause: error,
      });
    }
    try {
      db.pragma('busy_timeout = 5000');
      if (!readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = FULL');
        migrate(db);
      }
      return new SqliteAuditStore(db, readonly);
    } catch (error) {
      db.close();
      throw error instanceof AuditError
        ? error
        : new AuditError('store_failed', 'SQLite audit store migration failed', { cause: error });
    }
  }

  /** Schema version of the open database. */
  schemaVersion(): number {
    const row = this.#db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as {
      v: number | null;
    };
    return row.v ?? 0;
  }

  async insert(records: readonly AuditRecord[]): Promise<number> {
    if (this.#insertMany === undefined || this.#insert === undefined) {
      throw new AuditError('store_failed', 'SQLite audit store is read-only');
    }
    if (records.length === 0) return 0;
    try {
      return this.#insertMany(records);
    } catch (error) {
      throw new AuditError('store_failed', 'SQLite audit insert failed', { cause: error });
    }
  }

  async query(query: AuditQuery): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const eq = (column: string, value: string | undefined): void => {
      if (value === undefined) return;
      where.push(`${column} = ?`);
      params.push(value);
    };
    if (query.since !== undefined) {
      where.push('time >= ?');
      params.push(query.since.getTime());
    }
    if (query.until !== undefined) {
      where.push('time < ?');
      params.push(query.until.getTime());
    }
    eq('subject', query.subject);
    eq('client_id', query.clientId);
    eq('tool', query.tool);
    eq('outcome', query.outcome);
    eq('route', query.route);
    eq('reason', query.reason);
    if (query.actor !== undefined) {
      where.push('EXISTS (SELECT 1 FROM json_each(actor_chain) WHERE json_each.value = ?)');
      params.push(query.actor);
    }
    const dir = query.order === 'asc' ? 'ASC' : 'DESC';
    const sql =
      `SELECT record FROM audit_records${where.length ? ` WHERE ${where.join(' AND ')}` : ''}` +
      ` ORDER BY time ${dir}, id ${dir} LIMIT ?`;
    params.push(queryLimit(query));
    try {
      const rows = this.#db.prepare(sql).all(...params) as { record: string }[];
      return rows.map((row) => JSON.parse(row.record) as AuditRecord);
    } catch (error) {
      throw new AuditError('store_failed', 'SQLite audit query failed', { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
  );
  db.transaction(() => {
    const row = db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as {
      v: number | null;
    };
    const current = row.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new AuditError(
        'store_failed',
        `SQLite audit store has schema version ${current}, newer than this code (${MIGRATIONS.length})`,
      );
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(
        migration.version,
        new Date().toISOString(),
      );
    }
  }).immediate();
}
