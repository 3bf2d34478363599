/**
 * PostgreSQL audit store (node-postgres): a table in a chosen schema, versioned migrations run under
 * an advisory lock (several gateways may start at once), idempotent batch inserts keyed by record id.
 */
import pg from 'pg';
import type { AuditRecord } from '@mcp-iam/core';
import { AuditError } from '../errors.js';
import { queryLimit, type AuditQuery } from '../query.js';
import { RECORD_COLUMNS, recordColumns, type ColumnValue } from './columns.js';
import type { AuditStore } from './store.js';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const ROWS_PER_STATEMENT = 1000;

/** Schema migrations; `%s` stands for the quoted schema name. */
const MIGRATIONS: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE %s.audit_records (
        id text PRIMARY KEY,
        time timestamptz NOT NULL,
        request_id text NOT NULL,
        route text,
        outcome text NOT NULL,
        reason text NOT NULL,
        issuer text,
        subject text,
        client_id text,
        actor text,
        actor_chain text[] NOT NULL DEFAULT '{}',
        acr text,
        method text,
        tool text,
        resource text,
        prompt text,
        status integer,
        upstream_status integer,
        duration_ms double precision NOT NULL,
        token_fingerprint text,
        record json NOT NULL
      );
      CREATE INDEX audit_records_time ON %s.audit_records (time);
      CREATE INDEX audit_records_subject ON %s.audit_records (subject, time);
      CREATE INDEX audit_records_client ON %s.audit_records (client_id, time);
      CREATE INDEX audit_records_actor_chain ON %s.audit_records USING gin (actor_chain);
      CREATE INDEX audit_records_tool ON %s.audit_records (tool, time);
      CREATE INDEX audit_records_outcome ON %s.audit_records (outcome, time);
    `,
  },
];

/** Newest schema version this code writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Options of {@link PostgresAuditStore.open}. */
export interface PostgresAuditStoreOptions {
  /** `postgres://user@host:port/db`. Ignored when `pool` is given. */
  readonly connectionString?: string;
  /** An existing pool; the store then does not end it on close. */
  readonly pool?: pg.Pool;
  /** Schema holding the tables (created if missing). Default `public`. Lowercase SQL identifier. */
  readonly schema?: string;
  /** Pool size when the store creates the pool. Default 4. */
  readonly maxConnections?: number;
  /** Run migrations on open. Default `true`. */
  readonly migrate?: boolean;
}

/**
 * Audit store in PostgreSQL.
 *
 * @example
 * ```ts
 * const store = await PostgresAuditStore.open({ connectionString: process.env.AUDIT_DB, schema: 'audit' });
 * await store.insert(records);
 * await store.close();
 * ```
 */
export class PostgresAuditStore implements AuditStore {
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #schema: string;
  #closed = false;

  private constructor(pool: pg.Pool, ownsPool: boolean, schema: string) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.#schema = schema;
  }

  /** Connects and migrates. Throws {@link AuditError} `store_failed` when the server is unreachable. */
  static async open(options: PostgresAuditStoreOptions): Promise<PostgresAuditStore> {
    const schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(schema)) {
      throw new AuditError('invalid_argument', 'schema must be a lowercase SQL identifier');
    }
    const ownsPool = options.pool === undefined;
    const pool =
      options.pool ??
      new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 4 });
    const store = new PostgresAuditStore(pool, ownsPool, `"${schema}"`);
    if (options.migrate ?? true) {
      try {
        await store.#migrate();
      } catch (error) {
        await store.close();
        throw error instanceof AuditError
          ? error
          : new AuditError('store_failed', 'PostgreSQL audit store migration failed', {
              cause: error,
            });
      }
    }
    return store;
  }

  /** Schema version of the database. */
  async schemaVersion(): Promise<number> {
    const result = await this.#pool.query<{ v: number | null }>(
      `SELECT MAX(version) AS v FROM ${this.#schema}.schema_version`,
    );
    return result.rows[0]?.v ?? 0;
  }

  async insert(records: readonly AuditRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      let added = 0;
      for (let i = 0; i < records.length; i += ROWS_PER_STATEMENT) {
        const chunk = records.slice(i, i + ROWS_PER_STATEMENT);
        const params: ColumnValue[] = [];
        const rows = chunk.map((record) => {
          const values = recordColumns(record, 'postgres');
          const base = params.length;
          params.push(...values);
          return `(${values.map((_, j) => `$${base + j + 1}`).join(', ')})`;
        });
        const result = await client.query(
          `INSERT INTO ${this.#schema}.audit_records (${RECORD_COLUMNS.join(', ')}) VALUES ${rows.join(', ')}` +
            ' ON CONFLICT (id) DO NOTHING',
          params,
        );
        added += result.rowCount ?? 0;
      }
      await client.query('COMMIT');
      return added;
    } catch (error) {
      await client?.query('ROLLBACK').catch(() => undefined);
      throw new AuditError('store_failed', 'PostgreSQL audit insert failed', { cause: error });
    } finally {
      client?.release();
    }
  }

  async query(query: AuditQuery): Promise<AuditRecord[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (condition: (placeholder: string) => string, value: string | number): void => {
      params.push(value);
      where.push(condition(`$${params.length}`));
    };
    if (query.since !== undefined) add((p) => `time >= ${p}`, query.since.toISOString());
    if (query.until !== undefined) add((p) => `time < ${p}`, query.until.toISOString());
    const eq = (column: string, value: string | undefined): void => {
      if (value !== undefined) add((p) => `${column} = ${p}`, value);
    };
    eq('subject', query.subject);
    eq('client_id', query.clientId);
    eq('tool', query.tool);
    eq('outcome', query.outcome);
    eq('route', query.route);
    eq('reason', query.reason);
    if (query.actor !== undefined) add((p) => `actor_chain @> ARRAY[${p}]::text[]`, query.actor);
    const dir = query.order === 'asc' ? 'ASC' : 'DESC';
    params.push(queryLimit(query));
    const sql =
      `SELECT record FROM ${this.#schema}.audit_records` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY time ${dir}, id ${dir} LIMIT $${params.length}`;
    try {
      const result = await this.#pool.query<{ record: AuditRecord }>(sql, params);
      return result.rows.map((row) => row.record);
    } catch (error) {
      throw new AuditError('store_failed', 'PostgreSQL audit query failed', { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsPool) await this.#pool.end();
  }

  async #migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      // Serializes concurrent migrators of the same schema; released at COMMIT.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `mcp-iam-audit:${this.#schema}`,
      ]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.#schema}.schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const result = await client.query<{ v: number | null }>(
        `SELECT MAX(version) AS v FROM ${this.#schema}.schema_version`,
      );
      const current = result.rows[0]?.v ?? 0;
      if (current > MIGRATIONS.length) {
        throw new AuditError(
          'store_failed',
          `PostgreSQL audit store has schema version ${current}, newer than this code (${MIGRATIONS.length})`,
        );
      }
      for (const migration of MIGRATIONS) {
        if (migration.version <= current) continue;
        await client.query(migration.sql.replaceAll('%s', this.#schema));
        await client.query(`INSERT INTO ${this.#schema}.schema_version (version) VALUES ($1)`, [
          migration.version,
        ]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
