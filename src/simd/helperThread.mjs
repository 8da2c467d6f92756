// A helper thread for the SIMD kernels (helperThread.ts). Plain JavaScript so it starts in
// milliseconds. It shares the WebAssembly memory with the main thread and runs each kernel
// call the main thread announces in the control block. It spins rather than sleeps between
// calls: a call often lasts microseconds (a Prim step), and the caller owns both cores; with
// `sleep` (a long-lived helper, e.g. a loaded zoo index between queries) it waits instead.
// Control block: int32 [0] call sequence (-1: stop), [1] call done, [2] ready, [3] kernel
// index among the module's exported functions, [4] argument count; float64 arguments from
// byte 64, then the result (float64: an i32 result fits exactly, an f64 one is not truncated).
import { workerData } from 'node:worker_threads';

const { module, memory, control, sleep, maxArgs } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(control, 0, 16);
const args = new Float64Array(control, 64, maxArgs + 1); // the arguments, then the result
// A caller with the kernel's fixed number of arguments: such direct calls take V8's fast
// JS-to-WebAssembly path, a spread call the slow generic one.
const caller = (f) =>
  new Function(
    'f',
    'a',
    `return () => f(${Array.from({ length: f.length }, (_, i) => `a[${i}]`).join(', ')});`,
  )(f, args);
const byIndex = WebAssembly.Module.exports(module)
  .filter((e) => e.kind === 'function')
  .map((e) => caller(exports[e.name]));
const call = (index) => byIndex[index]() ?? 0;
Atomics.store(ctl, 2, 1); // ready
let last = 0;
for (;;) {
  let seq;
  while ((seq = Atomics.load(ctl, 0)) === last) if (sleep) Atomics.wait(ctl, 0, last);
  if (seq < 0) break;
  last = seq;
  args[maxArgs] = call(ctl[3]);
  Atomics.store(ctl, 1, seq);
  if (sleep) Atomics.notify(ctl, 1); // a caller that sleeps too
}
