import { existsSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { startTsWorker } from '../util/tsWorker.ts';
import { CheckpointFileError, type CheckpointFile, type CheckpointRows } from './checkpointFile.ts';

/**
 * A checkpoint file no recorded hash vouches for (one from outside a zoo, or one that failed
 * its hash check), read in a worker thread that is stopped after `timeoutMs`. arrowFile.ts
 * checks every count a record batch header claims before apache-arrow decodes it; this time
 * limit is the last guard, for a damage that check does not foresee.
 */
export function readCheckpointFileWithin(path: string, timeoutMs = 20_000): CheckpointFile {
  if (!existsSync(path)) throw new CheckpointFileError(`cannot read checkpoint file ${path}: ENOENT`);
  const { port1, port2 } = new MessageChannel();
  const done = new Int32Array(new SharedArrayBuffer(4));
  const worker = startTsWorker(
    new URL('./checkpointReadWorker.ts', import.meta.url),
    { path, port: port2, done: done.buffer },
    [port2],
  );
  const status = Atomics.wait(done, 0, 0, timeoutMs);
  void worker.terminate();
  const reply = receiveMessageOnPort(port1)?.message as
    | { rows: CheckpointRows; metadata: [string, string][] }
    | { error: string; userError: boolean }
    | undefined;
  port1.close();
  if (status === 'timed-out' || !reply)
    throw new CheckpointFileError(
      `${path} could not be read within ${timeoutMs / 1000} s (a damaged Arrow file can keep the reader busy); check where it came from`,
    );
  if ('error' in reply) throw reply.userError ? new CheckpointFileError(reply.error) : new Error(reply.error);
  return { rows: reply.rows, metadata: new Map(reply.metadata) };
}
