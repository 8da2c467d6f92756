/**
 * A second thread for the SIMD kernels of kernels.wat (simd/kernels.ts): it instantiates them on the same
 * shared WebAssembly memory, so the main thread can hand it half of a kernel's work (half
 * the points of a Prim step, half the blocks of a candidate-tree check, half the rows of an
 * SVD pass) and do the other half itself.
 * Calls go through a shared control block and are waited for by spinning, since many last
 * only microseconds; so use one only while this thread has a core to itself. A helper started
 * with `sleep` waits between calls instead (for one that lives long and works now and then).
 */
import { Worker } from 'node:worker_threads';
import { KERNEL_ORDER, KERNELS_MODULE, type KernelName, type SimdKernels } from './kernels.ts';

export class HelperThread {
  private seq = 0;
  private constructor(
    private readonly worker: Worker,
    private readonly ctl: Int32Array,
    private readonly args: Float64Array,
  ) {}

  /** Starts a helper on the kernels' memory; it gets ready while the caller prepares its data (see ready()). */
  static start(kernels: SimdKernels, sleep = false): HelperThread {
    const control = new SharedArrayBuffer(64 + 24 * 8);
    const worker = new Worker(new URL('./helperThread.mjs', import.meta.url), {
      workerData: { module: KERNELS_MODULE, memory: kernels.memory, control, sleep },
      execArgv: [], // plain JavaScript: no TypeScript loader to start
    });
    worker.unref();
    return new HelperThread(worker, new Int32Array(control, 0, 16), new Float64Array(control, 64, 24));
  }

  /** Waits until the helper runs; false (and the helper stopped) if it is not running within 2 s, so the caller works alone. */
  ready(): boolean {
    const deadline = performance.now() + 2000;
    while (Atomics.load(this.ctl, 2) !== 1) {
      if (performance.now() > deadline) {
        void this.worker.terminate();
        return false;
      }
    }
    return true;
  }

  /** Starts kernel `name` with `args` (numbers; integer ones are passed as i32) on the helper. */
  begin(name: KernelName, args: readonly number[]): void {
    this.ctl[3] = KERNEL_ORDER.indexOf(name);
    this.ctl[4] = args.length;
    this.args.set(args);
    Atomics.store(this.ctl, 0, ++this.seq);
    Atomics.notify(this.ctl, 0); // wakes a sleeping helper
  }

  /** Waits for the call begun last; returns its result (0 for kernels without one). */
  end(): number {
    while (Atomics.load(this.ctl, 1) !== this.seq);
    return this.ctl[5];
  }

  stop(): void {
    Atomics.store(this.ctl, 0, -1);
    Atomics.notify(this.ctl, 0);
    void this.worker.terminate();
  }
}
