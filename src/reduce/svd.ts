/**
 * Truncated SVD by randomized subspace iteration (Halko, Martinsson & Tropp 2011, Alg. 4.4):
 *   Y = X Ω (Ω: d x l Gaussian, l = k + oversample); Q = orth(Y);
 *   q times: Q = orth(X orth(X^T Q));   B = Q^T X (l x d);   B = U Σ V^T (small, via B B^T);
 * keeping the top k rows of V^T as components. The passes over X run in WebAssembly SIMD
 * (simdProducts.ts); orth() is CholeskyQR2. Not centred by default, like the paper's
 * (scikit-learn) TruncatedSVD; `center: true` subtracts the column means first (PCA).
 * Fitted like scikit-learn: `new TruncatedSVD({ components: 50 }).fit(x).transform(x)`, with x a
 * Matrix (core/matrix.ts) or the RowProducts of one.
 */
import { EigenvalueDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import type { Matrix } from '../core/matrix.ts';
import { Rng } from '../core/rng.ts';
import type { SvdBasis } from '../store/svdFile.ts';
import {
  choleskyQR2,
  gramThenProject,
  multiplyByTransposed,
  orthonormalizeRows,
  transpose,
} from './linalg.ts';
import { SimdProducts } from './simdProducts.ts';
import { UserError } from '../core/errors.ts';
import { threadsFor } from '../util/threads.ts';

export interface TruncatedSVDOptions {
  /** Number of components k. */
  components: number;
  /** Extra random directions beyond k (default 10, as Halko et al. and scikit-learn). */
  oversample?: number;
  /**
   * Subspace (power) iterations, each two passes over X. Default 'auto': 1 while
   * k + oversample <= 128, else 0 (a basis that wide keeps nearly all the variance anyway).
   * docs/cluster.md measures what 0, 1, 2 and 5 iterations give on the default zoos.
   */
  powerIterations?: number | 'auto';
  /** Subtract column means first, i.e. PCA (default false, like the paper). */
  center?: boolean;
  /** Seed of the Gaussian test matrix (default 0). */
  seed?: number;
  /**
   * Threads for the passes over a matrix in memory, or 'auto' (default: by the size of X and
   * the cores, util/threads.ts). The result is the same bit for bit.
   */
  threads?: number | 'auto';
}

export const SVD_DEFAULTS = {
  oversample: 10,
  powerIterations: 'auto',
  center: false,
  seed: 0,
  threads: 'auto',
} as const;

/**
 * The only access the randomized SVD needs to X (rows x cols): X B for a B given as B^T
 * (l x cols), and X^T Q for Q (rows x l), both row-major float64, with l at most the widest
 * the products were made for. SimdProducts holds X in memory; StreamingProducts
 * (streamingProducts.ts) reads it block by block from disk, so X need not fit in memory.
 * Whoever makes products owns them: they pass them to every step that needs X (the SVD, the
 * projections, a calibration) and close them once, so X is copied into WebAssembly memory once.
 */
export interface RowProducts {
  readonly rows: number;
  readonly cols: number;
  times(bt: Float64Array, l: number): Float64Array;
  /** Written into `into` (l x cols) when given: the SVD keeps one such long factor for all passes. */
  transposedTimes(q: Float64Array, l: number, into?: Float64Array): Float64Array;
  close(): void;
}

/** What the SVD is fitted to: a matrix in memory, or products of one (e.g. streamed from disk; not closed by the SVD). */
export type SvdInput = Matrix<Float32Array> | RowProducts;

/** The width l = k + oversample of the SVD's factors (at most the matrix's rows and columns): what products for a fit must take. */
export const factorWidth = (
  options: Pick<TruncatedSVDOptions, 'components' | 'oversample'>,
  rows: number,
  cols: number,
): number => Math.min(options.components + (options.oversample ?? SVD_DEFAULTS.oversample), rows, cols);

export class TruncatedSVD {
  readonly options: Required<TruncatedSVDOptions>;
  /** k x d, row-major: row c is the c-th right singular vector. */
  components: Float64Array = new Float64Array(0);
  singularValues: Float64Array = new Float64Array(0);
  /** Column means subtracted before projecting (only with `center`). */
  mean: Float64Array | null = null;
  dim = 0;

  constructor(options: TruncatedSVDOptions) {
    this.options = { ...SVD_DEFAULTS, ...options };
    const k = this.options.components;
    if (!Number.isInteger(k) || k < 1) throw new UserError(`components must be a positive integer, got ${k}`);
  }

  get k(): number {
    return this.options.components;
  }

  /** Fits the top-k right singular vectors of X (a matrix, or its products). */
  fit(x: SvdInput): this {
    this.fitCoordinates(x);
    return this;
  }

  /** fit(), then the fitted rows' coordinates U_k Σ_k (rows x k) without another pass over X. */
  fitTransform(x: SvdInput): Float64Array {
    return this.fitCoordinates(x);
  }

  /**
   * The one fit: products of X (made here for a matrix, and closed here; handed in, left open),
   * the subspace iteration, and the coordinates U_k Σ_k it gives at no extra pass.
   * Centring needs X's column means, so it takes a matrix, not products.
   */
  private fitCoordinates(x: SvdInput): Float64Array {
    const { components: k, center } = this.options;
    const [n, d] = [x.rows, x.cols];
    checkComponents(k, n, d);
    const l = factorWidth(this.options, n, d);
    const own = 'data' in x;
    if (center && !own)
      throw new UserError(
        'center needs the matrix itself, not its products (e.g. a zoo streamed from its files)',
      );
    const threads = threadsFor(this.options.threads, 'svdValues', n * d);
    const products = own ? new SimdProducts(x, { maxColumns: l, threads }) : x;
    try {
      this.dim = d;
      this.mean = center && own ? columnMeans(x.data, n, d) : null;
      const powerIterations =
        this.options.powerIterations === 'auto' ? (l <= 128 ? 1 : 0) : this.options.powerIterations;
      return this.subspaceIteration(products, l, powerIterations);
    } finally {
      if (own) products.close();
    }
  }

  private subspaceIteration(products: RowProducts, l: number, powerIterations: number): Float64Array {
    const { components: k, seed } = this.options;
    const [n, d] = [products.rows, products.cols];
    const mean = this.mean;
    // X B and Q^T X with the centring folded in: (X - 1 m^T) B = X B - 1 (m^T B)
    const times = (bt: Float64Array): Float64Array => {
      const y = products.times(bt, l);
      if (mean) {
        for (let c = 0; c < l; c++) {
          let mb = 0;
          for (let j = 0; j < d; j++) mb += mean[j] * bt[c * d + j];
          for (let i = 0; i < n; i++) y[i * l + c] -= mb;
        }
      }
      return y;
    };
    const transposedTimes = (q: Float64Array): Float64Array => {
      const zt = products.transposedTimes(q, l, long);
      if (mean) {
        for (let c = 0; c < l; c++) {
          let qsum = 0;
          for (let i = 0; i < n; i++) qsum += q[i * l + c];
          for (let j = 0; j < d; j++) zt[c * d + j] -= qsum * mean[j];
        }
      }
      return zt;
    };
    const rng = new Rng(seed, 0);
    // the one l x d factor: Ω^T, then each Z^T, then B (reused: a wide X makes each one large)
    const long = new Float64Array(l * d);
    for (let i = 0; i < long.length; i++) long[i] = rng.nextNormal();
    let q = orthonormalizeColumns(times(long), n, l);
    for (let it = 0; it < powerIterations; it++) {
      const zt = transposedTimes(q); // l x d: Z's columns as rows, orthonormalised in that layout
      if (!choleskyQR2(zt, d, l, 'rows')) orthonormalizeRows(zt, l, d);
      q = orthonormalizeColumns(times(zt), n, l);
    }
    const b = transposedTimes(q); // l x d
    const { singularValues, u, components } = factorSmall(b, l, d, k);
    this.singularValues = singularValues;
    this.components = components;
    // X V_k = Q U_k Σ_k up to what lies outside span(Q): the coordinates scikit-learn's
    // fit_transform returns, at no extra pass over X
    const usT = transpose(u, l, k).map((v, i) => v * singularValues[Math.floor(i / l)]); // k x l: row c is column c of U Σ
    return multiplyByTransposed(q, n, l, usT, k);
  }

  /** Coordinates of the rows of X on the components: rows x k, row-major float64. */
  transform(x: Matrix<Float32Array>): Float64Array {
    if (this.components.length === 0) throw new Error('TruncatedSVD: call fit() before transform()');
    const { k, dim: d, mean } = this;
    if (x.cols !== d)
      throw new UserError(`transform takes rows of ${d} values (the fitted width), got ${x.cols}`);
    const n = x.rows;
    const y = multiplyByTransposed(x.data, n, d, this.components, k);
    if (mean) {
      for (let c = 0; c < k; c++) {
        let mb = 0;
        for (let j = 0; j < d; j++) mb += mean[j] * this.components[c * d + j];
        for (let i = 0; i < n; i++) y[i * k + c] -= mb;
      }
    }
    return y;
  }

  /** The fitted basis as a value (store/svdFile.ts saves it). */
  get basis(): SvdBasis {
    return {
      options: { ...this.options, components: this.k },
      components: this.components,
      singularValues: this.singularValues,
      mean: this.mean,
      dim: this.dim,
    };
  }

  /** A fitted SVD from its basis (store/svdFile.ts reads one). */
  static fromBasis(basis: SvdBasis): TruncatedSVD {
    const svd = new TruncatedSVD(basis.options as TruncatedSVDOptions);
    svd.dim = basis.dim;
    svd.components = basis.components;
    svd.singularValues = basis.singularValues;
    svd.mean = basis.mean;
    return svd;
  }
}

/**
 * The one check of an SVD's size: k components need k <= min(rows, cols), in memory or
 * streamed; clusterZoo and the callers that choose k ask here too (maxComponents).
 */
export function checkComponents(k: number, n: number, d: number): void {
  if (k > maxComponents(n, d))
    throw new UserError(
      `SVD-${k} needs at least ${k} checkpoints and ${k} weights; this zoo has ${n} x ${d} (choose k <= ${maxComponents(n, d)})`,
    );
}

/** The most SVD components an n x d matrix has. */
export const maxComponents = (n: number, d: number): number => Math.min(n, d);

/**
 * Top-k SVD of the small B (l x d) through its l x l Gram matrix: B B^T = U Σ² U^T and
 * V = B^T U Σ⁻¹ (cheaper than a dense SVD of B, e.g. ml-matrix's; the top k singular values keep
 * full accuracy unless they span more than about 8 of float64's 16 decimal digits, since Σ² squares their range). Each component's
 * largest-magnitude entry is made positive, and U's columns get the same signs.
 */
function factorSmall(
  b: Float64Array,
  l: number,
  d: number,
  k: number,
): { singularValues: Float64Array; u: Float64Array; components: Float64Array } {
  const u = new Float64Array(l * k); // l x k
  const singularValues = new Float64Array(k);
  // V^T = Σ⁻¹ U^T B, with U Σ² U^T = B B^T
  const components = gramThenProject(b, l, d, (gram) => {
    const evd = new EigenvalueDecomposition(MlMatrix.from1DArray(l, l, gram), { assumeSymmetric: true });
    const byValue = Array.from(evd.realEigenvalues.keys()).sort(
      (i, j) => evd.realEigenvalues[j] - evd.realEigenvalues[i],
    );
    const w = new Float64Array(l * k);
    for (let c = 0; c < k; c++) {
      singularValues[c] = Math.sqrt(Math.max(0, evd.realEigenvalues[byValue[c]]));
      const inv = singularValues[c] > 0 ? 1 / singularValues[c] : 0;
      for (let a = 0; a < l; a++) {
        u[a * k + c] = evd.eigenvectorMatrix.get(a, byValue[c]);
        w[a * k + c] = u[a * k + c] * inv;
      }
    }
    return { w, k };
  });
  for (let c = 0; c < k; c++) {
    const row = components.subarray(c * d, (c + 1) * d);
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(row[j]) > Math.abs(big)) big = row[j];
    if (big < 0) {
      for (let j = 0; j < d; j++) row[j] = -row[j];
      for (let a = 0; a < l; a++) u[a * k + c] = -u[a * k + c];
    }
  }
  return { singularValues, u, components };
}

function columnMeans(x: Float32Array, n: number, d: number): Float64Array {
  const m = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) m[j] += x[i * d + j];
  for (let j = 0; j < d; j++) m[j] /= n;
  return m;
}

/** The columns of Y (rows x cols) orthonormalised: CholeskyQR2, or Gram-Schmidt where Y is (numerically) rank deficient. */
function orthonormalizeColumns(y: Float64Array, rows: number, cols: number): Float64Array {
  if (choleskyQR2(y, rows, cols)) return y;
  const yt = transpose(y, rows, cols);
  orthonormalizeRows(yt, cols, rows);
  return transpose(yt, cols, rows);
}
