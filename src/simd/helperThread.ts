/**
 * Helper threads for the SIMD kernels of kernels.wat (simd/kernels.ts): each instantiates them
 * on the same shared WebAssembly memory, so the main thread can hand them parts of a kernel's
 * work (the points of a Prim step, the blocks of a candidate-tree check, the rows of an SVD
 * pass) and do one part itself. A ThreadTeam is the main thread and its helpers.
 * Calls go through a shared control block and are waited for by spinning, since many last
 * only microseconds; so a team never has more threads than cores free (util/threads.ts). A
 * helper started with `sleep` waits between calls instead (for one that lives long and works
 * now and then); with `block`, the caller also sleeps while it waits for the helper (threads
 * sharing cores, where spinning would take the core the helper needs).
 */
import { Worker } from 'node:worker_threads';
import { KERNEL_PARAMS } from './kernels.wasm.ts';
import {
  KERNEL_ORDER,
  KERNELS_MODULE,
  type KernelArgs,
  type KernelName,
  type KernelResult,
  type SimdKernels,
} from './kernels.ts';

const MAX_ARGS = 24;

/** How a helper and its caller wait: both spin; the helper sleeps between calls; both sleep. */
export type Idle = 'spin' | 'sleep' | 'block';

export class HelperThread {
  private seq = 0;
  private constructor(
    private readonly worker: Worker,
    private readonly ctl: Int32Array,
    /** The arguments of a call, then its result (float64: an index or a real, never truncated). */
    private readonly args: Float64Array,
    /** The caller sleeps while waiting for a call (idle 'block'). */
    private readonly block: boolean,
  ) {}

  /** Starts a helper on the kernels' memory; it gets ready while the caller prepares its data (see ready()). */
  static start(kernels: SimdKernels, idle: Idle = 'spin'): HelperThread {
    const sleep = idle !== 'spin';
    const control = new SharedArrayBuffer(64 + (MAX_ARGS + 1) * 8);
    const worker = new Worker(new URL('./helperThread.mjs', import.meta.url), {
      workerData: { module: KERNELS_MODULE, memory: kernels.memory, control, sleep, maxArgs: MAX_ARGS },
      execArgv: [], // plain JavaScript: no TypeScript loader to start
    });
    worker.unref();
    return new HelperThread(
      worker,
      new Int32Array(control, 0, 16),
      new Float64Array(control, 64, MAX_ARGS + 1),
      idle === 'block',
    );
  }

  /** Waits until the helper runs; false (and the helper stopped) if it is not running within 2 s, so the caller works without it. */
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

  /** Starts kernel `name` on the helper with named arguments (integer ones are passed as i32). */
  begin<K extends KernelName>(name: K, args: KernelArgs[K]): void {
    const params = KERNEL_PARAMS[name] as readonly (keyof KernelArgs[K])[];
    params.forEach((p, i) => (this.args[i] = args[p] as number));
    this.ctl[3] = KERNEL_ORDER.indexOf(name);
    this.ctl[4] = params.length;
    Atomics.store(this.ctl, 0, ++this.seq);
    Atomics.notify(this.ctl, 0); // wakes a sleeping helper
  }

  /** Waits for the call begun last; returns its result (0 for kernels without one). */
  end(): number {
    let done: number;
    while ((done = Atomics.load(this.ctl, 1)) !== this.seq) if (this.block) Atomics.wait(this.ctl, 1, done);
    return this.args[MAX_ARGS];
  }

  stop(): void {
    Atomics.store(this.ctl, 0, -1);
    Atomics.notify(this.ctl, 0);
    void this.worker.terminate();
  }
}

/**
 * The main thread and its helper threads, each running one part of a kernel call. Parts go
 * to threads in order (part 0 to the main thread), so a call whose parts are combined in part
 * order gives the same result with any number of threads.
 */
export class ThreadTeam {
  private constructor(
    private readonly kernels: SimdKernels,
    private readonly helpers: HelperThread[],
  ) {}

  /** A team of `threads` threads in all, its helpers starting (they get ready while the caller prepares its data). */
  static start(kernels: SimdKernels, threads: number, idle: Idle = 'spin'): StartingTeam {
    const helpers = Array.from({ length: Math.max(0, threads - 1) }, () => HelperThread.start(kernels, idle));
    return new StartingTeam(kernels, helpers);
  }

  /** A team of the main thread and the helpers given (running). */
  static of(kernels: SimdKernels, helpers: HelperThread[]): ThreadTeam {
    return new ThreadTeam(kernels, helpers);
  }

  /** Threads in the team, the main one included. */
  get size(): number {
    return this.helpers.length + 1;
  }

  /**
   * Runs kernel `name` once per part, part p with `parts[p]`'s arguments, all at once (at most
   * `size` parts; a null part is skipped); returns each part's result (NaN for a skipped one).
   */
  run<K extends KernelName>(name: K, parts: readonly (KernelArgs[K] | null)[]): number[] {
    if (parts.length > this.size) throw new RangeError(`${parts.length} parts for a team of ${this.size}`);
    for (let p = 1; p < parts.length; p++) if (parts[p]) this.helpers[p - 1].begin(name, parts[p]!);
    const results = new Array<number>(parts.length).fill(NaN);
    if (parts[0]) results[0] = Number(this.kernels.run(name, parts[0]) ?? 0);
    for (let p = 1; p < parts.length; p++) if (parts[p]) results[p] = this.helpers[p - 1].end();
    return results;
  }

  /** Runs kernel `name` on this thread alone. */
  runHere<K extends KernelName>(name: K, args: KernelArgs[K]): KernelResult<K> {
    return this.kernels.run(name, args);
  }
}

/** A team whose helpers are starting. */
export class StartingTeam {
  private started: ThreadTeam | null = null;
  constructor(
    private readonly kernels: SimdKernels,
    private readonly helpers: HelperThread[],
  ) {}

  /** The team, once its helpers run (those not running within 2 s are left out). */
  get team(): ThreadTeam {
    return (this.started ??= ThreadTeam.of(
      this.kernels,
      this.helpers.filter((h) => h.ready()),
    ));
  }

  /** Stops the helpers, running or not. */
  stop(): void {
    for (const h of this.helpers) h.stop();
  }
}

/** Splits `total` items into `parts` consecutive ranges, each a multiple of `align` items but the last: [start, end) per part. */
export function splitRange(total: number, parts: number, align = 1): [number, number][] {
  const ranges: [number, number][] = [];
  let start = 0;
  for (let p = 0; p < parts; p++) {
    const end =
      p === parts - 1 ? total : Math.min(total, Math.ceil((total * (p + 1)) / parts / align) * align);
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}
