/**
 * Runs independent jobs on a few worker threads, each worker taking the next job when it is
 * free. The worker module must call `serveJobs(handler)`. Results come back in job order.
 */
import { parentPort } from 'node:worker_threads';
import { isUserError, UserError } from '../core/errors.ts';
import { startTsWorker } from './tsWorker.ts';

type Reply<R> = { ok: true; index: number; result: R } | { ok: false; index: number; message: string; name: string; stack?: string; userError: boolean };

export async function runJobs<J, R>(moduleUrl: URL, jobs: J[], workers: number, onDone?: (index: number, result: R) => void): Promise<R[]> {
  const results = new Array<R>(jobs.length);
  const count = Math.max(1, Math.min(workers, jobs.length));
  let next = 0;
  const pool = Array.from({ length: count }, () => startTsWorker(moduleUrl, {}));
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const give = () => {
              if (next >= jobs.length) return resolve();
              const index = next++;
              worker.postMessage({ index, job: jobs[index] });
            };
            worker.on('message', (reply: Reply<R>) => {
              if (!reply.ok) {
                const err = reply.userError ? new UserError(reply.message) : new Error(reply.message);
                err.name = reply.name;
                if (reply.stack) err.stack = reply.stack;
                return reject(err);
              }
              results[reply.index] = reply.result;
              onDone?.(reply.index, reply.result);
              give();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => (next < jobs.length || code !== 0 ? reject(new Error(`worker exited with code ${code}`)) : undefined));
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
}

/** Worker side: answers every job with handler(job); errors travel back with their message. */
export function serveJobs<J, R>(handler: (job: J) => R | Promise<R>): void {
  const port = parentPort!;
  port.on('message', async ({ index, job }: { index: number; job: J }) => {
    try {
      port.postMessage({ ok: true, index, result: await handler(job) } satisfies Reply<R>);
    } catch (err) {
      const e = err as Error;
      port.postMessage({ ok: false, index, message: e.message, name: e.constructor?.name ?? 'Error', stack: e.stack, userError: isUserError(err) } satisfies Reply<R>);
    }
  });
}
