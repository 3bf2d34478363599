/**
 * The PostgreSQL server the audit store's tests run against, and the one check made before any of
 * them: can it be reached? When it cannot, the tests report that once, naming the URL and the
 * variable that changes it, instead of each failing with its own connection error. They never skip
 * silently: CI has PostgreSQL, and a missing server there is a failure.
 */
import pg from 'pg';

/** The variable that names the test server. */
export const TEST_POSTGRES_VARIABLE = 'MCP_IAM_TEST_POSTGRES';

/** The test server when the variable is unset: the `test` database of a local PostgreSQL. */
export const DEFAULT_TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The connection string of the test server. */
export function testPostgresUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env[TEST_POSTGRES_VARIABLE] || DEFAULT_TEST_POSTGRES_URL;
}

/** `url` without its password, for messages. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return url;
  }
}

function cause(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

/**
 * Connects to `url` once and runs `SELECT 1`. Resolves with undefined when that works, else with
 * the message the tests fail with: what failed, the URL, and how to point them elsewhere.
 */
export async function testPostgresProblem(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (
      `the PostgreSQL tests need a server at ${withoutPassword(url)}, and connecting failed ` +
      `(${cause(error)}); start PostgreSQL there (with a database "test" the user may create ` +
      `schemas in), or set ${TEST_POSTGRES_VARIABLE} to the connection string of another server`
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
