import { createRequire } from 'node:module';
import type { MessagePort } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * One SQLite connection in a worker thread of its own (sqlite-client.ts starts it). better-sqlite3 runs each statement
 * synchronously: here it holds this thread, never the event loop that answers the pages. The thread opens the file,
 * sets the connection's pragmas, then answers the requests of its one connection in order.
 */
export interface SqliteThreadOptions {
  /** better-sqlite3's main file, resolved by the main thread (the worker's code is evaluated, not a file). */
  driver: string;
  filename: string;
  readonly: boolean;
  /** Run once the file is open (journal mode, foreign keys, busy timeout); empty for none. */
  pragmas: string;
}

export interface SqliteRequest {
  id: number;
  /** exec: one or more statements without parameters and results (a pragma list, a script). */
  op: 'query' | 'exec' | 'close';
  sql: string;
  params: unknown[];
}

export type SqliteReply =
  | { id: number; kind: 'rows'; columns: string[]; rows: unknown[][]; done: boolean }
  | { id: number; kind: 'run'; changes: number; lastID: number }
  | { id: number; kind: 'error'; message: string; code?: string }
  | { id: 0; kind: 'ready' }
  | { id: 0; kind: 'failed'; message: string; code?: string };

/** Rows a message carries: a result of 200,000 rows crosses in pieces, the thread never holding all of it. */
export const ROWS_PER_MESSAGE = 2_000;
/** Prepared statements kept per connection: the bulk inserts and the pages' queries prepare once. */
const STATEMENTS_KEPT = 200;

export function serveSqlite(port: MessagePort, options: SqliteThreadOptions): void {
  let db: BetterSqlite3.Database;
  try {
    const Database = createRequire(options.driver)(options.driver) as typeof BetterSqlite3;
    db = new Database(options.filename, { readonly: options.readonly, fileMustExist: options.readonly });
    if (options.pragmas) db.exec(options.pragmas);
  } catch (err) {
    port.postMessage({ id: 0, kind: 'failed', ...errorOf(err) } satisfies SqliteReply);
    port.close();
    return;
  }
  // Insertion order is use order: a statement used again moves to the end, the first is the least recently used.
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (statement) statements.delete(sql);
    else {
      statement = db.prepare(sql);
      if (statements.size >= STATEMENTS_KEPT) statements.delete(statements.keys().next().value!);
    }
    statements.set(sql, statement);
    return statement;
  };
  port.on('message', (request: SqliteRequest) => {
    const { id } = request;
    try {
      if (request.op === 'close') {
        db.close();
        port.postMessage({ id, kind: 'run', changes: 0, lastID: 0 } satisfies SqliteReply);
        port.close();
        return;
      }
      if (request.op === 'exec') {
        db.exec(request.sql);
        port.postMessage({ id, kind: 'run', changes: 0, lastID: 0 } satisfies SqliteReply);
        return;
      }
      const statement = prepared(request.sql);
      const params = bindable(request.params);
      if (!statement.reader) {
        const result = statement.run(params);
        port.postMessage({ id, kind: 'run', changes: result.changes, lastID: Number(result.lastInsertRowid) } satisfies SqliteReply);
        return;
      }
      statement.raw(true);
      const columns = statement.columns().map((c) => c.name);
      let rows: unknown[][] = [];
      for (const row of statement.iterate(params) as IterableIterator<unknown[]>) {
        rows.push(row);
        if (rows.length === ROWS_PER_MESSAGE) {
          port.postMessage({ id, kind: 'rows', columns, rows, done: false } satisfies SqliteReply);
          rows = [];
        }
      }
      port.postMessage({ id, kind: 'rows', columns, rows, done: true } satisfies SqliteReply);
    } catch (err) {
      port.postMessage({ id, kind: 'error', ...errorOf(err) } satisfies SqliteReply);
    }
  });
  port.postMessage({ id: 0, kind: 'ready' } satisfies SqliteReply);
}

/**
 * The parameters as SQLite binds them, in one pass on this thread rather than on the event loop: as knex's SQLite
 * clients bind them, booleans as 0/1, dates as milliseconds, undefined as NULL; and whole numbers as INTEGER.
 * better-sqlite3 binds every JavaScript number as a REAL, the old driver bound whole numbers as INTEGER. A REAL 12.0
 * compared with a TEXT column reads as '12.0', and stored in one stays so ('12' never matches it): whole numbers go
 * to SQLite as integers (a BigInt binds as INTEGER), as the old driver and PostgreSQL take them.
 */
function bindable(params: unknown[]): unknown[] {
  for (let i = 0; i < params.length; i++) {
    let value = params[i];
    if (value === undefined) value = null;
    else if (typeof value === 'boolean') value = value ? 1 : 0;
    else if (value instanceof Date) value = value.valueOf();
    if (typeof value === 'number' && Number.isSafeInteger(value)) value = BigInt(value);
    params[i] = value;
  }
  return params;
}

function errorOf(err: unknown): { message: string; code?: string } {
  const { message, code } = err as { message?: string; code?: string };
  return { message: String(message ?? err), ...(code ? { code } : {}) };
}
