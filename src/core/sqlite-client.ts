import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import SqliteClient from 'knex/lib/dialects/sqlite3/index.js';
import type { SqliteReply, SqliteRequest, SqliteThreadOptions } from './sqlite-thread.ts';
import { workerCode } from './worker-code.ts';

/**
 * SQLite through better-sqlite3, each connection in a worker thread of its own (sqlite-thread.ts).
 *
 * better-sqlite3 is maintained (the card's `sqlite3` is deprecated by its authors) and fast, but synchronous: a
 * statement holds its thread until it returns, and single statements of the bulk steps take seconds (a payout file's
 * account read, a release's reads over half a million lines). On the event loop they would stop every page. Here the
 * event loop only posts a statement and receives its rows, as the old driver's thread pool did: pages keep answering
 * on the other connections (WAL readers) while one connection writes. Rows come back as arrays in pieces of
 * ROWS_PER_MESSAGE and become objects here, so that neither thread holds a large result twice.
 */

/** A worker's young generation: its garbage is the pieces of rows it has posted (the table workers' reasoning). */
const WORKER_YOUNG_MB = 8;

/** better-sqlite3's main file, for the worker to load (its code is evaluated, so it resolves nothing itself). */
let driverFile: string | null = null;
const driver = () => (driverFile ??= createRequire(import.meta.url).resolve('better-sqlite3'));

/** A database error from the worker, with SQLite's code (SQLITE_CONSTRAINT_UNIQUE, SQLITE_BUSY, …). */
export class SqliteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SqliteError';
  }
}

export interface RunResult {
  changes: number;
  lastID: number;
}

interface Pending {
  resolve(value: { rows: Record<string, unknown>[] } | RunResult): void;
  reject(err: Error): void;
  rows: Record<string, unknown>[];
}

/** One connection: a worker holding one better-sqlite3 database. Requests are answered in the order they are sent. */
export class SqliteConnection {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;
  /** Once closing, the worker keeps the process alive until it has exited (the caller awaits that). */
  private closing = false;
  /** Set by knex's pool when a transaction could not restore the connection: it is then discarded. */
  __knex__disposed?: Error;

  private constructor(options: SqliteThreadOptions) {
    this.worker = new Worker(workerCode('sqlite'), { eval: true, workerData: options, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
    this.worker.on('message', (reply: SqliteReply) => this.receive(reply));
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`SQLite worker exited (code ${code})`)));
    // An idle connection does not keep the process alive; one with a statement under way does (send, receive).
    this.worker.unref();
  }

  /** Open a database file (creating it unless read-only) and set the connection's pragmas. */
  static open(filename: string, options: { readonly?: boolean; pragmas?: string } = {}): Promise<SqliteConnection> {
    const connection = new SqliteConnection({ driver: driver(), filename, readonly: options.readonly ?? false, pragmas: options.pragmas ?? '' });
    return new Promise((resolve, reject) => {
      connection.opened = { resolve: () => resolve(connection), reject };
      connection.worker.ref();
    });
  }

  private opened: { resolve(): void; reject(err: Error): void } | null = null;

  /** Run one statement: the rows of a statement that returns rows, otherwise the changes and the last inserted rowid. */
  query(sql: string, params: readonly unknown[] = []): Promise<{ rows: Record<string, unknown>[] } | RunResult> {
    // The parameters are copied to the worker as they are (a Date, a boolean and undefined survive the copy), and bound
    // there (sqlite-thread.ts).
    return this.send('query', sql, params);
  }

  /** The rows of a statement that returns rows. */
  async all<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const result = await this.query(sql, params);
    if (!('rows' in result)) throw new Error('statement returns no rows');
    return result.rows as T[];
  }

  /** Run a statement that returns no rows (a prepared INSERT of many rows, kept prepared in the worker). */
  async run(sql: string, params: readonly unknown[] = []): Promise<RunResult> {
    const result = await this.query(sql, params);
    if ('rows' in result) throw new Error('statement returns rows');
    return result;
  }

  /** Run statements without parameters (pragmas, a script). */
  async exec(sql: string): Promise<void> {
    await this.send('exec', sql, []);
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.closing = true;
    await this.send('close', '', []).catch(() => undefined);
    await exited;
  }

  private send(op: SqliteRequest['op'], sql: string, params: readonly unknown[]): Promise<{ rows: Record<string, unknown>[] } | RunResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, rows: [] });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, op, sql, params: params as unknown[] } satisfies SqliteRequest);
    });
  }

  private receive(reply: SqliteReply): void {
    if (reply.kind === 'ready' || reply.kind === 'failed') {
      this.worker.unref();
      const opened = this.opened!;
      this.opened = null;
      if (reply.kind === 'ready') opened.resolve();
      else {
        this.failure = new SqliteError(reply.message, reply.code);
        opened.reject(this.failure);
      }
      return;
    }
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (reply.kind === 'rows') {
      const { columns, rows } = reply;
      for (const values of rows) {
        const row: Record<string, unknown> = {};
        for (let i = 0; i < columns.length; i++) row[columns[i]!] = fromWorker(values[i]);
        pending.rows.push(row);
      }
      if (!reply.done) return;
    }
    this.pending.delete(reply.id);
    if (this.pending.size === 0 && !this.closing) this.worker.unref();
    if (reply.kind === 'error') pending.reject(new SqliteError(reply.message, reply.code));
    else if (reply.kind === 'rows') pending.resolve({ rows: pending.rows });
    else pending.resolve({ changes: reply.changes, lastID: reply.lastID });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    // knex's pool discards a connection so marked instead of handing it out again.
    this.__knex__disposed ??= err;
    this.opened?.reject(err);
    this.opened = null;
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }
}

/** A blob crosses the thread as a Uint8Array: a Buffer again, as the drivers return blobs. */
function fromWorker(value: unknown): unknown {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}

interface QueryObject {
  sql: string;
  bindings?: unknown[];
  response?: unknown;
  context?: RunResult;
}

/**
 * knex's SQLite dialect (its query and schema compilers, its transactions) on SqliteConnection. Responses take the
 * old driver's shape: the rows of a statement that returns rows, otherwise no rows and a context of `lastID` and
 * `changes`, which knex reads for inserts, updates and deletes.
 */
export class WorkerSqliteClient extends SqliteClient {
  _driver(): unknown {
    return {};
  }

  async acquireRawConnection(): Promise<SqliteConnection> {
    const self = this as unknown as { connectionSettings: { filename: string; readonly?: boolean; pragmas?: string } };
    const { filename, readonly, pragmas } = self.connectionSettings;
    return SqliteConnection.open(filename, { readonly, pragmas });
  }

  async destroyRawConnection(connection: SqliteConnection): Promise<void> {
    await connection.close();
  }

  async _query(connection: SqliteConnection, obj: QueryObject): Promise<QueryObject> {
    if (!obj.sql) throw new Error('The query is empty');
    if (!connection) throw new Error('No connection provided');
    const result = await connection.query(obj.sql, obj.bindings ?? []);
    if ('rows' in result) obj.response = result.rows;
    else {
      obj.response = [];
      obj.context = result;
    }
    return obj;
  }
}
Object.assign(WorkerSqliteClient.prototype, { driverName: 'better-sqlite3' });
