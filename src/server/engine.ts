/**
 * The main thread's side of the worker (engineWorker.ts): requests queue and run one at a
 * time; a request equal to one already queued or running shares its answer; answers of
 * `plane` and `stats` are kept per zoo content (the manifest's stamp) so that a page asks once.
 */
import { WorkerPool } from '../util/workerPool.ts';
import type { EngineRequest } from './engineTypes.ts';
import type { EngineProgress } from './engineWorker.ts';

export interface Engine {
  /** The answer to `request`; `key` names equal requests (null: never shared), `keep` keeps the answer. */
  ask<R>(request: EngineRequest, options?: { key?: string | null; keep?: boolean }): Promise<R>;
  close(): Promise<void>;
}

/** Keeps at most this many answers (the newest). */
const KEPT = 64;

export async function startEngine(onProgress: (key: string, p: EngineProgress) => void): Promise<Engine> {
  const pool = await WorkerPool.start<EngineRequest, unknown, EngineProgress>(
    new URL('./engineWorker.ts', import.meta.url),
    [{}],
  );
  let queue: Promise<unknown> = Promise.resolve();
  const pending = new Map<string, Promise<unknown>>();
  const kept = new Map<string, unknown>();
  return {
    ask<R>(request: EngineRequest, options: { key?: string | null; keep?: boolean } = {}): Promise<R> {
      const key = options.key ?? null;
      if (key !== null && kept.has(key)) return Promise.resolve(kept.get(key) as R);
      if (key !== null && pending.has(key)) return pending.get(key) as Promise<R>;
      const answer = queue
        .catch(() => {})
        .then(() => pool.ask(0, request, (p) => onProgress(key ?? request.kind, p)));
      queue = answer;
      if (key !== null) {
        pending.set(key, answer);
        void answer
          .then((value) => {
            if (!options.keep) return;
            kept.set(key, value);
            if (kept.size > KEPT) kept.delete(kept.keys().next().value!);
          })
          .catch(() => {})
          .finally(() => pending.delete(key));
      }
      return answer as Promise<R>;
    },
    close: () => pool.close(),
  };
}
