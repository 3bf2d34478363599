/**
 * The PostgreSQL store against a real server (MCP_IAM_TEST_POSTGRES, default the `test` database
 * on 127.0.0.1:5432). The server is reached once first: when it cannot be, one test fails saying
 * so, and the others are not run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { testPostgresProblem, testPostgresUrl } from '../testing/postgres-database.js';
import { storeConformance } from '../testing/store-conformance.js';
import { makeRecord } from '../testing/records.js';
import { queryAudit } from '../cli/audit-cli.js';
import { POSTGRES_SCHEMA_VERSION, PostgresAuditStore } from './postgres.js';

const TEST_POSTGRES_URL = testPostgresUrl();

test('postgres: an unreachable server fails with store_failed', async () => {
  await assert.rejects(
    PostgresAuditStore.open({ connectionString: 'postgres://postgres@127.0.0.1:1/test' }),
    { code: 'store_failed' },
  );
});

const unreachable = await testPostgresProblem(TEST_POSTGRES_URL);
if (unreachable !== undefined) {
  test('postgres: the test server is reachable', () => assert.fail(unreachable));
} else {
  registerServerTests();
}

/** The tests that need the server. */
function registerServerTests(): void {
  // Every test gets its own schema, dropped at the end, so parallel runs never collide.
  const schemas: string[] = [];
  function freshSchema(): string {
    const schema = `audit_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    return schema;
  }

  test.after(async () => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  storeConformance('postgres', () =>
    PostgresAuditStore.open({ connectionString: TEST_POSTGRES_URL, schema: freshSchema() }),
  );

  test('postgres: concurrent openers migrate once and the schema version is recorded', async () => {
    const schema = freshSchema();
    const stores = await Promise.all(
      [1, 2, 3].map(() => PostgresAuditStore.open({ connectionString: TEST_POSTGRES_URL, schema })),
    );
    try {
      for (const store of stores)
        assert.equal(await store.schemaVersion(), POSTGRES_SCHEMA_VERSION);
      await stores[0]?.insert([makeRecord()]);
      assert.equal((await stores[2]?.query({}))?.length, 1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      const versions = await client.query(`SELECT version FROM "${schema}".schema_version`);
      assert.deepEqual(versions.rows, [{ version: 1 }]);
      const indexes = await client.query<{ indexname: string }>(
        'SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname',
        [schema, 'audit_records'],
      );
      assert.deepEqual(
        indexes.rows.map((r) => r.indexname),
        [
          'audit_records_actor_chain',
          'audit_records_client',
          'audit_records_outcome',
          'audit_records_pkey',
          'audit_records_subject',
          'audit_records_time',
          'audit_records_tool',
        ],
      );
    } finally {
      await client.end();
    }
  });

  test('postgres: a batch larger than one statement inserts in one transaction, idempotently', async () => {
    const store = await PostgresAuditStore.open({
      connectionString: TEST_POSTGRES_URL,
      schema: freshSchema(),
    });
    try {
      const records = Array.from({ length: 2500 }, () => makeRecord());
      assert.equal(await store.insert(records), 2500);
      assert.equal(await store.insert(records.slice(1000, 2000)), 0);
      assert.equal((await store.query({ limit: 5000 })).length, 2500);
    } finally {
      await store.close();
    }
  });

  test('postgres: a schema name that is not a plain identifier is refused', async () => {
    await assert.rejects(
      PostgresAuditStore.open({ connectionString: TEST_POSTGRES_URL, schema: 'x"; DROP' }),
      { code: 'invalid_argument' },
    );
  });

  test('postgres: the query command reads a PostgreSQL store in a given schema', async () => {
    const schema = freshSchema();
    const store = await PostgresAuditStore.open({ connectionString: TEST_POSTGRES_URL, schema });
    const deny = makeRecord({ subject: 'alice', outcome: 'deny', reason: 'forbidden' });
    try {
      await store.insert([deny, makeRecord({ subject: 'alice' })]);
    } finally {
      await store.close();
    }
    let out = '';
    await queryAudit(
      {
        source: { postgres: TEST_POSTGRES_URL, schema },
        filter: { outcome: 'deny' },
        format: 'json',
      },
      { stdout: (t) => (out += t) },
    );
    assert.deepEqual(JSON.parse(out), deny);
  });
}
