/**
 * The SIMD kernels of kernels.wat, compiled once, and the one allocator of their shared
 * memory. The kernel list is the .wat's exports: `npm run build:wasm` writes their signatures
 * into kernels.wasm.ts (KernelExports, and KernelArgs: the arguments by name, which is how
 * every caller passes them), and the helper thread (helperThread.mjs) builds its call table
 * from the module's exports, so nothing here repeats it.
 */
import { setFlagsFromString } from 'node:v8';
import { KERNEL_CALLS, KERNELS_WASM_BASE64, type KernelArgs, type KernelExports } from './kernels.wasm.ts';

export type { KernelArgs };

// Compile the kernels with the optimising compiler straight away: V8's baseline code for
// them is much slower, and a one-shot CLI run would spend its first second there.
setFlagsFromString('--no-liftoff');
/** The compiled kernels; a WebAssembly.Module can be posted to worker threads. */
export const KERNELS_MODULE = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));

export type KernelName = keyof KernelExports;

/** What kernel K returns (a slot index, a loss; nothing for most). */
export type KernelResult<K extends KernelName> = ReturnType<KernelExports[K]>;

/** One instance of the kernels with its own shared memory (so helper threads can join in). */
export interface SimdKernels {
  memory: WebAssembly.Memory;
  /** Runs kernel `name` on this thread. */
  run<K extends KernelName>(name: K, args: KernelArgs[K]): KernelResult<K>;
}

/** A fresh instance of the kernels on a new shared memory. */
export function simdKernels(): SimdKernels {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const exports = new WebAssembly.Instance(KERNELS_MODULE, { env: { memory } })
    .exports as unknown as KernelExports;
  const calls = KERNEL_CALLS as unknown as Record<KernelName, (k: KernelExports, a: object) => never>;
  return { memory, run: (name, args) => calls[name](exports, args) };
}

/** The exported kernels in module order: how the main thread names a kernel to the helper thread. */
export const KERNEL_ORDER: readonly KernelName[] = WebAssembly.Module.exports(KERNELS_MODULE)
  .filter((e) => e.kind === 'function')
  .map((e) => e.name as KernelName);

const ALIGN = 64; // a cache line: regions never share one, and f32x4 / f64x2 loads stay aligned

/**
 * Byte offsets of named regions of the kernels' memory, laid out in order from byte 64 (byte 0
 * stays a null pointer), each aligned to 64 bytes; grows the memory to fit them all.
 */
export function reserve<K extends string>(kernels: SimdKernels, bytes: Record<K, number>): Record<K, number> {
  let top = ALIGN;
  const at = {} as Record<K, number>;
  for (const name of Object.keys(bytes) as K[]) {
    at[name] = top;
    top += Math.ceil(bytes[name] / ALIGN) * ALIGN;
  }
  const pages = Math.ceil(top / 65536) - kernels.memory.buffer.byteLength / 65536;
  if (pages > 0) kernels.memory.grow(pages);
  return at;
}

export const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

type Values = Float32Array | Float64Array;

/** Copies `rows` rows of `cols` values between row-major arrays of different row lengths (padding). */
export function copyRows(
  src: Values,
  srcRow: number,
  dst: Values,
  dstRow: number,
  rows: number,
  cols: number,
): void {
  if (srcRow === cols && dstRow === cols) dst.set(src.subarray(0, rows * cols));
  else for (let i = 0; i < rows; i++) dst.set(src.subarray(i * srcRow, i * srcRow + cols), i * dstRow);
}
