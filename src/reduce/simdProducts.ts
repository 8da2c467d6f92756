/**
 * X B and X^T Q for a fixed float32 matrix X through the SIMD kernels of kernels.wat
 * (f32x4: four multiply-adds per instruction).
 * X is copied once into WebAssembly memory with rows padded to a multiple of 4 floats.
 * Products are float32 inside; X^T Q is summed in blocks of rows and the blocks added in
 * float64, which keeps its error near float32 rounding of each entry.
 */
import { HelperThread } from '../simd/helperThread.ts';
import { copyRows, reserve, roundUp, simdKernels, type SimdKernels } from '../simd/kernels.ts';

const BLOCK_ROWS = 512; // rows per float32 partial sum of X^T Q
const XBT_BLOCK_ROWS = 64; // the rows xbt (kernels.wat) takes per block

export class SimdProducts {
  private readonly kernels: SimdKernels;
  private readonly helper: HelperThread | null;
  private readonly d4: number;
  private nPad: number;
  /** Rows the memory was laid out for: load() takes at most this many. */
  private readonly capacity: number;
  private readonly lPad: number;
  private blocks: number;
  private readonly at: { x: number; bt: number; y: number; q: number; zt: number; acc: number };

  /**
   * @param lMax the widest B or Q that will be multiplied
   * @param threads 2: a helper thread takes half of every product (same result bit for bit);
   *   call close() when done
   * @param idle how the helper waits between products: 'spin' (products in quick succession,
   *   while it has a core to itself) or 'sleep' (one kept for occasional work)
   */
  /**
   * @param x X (n x d, row-major), or row i of it by a function: rows gathered from a larger
   *   matrix (e.g. a selection of a zoo's checkpoints) are copied straight into the SIMD memory
   */
  constructor(
    x: Float32Array | ((i: number) => Float32Array),
    public n: number,
    readonly d: number,
    lMax: number,
    threads: 1 | 2 = 1,
    idle: 'spin' | 'sleep' = 'spin',
  ) {
    this.d4 = roundUp(d, 4);
    this.capacity = n;
    this.nPad = roundUp(n, 4);
    this.lPad = roundUp(lMax, 4);
    this.blocks = Math.ceil(this.nPad / BLOCK_ROWS);
    const bytes = (rows: number, cols: number) => roundUp(rows * cols * 4, 64);
    this.kernels = simdKernels();
    const starting = threads === 2 ? HelperThread.start(this.kernels, idle === 'sleep') : null; // starts while X is copied
    this.at = reserve(this.kernels, {
      x: bytes(this.nPad, this.d4),
      bt: bytes(this.lPad, this.d4),
      zt: this.blocks * bytes(this.lPad, this.d4), // one partial X^T Q per block of rows
      y: bytes(this.nPad, this.lPad),
      q: bytes(this.nPad, this.lPad),
      acc: 2 * bytes(XBT_BLOCK_ROWS * 4, this.lPad), // xbt's lane sums: one block of rows per thread
    });
    const mem = this.f32(this.at.x, this.nPad * this.d4);
    if (typeof x === 'function') for (let i = 0; i < n; i++) mem.set(x(i).subarray(0, d), i * this.d4);
    else copyRows(x, d, mem, this.d4, n, d);
    this.helper = starting?.ready() ? starting : null;
  }

  /** X's rows and columns (RowProducts). */
  get rows(): number {
    return this.n;
  }
  get cols(): number {
    return this.d;
  }

  /**
   * Replaces X by x (n x d, n at most the rows this was made for) in the same memory: the next
   * block of a matrix streamed from disk, without a new memory per block.
   */
  load(x: Float32Array, n: number): void {
    if (n > this.capacity) throw new RangeError(`load: ${n} rows, room for ${this.capacity}`);
    this.n = n;
    this.nPad = roundUp(n, 4);
    this.blocks = Math.ceil(this.nPad / BLOCK_ROWS);
    const mem = this.f32(this.at.x, this.nPad * this.d4);
    mem.fill(0); // padding rows and columns must add nothing
    copyRows(x, this.d, mem, this.d4, n, this.d);
  }

  private f32(byteOffset: number, length: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, byteOffset, length);
  }

  /** Y (n x l, float64) = X B, with `bt` = B transposed (l x d, row-major float64). */
  times(bt: Float64Array, l: number): Float64Array {
    this.loadB(bt, l);
    return this.timesLoaded(l);
  }

  /** Copies B^T (l x d, float64) into the SIMD memory for timesLoaded(): once per pass over a streamed X. */
  loadB(bt: Float64Array, l: number): void {
    const { d, d4 } = this;
    const b = this.f32(this.at.bt, roundUp(l, 4) * d4);
    b.fill(0);
    copyRows(bt, d, b, d4, l, d);
  }

  /** X B for the B of the last loadB(). */
  timesLoaded(l: number): Float64Array {
    const y = this.timesLoadedView(l);
    const lp = roundUp(l, 4);
    const out = new Float64Array(this.n * l);
    copyRows(y, lp, out, l, this.n, l);
    return out;
  }

  /**
   * Rows first.. of X B as float32 in the SIMD memory, rows padded to a multiple of 4 columns
   * (row first + i at i * roundUp(l, 4)): no copy, for a caller that reads each product once
   * before the next. `first`: a multiple of 4.
   */
  timesView(bt: Float64Array, l: number, first = 0): Float32Array {
    if (first % 4 !== 0) throw new RangeError(`timesView: first row ${first} is not a multiple of 4`);
    this.loadB(bt, l);
    return this.timesLoadedView(l, first);
  }

  private timesLoadedView(l: number, first = 0): Float32Array {
    const { d4 } = this;
    const nPad = this.nPad - first;
    const lp = roundUp(l, 4);
    const rowBytes = d4 * 4;
    const accBytes = roundUp(XBT_BLOCK_ROWS * 4 * this.lPad * 4, 64);
    const x = this.at.x + first * rowBytes;
    if (this.helper) {
      const half = roundUp(nPad >> 1, 2);
      this.helper.begin('xbt', [
        x + half * rowBytes,
        nPad - half,
        rowBytes,
        this.at.bt,
        lp,
        this.at.y + half * lp * 4,
        this.at.acc + accBytes,
      ]);
      this.kernels.xbt(x, half, rowBytes, this.at.bt, lp, this.at.y, this.at.acc);
      this.helper.end();
    } else {
      this.kernels.xbt(x, nPad, rowBytes, this.at.bt, lp, this.at.y, this.at.acc);
    }
    return this.f32(this.at.y, nPad * lp);
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
      this.helper.begin('xv', [
        this.at.x + half * rowBytes,
        nPad - half,
        rowBytes,
        this.at.bt,
        this.at.y + half * 4,
      ]);
      this.kernels.xv(this.at.x, half, rowBytes, this.at.bt, this.at.y);
      this.helper.end();
    } else {
      this.kernels.xv(this.at.x, nPad, rowBytes, this.at.bt, this.at.y);
    }
    return Float64Array.from(this.f32(this.at.y, n));
  }

  /** Stops the helper thread, if any. */
  close(): void {
    this.helper?.stop();
  }

  /** Z^T (l x d, float64) = Q^T X, with Q n x l row-major float64. */
  transposedTimes(q: Float64Array, l: number, into?: Float64Array): Float64Array {
    const { d4, nPad } = this;
    const lp = this.loadQ(q, l);
    // partial sums per block of rows, added in block order: the same result with one thread or two
    const zt = (b: number) => this.at.zt + b * this.ztBlockBytes;
    const run = (b: number, on: 'main' | 'helper') => {
      this.f32(zt(b), lp * d4).fill(0);
      const args = [
        this.at.x,
        b * BLOCK_ROWS,
        Math.min(nPad, (b + 1) * BLOCK_ROWS),
        d4 * 4,
        this.at.q,
        lp,
        zt(b),
        0,
        d4 * 4,
      ];
      if (on === 'helper') this.helper!.begin('qtx', args);
      else this.kernels.qtx(...(args as Parameters<SimdKernels['qtx']>));
    };
    const half = Math.ceil(this.blocks / 2);
    for (let b = 0; b < half; b++) {
      const other = b + half < this.blocks && this.helper ? b + half : -1;
      if (other >= 0) run(other, 'helper');
      run(b, 'main');
      if (other >= 0) this.helper!.end();
    }
    if (!this.helper) for (let b = half; b < this.blocks; b++) run(b, 'main');
    const out = into?.fill(0) ?? new Float64Array(l * this.d);
    for (let b = 0; b < this.blocks; b++) this.addBlock(b, out, l);
    return out;
  }

  /**
   * Adds Q^T X to a float32 running sum kept in the SIMD memory (block 0 of the partial sums),
   * for X streamed in chunks: the threads split the columns, so the sum is the same with one or
   * two. Returns the rows summed since the last flushSum().
   */
  addToSum(q: Float64Array, l: number): number {
    const lp = this.loadQ(q, l);
    const rowBytes = this.d4 * 4;
    if (this.summedRows === 0) this.f32(this.at.zt, lp * this.d4).fill(0);
    const args = (j0: number, j1: number) => [
      this.at.x,
      0,
      this.nPad,
      rowBytes,
      this.at.q,
      lp,
      this.at.zt,
      j0,
      j1,
    ];
    if (this.helper) {
      const mid = roundUp(rowBytes >> 1, 16);
      this.helper.begin('qtx', args(mid, rowBytes));
      this.kernels.qtx(...(args(0, mid) as Parameters<SimdKernels['qtx']>));
      this.helper.end();
    } else {
      this.kernels.qtx(...(args(0, rowBytes) as Parameters<SimdKernels['qtx']>));
    }
    return (this.summedRows += this.n);
  }

  /** Adds the running sum of addToSum() to `into` (l x d, float64); the next addToSum() starts a new one. */
  flushSum(into: Float64Array, l: number): void {
    if (this.summedRows > 0) this.addBlock(0, into, l);
    this.summedRows = 0;
  }

  private summedRows = 0;

  private get ztBlockBytes(): number {
    return roundUp(this.lPad * this.d4 * 4, 64);
  }

  /** Q (n x l, float64) into the SIMD memory as float32 rows of lp = l rounded up to 4; returns lp. */
  private loadQ(q: Float64Array, l: number): number {
    const lp = roundUp(l, 4);
    const qf = this.f32(this.at.q, this.nPad * lp);
    qf.fill(0);
    copyRows(q, l, qf, lp, this.n, l);
    return lp;
  }

  /** into (l x d, float64) += partial sum b of Q^T X. */
  private addBlock(b: number, into: Float64Array, l: number): void {
    const { d, d4 } = this;
    const part = this.f32(this.at.zt + b * this.ztBlockBytes, roundUp(l, 4) * d4);
    for (let c = 0; c < l; c++) for (let j = 0; j < d; j++) into[c * d + j] += part[c * d4 + j];
  }
}
