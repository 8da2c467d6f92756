import { Worker, type TransferListItem } from 'node:worker_threads';

/** Starts a worker thread running the TypeScript module at `moduleUrl` with `data` as its workerData (`transferList`: ports in it). */
export function startTsWorker(moduleUrl: URL, data: object, transferList: TransferListItem[] = []): Worker {
  return new Worker(new URL('./tsWorkerBootstrap.mjs', import.meta.url), {
    workerData: { ...data, __module: moduleUrl.href },
    execArgv: [],
    transferList,
  });
}
