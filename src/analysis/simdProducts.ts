/**
 * X B and X^T Q for a fixed float32 matrix X through the SIMD kernels of kernels.wat
 * (f32x4: four multiply-adds per instruction, several times faster than scalar JavaScript).
 * X is copied once into WebAssembly memory with rows padded to a multiple of 4 floats.
 * Products are float32 inside; X^T Q is summed in blocks of rows and the blocks added in
 * float64, which keeps its error near float32 rounding of each entry.
 */
import { KERNELS_WASM_BASE64 } from './kernels.wasm.ts';

/** The compiled kernels; a WebAssembly.Module can be posted to worker threads. */
export const KERNELS_MODULE = new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
const BLOCK_ROWS = 512; // rows per float32 partial sum of X^T Q

export interface SimdKernels {
  memory: WebAssembly.Memory;
  xbt(x: number, n: number, rowBytes: number, bt: number, l: number, y: number): void;
  qtx(x: number, r0: number, r1: number, rowBytes: number, q: number, l: number, zt: number): void;
  primStep: PrimStep;
  primStepF32: PrimStep;
}

/** Scans slots t0..r-1 (see kernels.wat); returns the slot with the smallest best distance. */
export type PrimStep = (t0: number, coords: number, r: number, rowBytes: number, u: number, best: number, lower: number, parent: number, delta: number, uId: number) => number;

/** A fresh instance of the kernels on a new shared memory (so a helper thread can join in). */
export function simdKernels(): SimdKernels {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
  const exports = new WebAssembly.Instance(KERNELS_MODULE, { env: { memory } }).exports;
  return { ...(exports as unknown as Omit<SimdKernels, 'memory'>), memory };
}

const roundUp = (v: number, m: number) => Math.ceil(v / m) * m;

export class SimdProducts {
  private readonly k: SimdKernels;
  private readonly d4: number;
  private readonly nPad: number;
  private readonly lPad: number;
  private readonly at: { x: number; bt: number; y: number; q: number; zt: number };

  /** @param lMax the widest B or Q that will be multiplied */
  constructor(
    x: Float32Array,
    readonly n: number,
    readonly d: number,
    lMax: number,
  ) {
    this.d4 = roundUp(d, 4);
    this.nPad = roundUp(n, 4);
    this.lPad = roundUp(lMax, 4);
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
      zt: region(bytes(this.lPad, this.d4)),
      y: region(bytes(this.nPad, this.lPad)),
      q: region(bytes(this.nPad, this.lPad)),
    };
    this.k = simdKernels();
    const pages = Math.ceil(top / 65536) - this.k.memory.buffer.byteLength / 65536;
    if (pages > 0) this.k.memory.grow(pages);
    const mem = this.f32(this.at.x, this.nPad * this.d4);
    if (this.d4 === d) mem.set(x.subarray(0, n * d));
    else for (let i = 0; i < n; i++) mem.set(x.subarray(i * d, (i + 1) * d), i * this.d4);
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
    for (let c = 0; c < l; c++) for (let j = 0; j < d; j++) b[c * d4 + j] = bt[c * d + j];
    this.k.xbt(this.at.x, nPad, d4 * 4, this.at.bt, lp, this.at.y);
    const y = this.f32(this.at.y, nPad * lp);
    const out = new Float64Array(n * l);
    for (let i = 0; i < n; i++) for (let c = 0; c < l; c++) out[i * l + c] = y[i * lp + c];
    return out;
  }

  /** Z^T (l x d, float64) = Q^T X, with Q n x l row-major float64. */
  transposedTimes(q: Float64Array, l: number): Float64Array {
    const { d, d4, nPad, n } = this;
    const lp = roundUp(l, 4);
    const qf = this.f32(this.at.q, nPad * lp);
    qf.fill(0);
    for (let i = 0; i < n; i++) for (let c = 0; c < l; c++) qf[i * lp + c] = q[i * l + c];
    const zt = this.f32(this.at.zt, lp * d4);
    const out = new Float64Array(l * d);
    for (let r0 = 0; r0 < nPad; r0 += BLOCK_ROWS) {
      zt.fill(0);
      this.k.qtx(this.at.x, r0, Math.min(nPad, r0 + BLOCK_ROWS), d4 * 4, this.at.q, lp, this.at.zt);
      for (let c = 0; c < l; c++) for (let j = 0; j < d; j++) out[c * d + j] += zt[c * d4 + j];
    }
    return out;
  }
}
