/**
 * X B and X^T Q for a matrix X read block by block (e.g. a zoo's checkpoint files, one epoch
 * at a time), so the randomized SVD (svd.ts) runs on zoos larger than memory. Consecutive
 * blocks are gathered into chunks of up to `chunkBytes` (default 8 MB), so each product is one
 * sequential pass over the files in a few large SIMD calls (SimdProducts, one memory reused
 * for every chunk): in memory at any time are one chunk, its copy in the SIMD memory, and the
 * n x l and l x d factors of the SVD itself.
 */
import { matrix } from '../core/matrix.ts';
import { simdThreads } from '../util/threads.ts';
import type { RowProducts } from './svd.ts';
import { SimdProducts } from './simdProducts.ts';

const SUM_ROWS = 512; // rows per float32 running sum of Q^T X

/** X as consecutive blocks of rows. */
export interface RowBlocks {
  /** Rows in all and columns. */
  n: number;
  d: number;
  /** Rows of each block, in order; they add up to n. */
  blockRows: number[];
  /** Block b's rows (blockRows[b] x d, row-major float32); called once per pass. */
  read(b: number): Float32Array;
}

export class StreamingProducts implements RowProducts {
  /** Passes over X made so far (each reads every block once). */
  passes = 0;
  /** Consecutive blocks read together: [first block, end block, first row, rows]. */
  private readonly chunks: [number, number, number, number][] = [];
  private readonly chunkRows: number;
  /** One chunk as read from the files. */
  private readonly buffer: Float32Array;
  private products: SimdProducts | null = null;
  /** The widest B or Q multiplied so far: what the SIMD memory is laid out for. */
  private width = 0;

  get rows(): number {
    return this.blocks.n;
  }
  get cols(): number {
    return this.blocks.d;
  }

  constructor(
    private readonly blocks: RowBlocks,
    chunkBytes = 8 * 2 ** 20,
  ) {
    const rowBytes = blocks.d * 4;
    let [start, first, rows] = [0, 0, 0];
    blocks.blockRows.forEach((r, b) => {
      if (rows > 0 && (rows + r) * rowBytes > chunkBytes) {
        this.chunks.push([start, b, first, rows]);
        [start, first, rows] = [b, first + rows, 0];
      }
      rows += r;
    });
    if (rows > 0) this.chunks.push([start, blocks.blockRows.length, first, rows]);
    this.chunkRows = Math.max(...this.chunks.map((c) => c[3]));
    this.buffer = new Float32Array(this.chunkRows * blocks.d);
  }

  /** Runs `f` on each chunk in order with its first row's index, after `setup` on the products. */
  private eachChunk(
    l: number,
    setup: (products: SimdProducts) => void,
    f: (products: SimdProducts, first: number, rows: number) => void,
  ): void {
    const { d } = this.blocks;
    // one SIMD memory and helper thread for every pass: B is copied in once per pass, and
    // Q^T X summed there, not per chunk; made again only for a wider B than any before
    if (this.products && l > this.width) this.close();
    this.width = Math.max(this.width, l);
    this.products ??= new SimdProducts(matrix(this.buffer, this.chunkRows, d), {
      maxColumns: this.width,
      threads: simdThreads('streamedValues', this.blocks.n * d),
      idle: 'sleep',
    });
    const products = this.products;
    setup(products);
    for (const [b0, b1, first, rows] of this.chunks) {
      let at = 0;
      for (let b = b0; b < b1; b++) {
        const x = this.blocks.read(b);
        this.buffer.set(x, at);
        at += x.length;
      }
      products.load(this.buffer, rows);
      f(products, first, rows);
    }
    this.passes++;
  }

  times(bt: Float64Array, l: number): Float64Array {
    const y = new Float64Array(this.blocks.n * l);
    this.eachChunk(
      l,
      (products) => products.loadB(bt, l),
      (products, first) => y.set(products.timesLoaded(l), first * l),
    );
    return y;
  }

  /** Q^T X: float32 sums over up to SUM_ROWS rows at a time, added in float64 (as SimdProducts does in memory). */
  transposedTimes(q: Float64Array, l: number, into?: Float64Array): Float64Array {
    const zt = into?.fill(0) ?? new Float64Array(l * this.blocks.d);
    this.eachChunk(
      l,
      () => {},
      (products, first, rows) => {
        if (products.addToSum(q.subarray(first * l, (first + rows) * l), l) >= SUM_ROWS)
          products.flushSum(zt, l);
      },
    );
    this.products!.flushSum(zt, l);
    return zt;
  }

  close(): void {
    this.products?.close();
    this.products = null;
  }
}

const BYTES_PER_FACTOR_VALUE = 48; // per value of an l x d factor, all copies counted (see below)

/**
 * Peak memory of a streamed SVD-k of d weights, an upper estimate: its l x d factors (l = k +
 * the oversampling) in float64 in JavaScript and float32 in the SIMD memory, the components,
 * and what the collector has yet to free (bench --only=stream measures it).
 */
export const streamedSvdBytes = (k: number, d: number, oversample = 10): number =>
  BYTES_PER_FACTOR_VALUE * (k + oversample) * d;

/** The most SVD components whose streamed fit stays within `bytes`. */
export const streamedSvdMaxComponents = (bytes: number, d: number, oversample = 10): number =>
  Math.floor(bytes / (BYTES_PER_FACTOR_VALUE * d)) - oversample;
