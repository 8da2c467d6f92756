/**
 * X B and X^T Q for a matrix X read block by block (e.g. a zoo's checkpoint files, one epoch
 * at a time), so the randomized SVD (svd.ts) runs on zoos larger than memory. Consecutive
 * blocks are gathered into chunks of up to `chunkBytes` (default 8 MB), so each product is one
 * sequential pass over the files in a few large SIMD calls (SimdProducts, one memory reused
 * for every chunk): in memory at any time are one chunk, its copy in the SIMD memory, and the
 * n x l and l x d factors of the SVD itself.
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
  /** Consecutive blocks read together: [first block, end block, first row, rows]. */
  private readonly chunks: [number, number, number, number][] = [];
  private readonly chunkRows: number;

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
  }

  /** Runs `f` on each chunk in order with its first row's index. */
  private eachChunk(l: number, f: (products: SimdProducts, first: number, rows: number) => void): void {
    const { d } = this.blocks;
    const buffer = new Float32Array(this.chunkRows * d);
    const products = new SimdProducts(
      buffer,
      this.chunkRows,
      d,
      l,
      simdThreads(this.blocks.n * d >= 1 << 20),
      'sleep',
    );
    try {
      for (const [b0, b1, first, rows] of this.chunks) {
        let at = 0;
        for (let b = b0; b < b1; b++) {
          const x = this.blocks.read(b);
          buffer.set(x, at);
          at += x.length;
        }
        products.load(buffer, rows);
        f(products, first, rows);
      }
    } finally {
      products.close();
    }
    this.passes++;
  }

  times(bt: Float64Array, l: number): Float64Array {
    const y = new Float64Array(this.blocks.n * l);
    this.eachChunk(l, (products, first) => y.set(products.times(bt, l), first * l));
    return y;
  }

  transposedTimes(q: Float64Array, l: number): Float64Array {
    const zt = new Float64Array(l * this.blocks.d);
    this.eachChunk(l, (products, first, rows) => {
      const part = products.transposedTimes(q.subarray(first * l, (first + rows) * l), l);
      for (let i = 0; i < part.length; i++) zt[i] += part[i];
    });
    return zt;
  }

  close(): void {}
}
