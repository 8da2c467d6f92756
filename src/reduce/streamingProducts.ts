/**
 * X B and X^T Q for a matrix X read block by block (e.g. a zoo's checkpoint files, one epoch
 * at a time), so the randomized SVD (svd.ts) runs on zoos larger than memory: at any time one
 * block of rows is in memory, beside the n x l and l x d factors of the SVD itself. Each
 * product is one sequential pass over the blocks, in the SIMD kernels (SimdProducts).
 */
import { simdThreads } from '../util/threads.ts';
import type { RowProducts } from './svd.ts';
import { SimdProducts } from './simdProducts.ts';

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

  constructor(private readonly blocks: RowBlocks) {}

  /** Runs `f` on each block in order with its first row's index; one block in memory at a time, in one SIMD memory per pass. */
  private eachBlock(l: number, f: (products: SimdProducts, first: number, rows: number) => void): void {
    const { d, blockRows } = this.blocks;
    const most = Math.max(...blockRows);
    const products = new SimdProducts(
      new Float32Array(most * d),
      most,
      d,
      l,
      simdThreads(most * d >= 1 << 20),
      'sleep',
    );
    let first = 0;
    try {
      blockRows.forEach((rows, b) => {
        products.load(this.blocks.read(b), rows);
        f(products, first, rows);
        first += rows;
      });
    } finally {
      products.close();
    }
    this.passes++;
  }

  times(bt: Float64Array, l: number): Float64Array {
    const y = new Float64Array(this.blocks.n * l);
    this.eachBlock(l, (products, first) => y.set(products.times(bt, l), first * l));
    return y;
  }

  transposedTimes(q: Float64Array, l: number): Float64Array {
    const zt = new Float64Array(l * this.blocks.d);
    this.eachBlock(l, (products, first, rows) => {
      const part = products.transposedTimes(q.subarray(first * l, (first + rows) * l), l);
      for (let i = 0; i < part.length; i++) zt[i] += part[i];
    });
    return zt;
  }

  close(): void {}
}
