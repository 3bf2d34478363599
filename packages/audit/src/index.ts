/**
 * @mcp-iam/audit: the durable audit trail. A checksummed, group-committed local spool; SQLite and
 * PostgreSQL stores; a shipper between them; sinks with strict, buffered and best-effort modes;
 * queries and the `mcp-iam audit` command.
 */
export * from './errors.js';
export * from './sanitize.js';
export * from './spool/format.js';
export * from './spool/file-system.js';
export * from './spool/segments.js';
export * from './spool/spool.js';
export * from './spool/reader.js';
export * from './spool/cursor.js';
export * from './store/store.js';
export * from './store/sqlite.js';
export * from './store/postgres.js';
export * from './shipper.js';
export * from './sink.js';
export * from './query.js';
export * from './cli/audit-cli.js';
export * from './cli/format.js';
