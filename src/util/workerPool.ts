/**
 * The one worker-thread pool. A pool starts workers (each with its own workerData) and
 * resolves once all have loaded their code; then `ask(i, request)` hands worker i one request
 * and resolves with its answer, passing progress messages on meanwhile. Two uses build on it:
 * `runJobs` (independent jobs, each worker taking the next when free) and long-lived workers
 * that keep state between rounds (zoo training: each worker owns a group of runs).
 * A worker module calls `serveJobs(handler)`. Errors travel back with their class name and
 * stay user errors (core/errors.ts) when they were.
 */
import { parentPort, type Worker } from 'node:worker_threads';
import { isUserError, UserError } from '../core/errors.ts';
import { startTsWorker } from './tsWorker.ts';

type Reply<R, P> =
  | { type: 'ready' }
  | { type: 'progress'; progress: P }
  | { type: 'result'; result: R }
  | { type: 'error'; message: string; name: string; stack?: string; userError: boolean };

export class WorkerPool<Q, R, P = never> {
  private constructor(
    private readonly workers: Worker[],
    private readonly moduleName: string,
  ) {}

  /** Starts one worker per entry of `data` (its workerData) and waits until every one is ready. */
  static async start<Q, R, P = never>(moduleUrl: URL, data: object[]): Promise<WorkerPool<Q, R, P>> {
    const workers = data.map((d) => startTsWorker(moduleUrl, d));
    const pool = new WorkerPool<Q, R, P>(workers, moduleUrl.pathname.split('/').pop()!);
    try {
      await Promise.all(workers.map((_, i) => pool.exchange(i, null)));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  /** Worker i answers `request`; `onProgress` gets the progress it reports meanwhile. */
  ask(i: number, request: Q, onProgress?: (progress: P) => void): Promise<R> {
    return this.exchange(i, { request }, onProgress) as Promise<R>;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Posts `message` (null: none, wait for 'ready') and resolves with the worker's final reply. */
  private exchange(
    i: number,
    message: { request: Q } | null,
    onProgress?: (progress: P) => void,
  ): Promise<R | undefined> {
    const worker = this.workers[i];
    return new Promise((resolve, reject) => {
      const done = (settle: () => void) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        settle();
      };
      const onMessage = (reply: Reply<R, P>) => {
        if (reply.type === 'progress') onProgress?.(reply.progress);
        else if (reply.type === 'ready') done(() => resolve(undefined));
        else if (reply.type === 'result') done(() => resolve(reply.result));
        else done(() => reject(workerError(reply)));
      };
      const onError = (err: Error) => done(() => reject(err));
      const onExit = (code: number) =>
        done(() => reject(new Error(`worker ${i} (${this.moduleName}) exited with code ${code}`)));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      if (message) worker.postMessage(message);
    });
  }
}

function workerError(reply: { message: string; name: string; stack?: string; userError: boolean }): Error {
  const err = reply.userError ? new UserError(reply.message) : new Error(reply.message);
  err.name = reply.name;
  if (reply.stack) err.stack = reply.stack;
  return err;
}

/** Runs independent jobs on up to `workers` threads, each taking the next job when free; results in job order. */
export async function runJobs<J, R>(
  moduleUrl: URL,
  jobs: J[],
  workers: number,
  onDone?: (index: number, result: R) => void,
): Promise<R[]> {
  const results = new Array<R>(jobs.length);
  const count = Math.max(1, Math.min(workers, jobs.length));
  const pool = await WorkerPool.start<J, R>(
    moduleUrl,
    Array.from({ length: count }, () => ({})),
  );
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        while (next < jobs.length) {
          const index = next++;
          results[index] = await pool.ask(i, jobs[index]);
          onDone?.(index, results[index]);
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return results;
}

/** Worker side: answers every request with handler(request, progress); reports ready once loaded. */
export function serveJobs<Q, R, P = never>(
  handler: (request: Q, progress: (p: P) => void) => R | Promise<R>,
): void {
  const port = parentPort!;
  const post = (reply: Reply<R, P>) => port.postMessage(reply);
  port.on('message', async ({ request }: { request: Q }) => {
    try {
      post({
        type: 'result',
        result: await handler(request, (progress) => post({ type: 'progress', progress })),
      });
    } catch (err) {
      const e = err as Error;
      post({
        type: 'error',
        message: (e as { template?: string }).template ?? e.message, // a UserError's option fields stay marked
        name: e.constructor?.name ?? 'Error',
        stack: e.stack,
        userError: isUserError(err),
      });
    }
  });
  post({ type: 'ready' });
}
