/**
 * X B and X^T Q for a fixed float32 matrix X through the SIMD kernels of kernels.wat
 * (f32x4: four multiply-adds per instruction).
 * X is copied once into WebAssembly memory with rows padded to a multiple of 4 floats.
 * Products are float32 inside; X^T Q is summed in blocks of rows and the blocks added in
 * float64, which keeps its error near float32 rounding of each entry.
 */
import { splitRange, ThreadTeam, type StartingTeam } from '../simd/helperThread.ts';
import { copyRows, reserve, roundUp, simdKernels, type SimdKernels } from '../simd/kernels.ts';
import { teamIdle } from '../util/threads.ts';
import type { Matrix } from '../core/matrix.ts';

const BLOCK_ROWS = 512; // rows per float32 partial sum of X^T Q
const XBT_BLOCK_ROWS = 64; // the rows xbt (kernels.wat) takes per block

/** Rows of a matrix read one by one (gathered from a larger one). */
export interface GatheredRows {
  rows: number;
  cols: number;
  row(i: number): Float32Array;
}

export interface SimdProductsOptions {
  /** The widest B or Q that will be multiplied (default 1: X v only). */
  maxColumns?: number;
  /**
   * Threads in all (default 1): each helper thread takes a part of every product, the same
   * result bit for bit with any count; call close() when done.
   */
  threads?: number;
  /**
   * How the helpers wait between products: 'spin' (default; products in quick succession, while
   * each has a core to itself) or 'sleep' (kept for occasional work).
   */
  idle?: 'spin' | 'sleep';
}

export class SimdProducts {
  private readonly kernels: SimdKernels;
  private readonly starting: StartingTeam;
  private readonly d4: number;
  private nPad: number;
  /** Rows the memory was laid out for: load() takes at most this many. */
  private readonly capacity: number;
  private readonly lPad: number;
  private blocks: number;
  private readonly at: { x: number; bt: number; y: number; q: number; zt: number; acc: number };

  public n: number;
  readonly d: number;

  /**
   * @param x X, or its rows by a function: rows gathered from a larger matrix (e.g. a selection
   *   of a zoo's checkpoints) are copied straight into the SIMD memory
   */
  constructor(x: Matrix<Float32Array> | GatheredRows, options: SimdProductsOptions = {}) {
    const { maxColumns: lMax = 1, threads = 1, idle = 'spin' } = options;
    const [n, d] = [x.rows, x.cols];
    this.n = n;
    this.d = d;
    this.d4 = roundUp(d, 4);
    this.capacity = n;
    this.nPad = roundUp(n, 4);
    this.lPad = roundUp(lMax, 4);
    this.blocks = Math.ceil(this.nPad / BLOCK_ROWS);
    const bytes = (rows: number, cols: number) => roundUp(rows * cols * 4, 64);
    this.kernels = simdKernels();
    this.threads = Math.max(1, threads);
    this.starting = ThreadTeam.start(this.kernels, this.threads, teamIdle(this.threads, idle)); // the helpers start while X is copied
    this.at = reserve(this.kernels, {
      x: bytes(this.nPad, this.d4),
      bt: bytes(this.lPad, this.d4),
      zt: this.threads * bytes(this.lPad, this.d4), // one partial X^T Q per thread: a block of rows each
      y: bytes(this.nPad, this.lPad),
      q: bytes(this.nPad, this.lPad),
      acc: this.threads * bytes(XBT_BLOCK_ROWS * 4, this.lPad), // xbt's lane sums: one block of rows per thread
    });
    const mem = this.f32(this.at.x, this.nPad * this.d4);
    if ('row' in x) for (let i = 0; i < n; i++) mem.set(x.row(i).subarray(0, d), i * this.d4);
    else copyRows(x.data, d, mem, this.d4, n, d);
  }

  private readonly threads: number;

  /** The team of threads, once its helpers run. */
  private get team(): ThreadTeam {
    return this.starting.team;
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
    // rows split among the threads, each part a multiple of 2 rows (xbt's step)
    const parts = splitRange(nPad, this.team.size, 2).map(([r0, r1], p) => ({
      x: x + r0 * rowBytes,
      n: r1 - r0,
      rowBytes,
      bt: this.at.bt,
      l: lp,
      y: this.at.y + r0 * lp * 4,
      acc: this.at.acc + p * accBytes,
    }));
    this.team.run('xbt', parts);
    return this.f32(this.at.y, nPad * lp);
  }

  /** y (n, float64) = X v, v of length d: float32 sums (each row's the same with any number of threads). */
  timesVector(v: Float64Array): Float64Array {
    const { d, d4, nPad, n } = this;
    const b = this.f32(this.at.bt, d4);
    b.fill(0);
    b.set(v.subarray(0, d));
    const rowBytes = d4 * 4;
    const parts = splitRange(nPad, this.team.size, 4).map(([r0, r1]) => ({
      x: this.at.x + r0 * rowBytes,
      n: r1 - r0,
      rowBytes,
      v: this.at.bt,
      y: this.at.y + r0 * 4,
    }));
    this.team.run('xv', parts);
    return Float64Array.from(this.f32(this.at.y, n));
  }

  /** Stops the helper threads, if any. */
  close(): void {
    this.starting.stop();
  }

  /** Z^T (l x d, float64) = Q^T X, with Q n x l row-major float64. */
  transposedTimes(q: Float64Array, l: number, into?: Float64Array): Float64Array {
    const { d4, nPad } = this;
    const lp = this.loadQ(q, l);
    // partial sums per block of rows, the threads taking blocks in turn (each into its own
    // buffer), added in block order: the same result with any number of threads
    const zt = (p: number) => this.at.zt + p * this.ztBlockBytes;
    const block = (b: number, p: number) => {
      this.f32(zt(p), lp * d4).fill(0);
      const [r0, r1] = [b * BLOCK_ROWS, Math.min(nPad, (b + 1) * BLOCK_ROWS)];
      return { x: this.at.x, r0, r1, rowBytes: d4 * 4, q: this.at.q, l: lp, zt: zt(p), j0: 0, jEnd: d4 * 4 };
    };
    const out = into?.fill(0) ?? new Float64Array(l * this.d);
    const size = this.team.size;
    for (let b0 = 0; b0 < this.blocks; b0 += size) {
      const parts = Math.min(size, this.blocks - b0);
      this.team.run(
        'qtx',
        Array.from({ length: parts }, (_, p) => block(b0 + p, p)),
      );
      for (let p = 0; p < parts; p++) this.addBlock(p, out, l);
    }
    return out;
  }

  /**
   * Adds Q^T X to a float32 running sum kept in the SIMD memory (block 0 of the partial sums),
   * for X streamed in chunks: the threads split the columns, so the sum is the same with any
   * number of them. Returns the rows summed since the last flushSum().
   */
  addToSum(q: Float64Array, l: number): number {
    const lp = this.loadQ(q, l);
    const rowBytes = this.d4 * 4;
    if (this.summedRows === 0) this.f32(this.at.zt, lp * this.d4).fill(0);
    const parts = splitRange(rowBytes, this.team.size, 16).map(([j0, jEnd]) => ({
      x: this.at.x,
      r0: 0,
      r1: this.nPad,
      rowBytes,
      q: this.at.q,
      l: lp,
      zt: this.at.zt,
      j0,
      jEnd,
    }));
    this.team.run('qtx', parts);
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
