// Entry of every worker thread: registers the tsx loader, then imports the TypeScript module
// named in workerData. Plain JavaScript so that Node can start it whatever launched the parent
// (the tsx CLI, vitest, a notebook kernel).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.__module);
