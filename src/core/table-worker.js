// The worker thread that reads uploaded tables (started by table-pool.ts, the reading in table-reader.ts). Like
// bin/ykt.js, it runs the TypeScript sources through tsx's loader: a worker does not inherit the loader that the
// main thread registered.
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { serveTableReads } = await import('./table-reader.ts');
serveTableReads(parentPort);
