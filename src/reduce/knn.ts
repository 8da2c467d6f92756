/**
 * Exact k nearest neighbours of every row (Euclidean), for UMAP's graph.
 *
 * A brute-force pass over all pairs through the SIMD products (simdProducts.ts): squared
 * distances |a|^2 + |b|^2 - 2 a.b of the centred rows in float32 pick a few more candidates than
 * needed, whose distances are then computed exactly in float64. Centring keeps the norms,
 * and so the float32 cancellation, at the scale of the spread of the points.
 */
import { matrix } from '../core/matrix.ts';
import type { Matrix } from '../core/matrix.ts';
import { simdThreads } from '../util/threads.ts';
import { dot, rowDistance } from './distances.ts';
import { SimdProducts } from './simdProducts.ts';
import { roundUp } from '../simd/kernels.ts';

/** Queries per product: the columns of one X B. */
const QUERY_BLOCK = 256;
/** Candidates kept beyond k from the float32 pass, refined in float64. */
const EXTRA_CANDIDATES = 8;

export interface Neighbours {
  k: number;
  /** n x k row-major: row i's neighbours by distance, i itself first. */
  indices: Int32Array;
  /** n x k: their Euclidean distances (0 for i itself). */
  distances: Float64Array;
}

/** The k nearest rows of each row of x, the row itself counted as the first. */
export function nearestNeighbours(x: Matrix, k: number): Neighbours {
  const { rows: n, cols: d } = x;
  const k1 = Math.min(k, n);
  const c = Math.min(n - 1, k1 - 1 + EXTRA_CANDIDATES);
  const centred = centredRows(x.data, n, d);
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = dot(centred, i * d, centred, i * d, d);
  // every row's candidates, sorted; each pair is met once and offered to both its rows
  const candVal = new Float64Array(n * c).fill(Infinity);
  const candIdx = new Int32Array(n * c).fill(-1);
  const worst = new Float64Array(n).fill(Infinity);
  const block = Math.min(QUERY_BLOCK, n);
  const products = new SimdProducts(matrix(centred, n, d), {
    maxColumns: block,
    threads: simdThreads('knnValues', n * d),
  });
  try {
    for (let q0 = 0; q0 < n; q0 += block) {
      const l = Math.min(block, n - q0);
      const y = products.timesView(Float64Array.from(centred.subarray(q0 * d, (q0 + l) * d)), l, q0);
      const stride = roundUp(l, 4); // y[(i - q0) * stride + j] = row i . row q0 + j, for i >= q0
      for (let i = q0; i < n; i++) {
        const row = (i - q0) * stride;
        const ni = norms[i];
        const end = Math.min(l, i - q0); // inside the block, pairs with j < i only
        for (let j = 0; j < end; j++) {
          const q = q0 + j;
          const v = ni + norms[q] - 2 * y[row + j];
          if (v < worst[q]) worst[q] = insertSorted(candVal, candIdx, q * c, c, v, i);
          if (v < worst[i]) worst[i] = insertSorted(candVal, candIdx, i * c, c, v, q);
        }
      }
    }
  } finally {
    products.close();
  }
  const indices = new Int32Array(n * k1);
  const distances = new Float64Array(n * k1);
  for (let q = 0; q < n; q++)
    refine(x.data, d, q, candIdx.subarray(q * c, (q + 1) * c), k1, indices, distances);
  return { k: k1, indices, distances };
}

/** Keeps the c smallest values at [at, at+c) sorted ascending; returns the largest. */
function insertSorted(
  val: Float64Array,
  idx: Int32Array,
  at: number,
  c: number,
  v: number,
  i: number,
): number {
  let p = at + c - 1;
  while (p > at && val[p - 1] > v) {
    val[p] = val[p - 1];
    idx[p] = idx[p - 1];
    p--;
  }
  val[p] = v;
  idx[p] = i;
  return val[at + c - 1];
}

/** Row q's k nearest among its candidates by exact float64 distance, q itself first (ties by index). */
function refine(
  x: Float32Array | Float64Array,
  d: number,
  q: number,
  cand: Int32Array,
  k: number,
  indices: Int32Array,
  distances: Float64Array,
): void {
  const others = [...cand]
    .filter((i) => i >= 0 && i !== q)
    .map((i) => ({ i, dist: rowDistance(x, i, q, d) }))
    .sort((a, b) => a.dist - b.dist || a.i - b.i);
  indices[q * k] = q;
  distances[q * k] = 0;
  for (let j = 1; j < k; j++) {
    indices[q * k + j] = others[j - 1].i;
    distances[q * k + j] = others[j - 1].dist;
  }
}

function centredRows(x: Float32Array | Float64Array, n: number, d: number): Float32Array {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = x[i * d + j] - mean[j];
  return out;
}
