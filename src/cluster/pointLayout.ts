/**
 * How the spanning-tree scans lay points out in the SIMD kernels' memory (kernels.wat): each
 * point's coordinates in two segments, a packed head (where most scans stop) and the tail,
 * coordinates in order of decreasing variance; and the shapes the two methods share.
 */
import type { Matrix } from '../core/matrix.ts';
import type { SimdKernels } from '../simd/kernels.ts';

/**
 * Points as the rows of a matrix, float64 (e.g. SVD coordinates) or float32 (a zoo's own
 * weights); distances are computed exactly in float64 from them.
 */
export type ExactPoints = Matrix;

export interface SpanningTree {
  /** Edge i joins from[i] and to[i] at Euclidean distance weight[i]. */
  from: Int32Array;
  to: Int32Array;
  weight: Float64Array;
}

/** Coordinates per point in the packed head segment (kernels.wat), float32 / float64. */
const HEAD_VALUES = { f32: 256, f64: 128 }; // 1 KiB: most scans of a zoo's weights stop within it

/** Each point's coordinates in two segments (see kernels.wat), in whole 64-byte chunks. */
export function segmentsOf({ rows: n, cols: dim, data: coords }: ExactPoints) {
  const f32 = coords instanceof Float32Array;
  const bytesPerValue = f32 ? 4 : 8;
  const mPad = Math.ceil(dim / (64 / bytesPerValue)) * (64 / bytesPerValue); // zero columns add nothing to a distance
  const headValues = Math.min(mPad, f32 ? HEAD_VALUES.f32 : HEAD_VALUES.f64);
  const tailValues = mPad - headValues;
  return {
    f32,
    mPad,
    headBytes: headValues * bytesPerValue,
    tailBytes: tailValues * bytesPerValue,
    /** Where value c of slot t sits in the segments, counted in values from the head's start. */
    index: (t: number, c: number) =>
      c < headValues ? t * headValues + c : n * headValues + t * tailValues + c - headValues,
    /** Bound on float32 rounding of the filter (kernels.wat). */
    margin: 1 + (mPad + 8) * 2 ** -23,
    /** Check partial sums every 32 floats in high dimensions, every 16 in low. */
    checkMask: mPad >= 256 ? 127 : 63,
  };
}

/** Writes the points in the given slot order (slot t holds point pointAt(t)) into segments at byte `at`; coordinates in column order. */
export function writeSegments(
  kernels: SimdKernels,
  at: number,
  points: ExactPoints,
  order: Int32Array,
  pointAt: (t: number) => number,
) {
  const { rows: n, cols: m } = points;
  const seg = segmentsOf(points);
  const coords = seg.f32
    ? new Float32Array(kernels.memory.buffer, at, n * seg.mPad)
    : new Float64Array(kernels.memory.buffer, at, n * seg.mPad);
  coords.fill(0); // padding columns must add nothing; the memory may hold an earlier layout
  for (let t = 0; t < n; t++) {
    const row = pointAt(t) * m;
    for (let c = 0; c < m; c++) coords[seg.index(t, c)] = points.data[row + order[c]];
  }
  return coords;
}

export const emptyTree = (n: number): SpanningTree => ({
  from: new Int32Array(Math.max(0, n - 1)),
  to: new Int32Array(Math.max(0, n - 1)),
  weight: new Float64Array(Math.max(0, n - 1)),
});

/**
 * Column indices by decreasing variance. Summing coordinates in this order makes a partial
 * distance reach its threshold as early as possible: in a zoo's weight space the layers with
 * few inputs (large Kaiming variance) carry most of the distance, e.g. the FFNN's 200
 * fc2/fc3 weights most of it, so sums over the raw layout run through nearly all the
 * coordinates before they can stop and sums in this order through few. SVD coordinates are
 * already in about this order. The sum is over the same terms, so it is still the exact
 * distance, up to float64 rounding in a different order.
 */
export function columnsBySpread({ rows: n, cols: m, data: coords }: ExactPoints): Int32Array {
  const mean = new Float64Array(m);
  const spread = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) mean[c] += coords[i * m + c];
  for (let c = 0; c < m; c++) mean[c] /= n;
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) spread[c] += (coords[i * m + c] - mean[c]) ** 2;
  return Int32Array.from(spread.keys()).sort((a, b) => spread[b] - spread[a] || a - b);
}
