// A helper thread for the SIMD kernels (kernelThread.ts). Plain JavaScript so it starts in
// milliseconds. It shares the WebAssembly memory with the main thread and runs each kernel
// call the main thread announces in the control block. It spins rather than sleeps between
// calls: a call often lasts microseconds (a Prim step), and the caller owns both cores; with
// `sleep` (a long-lived helper, e.g. a loaded zoo index between queries) it waits instead.
// Control block: int32 [0] call sequence (-1: stop), [1] call done, [2] ready, [3] kernel
// index in KERNEL_NAMES, [4] argument count, [5] result; float64 arguments from byte 64.
import { workerData } from 'node:worker_threads';

const { module, memory, control, names, sleep } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(control, 0, 16);
const args = new Float64Array(control, 64, 24);
const a = (i) => args[i];
// direct calls with fixed arguments take V8's fast JS-to-WebAssembly path; a spread call the slow generic one
const calls = {
  primStep: () => exports.primStep(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10), a(11)),
  primLanes: () => exports.primLanes(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10), a(11), a(12)),
  checkBlocks: () => exports.checkBlocks(a(0), a(1), a(2), a(3), a(4), a(5), a(6), a(7), a(8), a(9), a(10), a(11), a(12), a(13), a(14), a(15), a(16), a(17), a(18), a(19)),
  xbt: () => exports.xbt(a(0), a(1), a(2), a(3), a(4), a(5)),
  qtx: () => exports.qtx(a(0), a(1), a(2), a(3), a(4), a(5), a(6)),
  xv: () => exports.xv(a(0), a(1), a(2), a(3), a(4)),
};
const byIndex = names.map((name) => calls[name]);
const call = (index) => byIndex[index]() ?? 0;
Atomics.store(ctl, 2, 1); // ready
let last = 0;
for (;;) {
  let seq;
  while ((seq = Atomics.load(ctl, 0)) === last) if (sleep) Atomics.wait(ctl, 0, last);
  if (seq < 0) break;
  last = seq;
  ctl[5] = call(ctl[3]);
  Atomics.store(ctl, 1, seq);
}
