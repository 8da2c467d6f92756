/**
 * X B and X^T Q for a fixed float32 matrix X through the SIMD kernels of kernels.wat
 * (f32x4: four multiply-adds per instruction, several times faster than scalar JavaScript).
 * X is copied once into WebAssembly memory with rows padded to a multiple of 4 floats.
 * Products are float32 inside; X^T Q is summed in blocks of rows and the blocks added in
 * float64, which keeps its error near float32 rounding of each entry.
 */
import { setFlagsFromString } from 'node:v8';
import { KernelThread } from './kernelThread.ts';
import { KERNELS_WASM_BASE64 } from './kernels.wasm.ts';

// Compile the kernels with the optimising compiler straight away: V8's baseline code for
// them runs about half as fast, and a one-shot CLI run would spend its first second there.
setFlagsFromString('--no-liftoff');
/** The compiled kernels; a WebAssembly.Module can be posted to worker threads. */
export const KERNELS_MODULE = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
const BLOCK_ROWS = 512; // rows per float32 partial sum of X^T Q

export interface SimdKernels {
  memory: WebAssembly.Memory;
  xbt(x: number, n: number, rowBytes: number, bt: number, l: number, y: number): void;
  xv(x: number, n: number, rowBytes: number, v: number, y: number): void;
  qtx(x: number, r0: number, r1: number, rowBytes: number, q: number, l: number, zt: number): void;
  primStep: PrimStep;
  primLanes: PrimLanes;
  /** Cycle-property check of blocks I0..I1-1 (see kernels.wat); returns the block it stopped before. */
  checkBlocks(I0: number, I1: number, n: number, head: number, headBytes: number, tail: number, tailBytes: number, gap: number, cHead: number, cTail: number,
    rad: number, u64: number, u32: number, c64: number, c32: number, f32: number, margin: number, checkMask: number, out: number, cap: number): number;
  gram(y: number, r0: number, r1: number, lp: number, l: number, g: number): void;
  trsm(y: number, r0: number, r1: number, lp: number, l: number, rt: number, inv: number): void;
}

/** Scans slots t0..r-1 (see kernels.wat); returns the slot with the smallest best distance. */
export type PrimStep = (t0: number, r: number, head: number, headBytes: number, tail: number, tailBytes: number, u64: number, best: number, lower: number, parent: number, delta: number, uId: number) => number;
/** Scans blocks b0..b1-1 of float32 points in the lanes layout (see kernels.wat); returns the slot below r with the smallest best. */
export type PrimLanes = (b0: number, b1: number, r: number, lanes: number, m4: number, us: number, u64: number, hi: number, best: number,
  parent: number, uId: number, margin: number, slack: number) => number;

/** A fresh instance of the kernels on a new shared memory (so a helper thread can join in). */
export function simdKernels(): SimdKernels {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const exports = new WebAssembly.Instance(KERNELS_MODULE, { env: { memory } }).exports;
  return { ...(exports as unknown as Omit<SimdKernels, 'memory'>), memory };
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

type Values = Float32Array | Float64Array;

/** Copies `rows` rows of `cols` values between row-major arrays of different row lengths (padding). */
export function copyRows(src: Values, srcRow: number, dst: Values, dstRow: number, rows: number, cols: number): void {
  if (srcRow === cols && dstRow === cols) dst.set(src.subarray(0, rows * cols));
  else for (let i = 0; i < rows; i++) dst.set(src.subarray(i * srcRow, i * srcRow + cols), i * dstRow);
}

export class SimdProducts {
  private readonly k: SimdKernels;
  private readonly helper: KernelThread | null;
  private readonly d4: number;
  private readonly nPad: number;
  private readonly lPad: number;
  private readonly blocks: number;
  private readonly at: { x: number; bt: number; y: number; q: number; zt: number };

  /**
   * @param lMax the widest B or Q that will be multiplied
   * @param threads 2: a helper thread takes half of every product (same result bit for bit);
   *   call close() when done
   * @param idle how the helper waits between products: 'spin' (products in quick succession,
   *   while it has a core to itself) or 'sleep' (one kept for occasional work)
   */
  constructor(
    x: Float32Array,
    readonly n: number,
    readonly d: number,
    lMax: number,
    threads: 1 | 2 = 1,
    idle: 'spin' | 'sleep' = 'spin',
  ) {
    this.d4 = roundUp(d, 4);
    this.nPad = roundUp(n, 4);
    this.lPad = roundUp(lMax, 4);
    this.blocks = Math.ceil(this.nPad / BLOCK_ROWS);
    const bytes = (rows: number, cols: number) => roundUp(rows * cols * 4, 64);
    let top = 64;
    const region = (size: number) => {
      const start = top;
      top += size;
      return start;
    };
    this.at = {
      x: region(bytes(this.nPad, this.d4)),
      bt: region(bytes(this.lPad, this.d4)),
      zt: region(this.blocks * bytes(this.lPad, this.d4)), // one partial X^T Q per block of rows
      y: region(bytes(this.nPad, this.lPad)),
      q: region(bytes(this.nPad, this.lPad)),
    };
    this.k = simdKernels();
    const starting = threads === 2 ? KernelThread.start(this.k, idle === 'sleep') : null; // starts while X is copied
    const pages = Math.ceil(top / 65536) - this.k.memory.buffer.byteLength / 65536;
    if (pages > 0) this.k.memory.grow(pages);
    const mem = this.f32(this.at.x, this.nPad * this.d4);
    copyRows(x, d, mem, this.d4, n, d);
    this.helper = starting?.ready() ? starting : null;
  }

  private f32(byteOffset: number, length: number): Float32Array {
    return new Float32Array(this.k.memory.buffer, byteOffset, length);
  }

  /** Y (n x l, float64) = X B, with `bt` = B transposed (l x d, row-major float64). */
  times(bt: Float64Array, l: number): Float64Array {
    const { d, d4, nPad, n } = this;
    const lp = roundUp(l, 4);
    const b = this.f32(this.at.bt, lp * d4);
    b.fill(0);
    copyRows(bt, d, b, d4, l, d);
    const rowBytes = d4 * 4;
    if (this.helper) {
      const half = roundUp(nPad >> 1, 2);
      this.helper.begin('xbt', [this.at.x + half * rowBytes, nPad - half, rowBytes, this.at.bt, lp, this.at.y + half * lp * 4]);
      this.k.xbt(this.at.x, half, rowBytes, this.at.bt, lp, this.at.y);
      this.helper.end();
    } else {
      this.k.xbt(this.at.x, nPad, rowBytes, this.at.bt, lp, this.at.y);
    }
    const y = this.f32(this.at.y, nPad * lp);
    const out = new Float64Array(n * l);
    copyRows(y, lp, out, l, n, l);
    return out;
  }

  /** y (n, float64) = X v, v of length d: float32 sums (each row's the same with one thread or two). */
  timesVector(v: Float64Array): Float64Array {
    const { d, d4, nPad, n } = this;
    const b = this.f32(this.at.bt, d4);
    b.fill(0);
    b.set(v.subarray(0, d));
    const rowBytes = d4 * 4;
    if (this.helper) {
      const half = roundUp(nPad >> 1, 4);
      this.helper.begin('xv', [this.at.x + half * rowBytes, nPad - half, rowBytes, this.at.bt, this.at.y + half * 4]);
      this.k.xv(this.at.x, half, rowBytes, this.at.bt, this.at.y);
      this.helper.end();
    } else {
      this.k.xv(this.at.x, nPad, rowBytes, this.at.bt, this.at.y);
    }
    return Float64Array.from(this.f32(this.at.y, n));
  }

  /** Stops the helper thread, if any. */
  close(): void {
    this.helper?.stop();
  }

  /** Z^T (l x d, float64) = Q^T X, with Q n x l row-major float64. */
  transposedTimes(q: Float64Array, l: number): Float64Array {
    const { d, d4, nPad, n } = this;
    const lp = roundUp(l, 4);
    const qf = this.f32(this.at.q, nPad * lp);
    qf.fill(0);
    copyRows(q, l, qf, lp, n, l);
    // partial sums per block of rows, added in block order: the same result with one thread or two
    const blockBytes = roundUp(this.lPad * d4 * 4, 64);
    const zt = (b: number) => this.f32(this.at.zt + b * blockBytes, lp * d4);
    const run = (b: number, on: 'main' | 'helper') => {
      zt(b).fill(0);
      const [r0, r1] = [b * BLOCK_ROWS, Math.min(nPad, (b + 1) * BLOCK_ROWS)];
      if (on === 'helper') this.helper!.begin('qtx', [this.at.x, r0, r1, d4 * 4, this.at.q, lp, this.at.zt + b * blockBytes]);
      else this.k.qtx(this.at.x, r0, r1, d4 * 4, this.at.q, lp, this.at.zt + b * blockBytes);
    };
    const half = Math.ceil(this.blocks / 2);
    for (let b = 0; b < half; b++) {
      const other = b + half < this.blocks && this.helper ? b + half : -1;
      if (other >= 0) run(other, 'helper');
      run(b, 'main');
      if (other >= 0) this.helper!.end();
    }
    if (!this.helper) for (let b = half; b < this.blocks; b++) run(b, 'main');
    const out = new Float64Array(l * d);
    for (let b = 0; b < this.blocks; b++) {
      const part = zt(b);
      for (let c = 0; c < l; c++) for (let j = 0; j < d; j++) out[c * d + j] += part[c * d4 + j];
    }
    return out;
  }
}
