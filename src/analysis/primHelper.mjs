// Helper thread of the parallel Prim step (linkage.ts). Plain JavaScript so it starts in
// milliseconds. It shares the WebAssembly memory with the main thread and, for every step the
// main thread announces in the control block, scans the upper half of the remaining points.
// It spins rather than sleeps between steps: a step lasts microseconds, and a linkage owns
// both cores while it runs.
import { workerData } from 'node:worker_threads';

const { module, memory, control } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(control, 0, 16);
const delta = new Float64Array(control, 64, 1);
Atomics.store(ctl, 2, 1); // ready
let last = 0;
for (;;) {
  let seq;
  while ((seq = Atomics.load(ctl, 0)) === last);
  if (seq < 0) break;
  last = seq;
  const step = ctl[3] ? kernels.primStepF32 : kernels.primStep;
  ctl[4] = step(ctl[5], ctl[6], ctl[7], ctl[8], ctl[9], ctl[10], ctl[11], ctl[12], delta[0], ctl[13]);
  Atomics.store(ctl, 1, seq);
}
