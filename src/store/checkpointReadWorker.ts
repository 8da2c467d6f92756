/** Worker of readCheckpointFileWithin (untrustedCheckpoint.ts): reads one checkpoint file and posts its rows back. */
import { workerData, type MessagePort } from 'node:worker_threads';
import { isUserError } from '../core/errors.ts';
import { readCheckpointFile } from './checkpointFile.ts';

const { path, port, done } = workerData as { path: string; port: MessagePort; done: SharedArrayBuffer };
try {
  const file = readCheckpointFile(path);
  port.postMessage({ rows: file.rows, metadata: [...file.metadata] });
} catch (err) {
  port.postMessage({ error: (err as Error).message, userError: isUserError(err) });
}
const flag = new Int32Array(done);
Atomics.store(flag, 0, 1);
Atomics.notify(flag, 0);
