// knex's SQLite dialect and its transaction, which core/db.ts extends to open transactions with BEGIN IMMEDIATE.
declare module 'knex/lib/dialects/sqlite3/index.js' {
  const SqliteClient: new (...args: unknown[]) => { query(conn: unknown, sql: string): unknown; acquireConnection(config: unknown, cb: (conn: unknown) => Promise<unknown>): Promise<unknown> };
  export default SqliteClient;
}
declare module 'knex/lib/dialects/sqlite3/execution/sqlite-transaction.js' {
  const SqliteTransaction: new (...args: unknown[]) => { query(conn: unknown, sql: string): unknown; acquireConnection(config: unknown, cb: (conn: unknown) => Promise<unknown>): Promise<unknown> };
  export default SqliteTransaction;
}
