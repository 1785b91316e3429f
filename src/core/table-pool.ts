import { Worker } from 'node:worker_threads';
import type { HeaderGap, ReadMessage, ReadRequest, TableRow, TableSpec } from './table-reader.ts';
import { workerCode } from './worker-code.ts';

/**
 * Uploaded tables are read in worker threads (table-reader.ts), never on the event loop that
 * answers every user's requests: a workbook that inflates to hundreds of MB keeps one worker busy until a limit
 * stops it, and other users' pages keep answering. A few workers, started when first needed and kept; an idle
 * worker does not keep the process alive. Reads wait their turn when all are busy.
 */
const WORKERS = 2;
/** A worker's heap: a file that would take more is refused (TABLE_LIMITS normally stop it well before). */
const WORKER_HEAP_MB = 512;
/**
 * A worker's young generation: the reading makes short-lived strings by the million, and V8's default (some 48 MB)
 * would fill before each collection, to no use: this one keeps a 50,000-row workbook's read some 35 MB smaller in
 * resident memory for about the same time (issue 18).
 */
const WORKER_YOUNG_MB = 8;
/**
 * A worker that has just read this many rows is let go rather than kept idle: V8 keeps the heap a large read grew
 * to (some 65 MB of resident memory after a 50,000-row registry workbook), which the import that asked would carry
 * through its own peak, and an idle worker would hold until its next read. A new worker starts for the next upload.
 */
const RETIRE_AFTER_ROWS = 10_000;

/** Where a read's header and rows go on the main thread, as the worker sends them. */
export interface RowSink {
  header(header: string[], columns: Map<string, number>, above: TableRow[]): void;
  rows(rows: TableRow[]): void;
  /** With a refusal for the header: what a column mapping could fill (table-reader.ts HeaderGap). */
  gap?(gap: HeaderGap): void;
}

interface Job {
  request: ReadRequest;
  sink: RowSink;
  resolve(refusal: string | null): void;
  reject(err: unknown): void;
}

const queue: Job[] = [];
const idle: Worker[] = [];
let started = 0;

/**
 * Read a file in a worker: its header and rows go to the sink; resolves with the reason in Chinese why the file is
 * refused whole, or null. The caller keeps its buffer (it hashes it, or reads it again for a report): the worker is
 * given a copy, moved to it rather than cloned.
 */
export function readInWorker(file: Buffer, spec: TableSpec, sink: RowSink): Promise<string | null> {
  return new Promise((resolve, reject) => {
    queue.push({ request: { bytes: new Uint8Array(file), spec, taken: new Int32Array(new SharedArrayBuffer(4)) }, sink, resolve, reject });
    dispatch();
  });
}

function dispatch(): void {
  while (queue.length > 0) {
    let worker = idle.pop();
    if (!worker) {
      if (started >= WORKERS) return;
      worker = new Worker(workerCode('table'), { eval: true, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
      started++;
      worker.once('exit', () => {
        started--;
        const i = idle.indexOf(worker!);
        if (i >= 0) idle.splice(i, 1);
        dispatch();
      });
    }
    run(worker, queue.shift()!);
  }
}

function run(worker: Worker, job: Job): void {
  // Whatever the sink throws fails this read, once the worker has finished it (its later messages are dropped).
  let failure: { error: unknown } | null = null;
  let rows = 0;
  const onMessage = (message: ReadMessage) => {
    if (message.kind !== 'done') {
      if (message.kind === 'rows') {
        rows += message.rows.length;
        // The reader waits for this count once it is BATCHES_AHEAD batches ahead (table-reader.ts).
        Atomics.add(job.request.taken, 0, 1);
        Atomics.notify(job.request.taken, 0);
      }
      if (failure) return;
      try {
        if (message.kind === 'header') job.sink.header(message.header, new Map(message.columns), message.above);
        else if (message.kind === 'gap') job.sink.gap?.(message.gap);
        else job.sink.rows(message.rows);
      } catch (error) {
        failure = { error };
      }
      return;
    }
    detach();
    worker.unref();
    // Its 'exit' (dispatch) frees the place for a new worker once it has stopped.
    if (rows >= RETIRE_AFTER_ROWS) void worker.terminate();
    else idle.push(worker);
    if (failure) job.reject(failure.error);
    else job.resolve(message.refusal);
    dispatch();
  };
  const onError = (err: Error) => {
    detach();
    if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') job.resolve(`文件读取时超过 ${WORKER_HEAP_MB} MB 内存上限：请分成几个文件上传`);
    else job.reject(err);
  };
  const onExit = (code: number) => {
    detach();
    job.reject(new Error(`table worker exited (code ${code}) while reading a file`));
  };
  const detach = () => {
    worker.off('message', onMessage);
    worker.off('error', onError);
    worker.off('exit', onExit);
  };
  worker.on('message', onMessage);
  worker.on('error', onError);
  worker.on('exit', onExit);
  worker.ref();
  worker.postMessage(job.request, [job.request.bytes.buffer as ArrayBuffer]);
}
