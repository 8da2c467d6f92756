/**
 * Distances from a checkpoint to run trajectories (a run's indexed checkpoints in epoch
 * order, joined by straight segments), and the search for the nearest runs that identify()
 * and the index calibration share.
 *
 * Search: the query is projected onto the index's SVD basis and every run gets a lower
 * bound, its trajectory's distance in the projected space (an orthogonal projection never
 * lengthens a distance, and a segment projects to a segment), from the query's dot products
 * with the projected checkpoints, so one pass over the n x k coordinates bounds every run.
 * Runs are measured in the full
 * weight space in the order of their bounds, until the next bound exceeds the best distance
 * found (so the best run is exact) and at least `top` runs are measured. A run is measured
 * from the query's dot products with its checkpoints (one pass over its weights; |x|^2 and
 * segment lengths come with the index), and its nearest segment's distance is then summed
 * again from the differences, which stays accurate when the query lies on it.
 */
import type { Zoo } from '../store/loadZoo.ts';
import { multiplyByTransposed } from './linalg.ts';
import type { TruncatedSVD } from './svd.ts';

/** One run's trajectory: its indexed checkpoints in epoch order. */
export interface Trajectory {
  run: number;
  seed: number;
  epochs: Int32Array;
  /** Row of each checkpoint in the zoo's weight matrix. */
  rows: Int32Array;
  /** Row of each checkpoint in the index's projected coordinates. */
  at: Int32Array;
  /** Squared length of each segment (rows i to i + 1), float64. */
  segmentSq: Float64Array;
}

/** What a search needs from an index (zooIndex.ts). */
export interface SearchSpace {
  zoo: Zoo;
  svd: TruncatedSVD;
  /** Projected checkpoints, one row of k per indexed checkpoint. */
  coords: Float32Array;
  /** |c|^2 of every projected checkpoint, and |c_next - c|^2 of the segment starting there (0 at a run's end). */
  coordSqNorm: Float64Array;
  coordStepSq: Float64Array;
  trajectories: Trajectory[];
  /** |x|^2 of every zoo row. */
  sqNorm: Float64Array;
}

export interface Candidate {
  run: number;
  seed: number;
  /** Distance to the run's trajectory in the full weight space. */
  distance: number;
  /** Position of the nearest point on the trajectory as a fractional epoch. */
  epoch: number;
  /** Index of the nearest segment, the position on it (0..1, and unclamped) and its length. */
  segment: number;
  t: number;
  tRaw: number;
  segmentLength: number;
}

export interface SearchOptions {
  /** Runs to measure at least, and candidates to return (default 5). */
  top?: number;
  /** Leave this run out (calibration). */
  exclude?: number;
}

export function searchRuns(space: SearchSpace, query: Float32Array | Float64Array, options: SearchOptions = {}): { candidates: Candidate[]; runsMeasured: number } {
  const { trajectories, coords, svd } = space;
  const k = svd.k;
  const runs = trajectories.filter((t) => t.run !== options.exclude);
  const top = Math.min(options.top ?? 5, runs.length);
  const z = svd.transform(query instanceof Float32Array ? query : Float32Array.from(query), 1);
  const zc = multiplyByTransposed(coords, coords.length / k, k, z, 1);
  const zz = dot(z, 0, z, 0, k);
  const bounds = runs.map((t) => Math.sqrt(projectedSq(space, t, zc, zz)));
  const order = Array.from(bounds.keys()).sort((a, b) => bounds[a] - bounds[b]);
  const q = query instanceof Float64Array ? query : Float64Array.from(query); // one element type in the hot loop
  const qq = dot(q, 0, q, 0, q.length);
  const found: Candidate[] = [];
  for (const r of order) {
    // float32 projections: a relative slack of 1e-5 keeps the bound a bound
    if (found.length >= top && bounds[r] * (1 - 1e-5) > found[0].distance) break;
    found.push(nearestOnTrajectory(space, runs[r], q, qq));
  }
  found.sort((a, b) => a.distance - b.distance || a.run - b.run);
  return { candidates: found.slice(0, top), runsMeasured: found.length };
}

/**
 * Squared distance from the projected query (dot products zc, |z|^2 = zz) to a run's projected
 * trajectory, minus the float64 rounding the dot-product form can incur (a few ulps of the
 * squared norms, also through a rounded segment position), so it stays a lower bound.
 */
function projectedSq(space: SearchSpace, t: Trajectory, zc: Float64Array, zz: number): number {
  const { coordSqNorm: cc, coordStepSq } = space;
  let best = Infinity;
  for (let i = 0; i + 1 < t.at.length; i++) {
    const [a, b] = [t.at[i], t.at[i + 1]];
    const vv = coordStepSq[a];
    const pv = zc[b] - zc[a] + (cc[a] - cc[b] + vv) / 2; // (z - a).(b - a)
    const s = vv > 0 ? Math.min(1, Math.max(0, pv / vv)) : 0;
    const sq = zz - 2 * zc[a] + cc[a] - 2 * s * pv + s * s * vv - 1e-12 * (zz + cc[a] + cc[b]);
    if (sq < best) best = sq;
  }
  return Math.max(0, best);
}

/** The nearest point of a run's trajectory to the query, in the full weight space. */
export function nearestOnTrajectory(space: SearchSpace, t: Trajectory, query: Float64Array, qq: number): Candidate {
  const { zoo, sqNorm } = space;
  const { weights, dim: d } = zoo;
  const m = t.rows.length;
  const qx = Float64Array.from(t.rows, (row) => dotRow(query, weights, row * d, d));
  let bestSeg = 0;
  let bestSq = Infinity;
  for (let i = 0; i + 1 < m; i++) {
    const [a, b] = [t.rows[i], t.rows[i + 1]];
    const vv = t.segmentSq[i];
    const pv = qx[i + 1] - qx[i] + (sqNorm[a] - sqNorm[b] + vv) / 2; // (q - a).(b - a)
    const s = vv > 0 ? Math.min(1, Math.max(0, pv / vv)) : 0;
    const sq = qq - 2 * qx[i] + sqNorm[a] - 2 * s * pv + s * s * vv;
    if (sq < bestSq) [bestSq, bestSeg] = [sq, i];
  }
  const i = bestSeg;
  const match = segmentDistance(query, 0, weights, t.rows[i] * d, t.rows[i + 1] * d, d);
  return {
    run: t.run,
    seed: t.seed,
    distance: match.distance,
    epoch: t.epochs[i] + match.t * (t.epochs[i + 1] - t.epochs[i]),
    segment: i,
    t: match.t,
    tRaw: match.tRaw,
    segmentLength: match.length,
  };
}

/** Euclidean distance from the query to row `row` of w (d values each). */
export function pointDistance(q: Float32Array | Float64Array, w: Float32Array, row: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (q[j] - w[row * d + j]) ** 2;
  return Math.sqrt(s);
}

export function dot(a: Float32Array | Float64Array, ao: number, b: Float32Array | Float64Array, bo: number, d: number): number {
  let s0 = 0, s1 = 0;
  let j = 0;
  for (; j + 1 < d; j += 2) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
  }
  if (j < d) s0 += a[ao + j] * b[bo + j];
  return s0 + s1;
}

/** q . w[wo .. wo + d): the search's hot loop, kept to one pair of element types. */
function dotRow(q: Float64Array, w: Float32Array, wo: number, d: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += q[j] * w[wo + j];
    s1 += q[j + 1] * w[wo + j + 1];
    s2 += q[j + 2] * w[wo + j + 2];
    s3 += q[j + 3] * w[wo + j + 3];
  }
  for (; j < d; j++) s0 += q[j] * w[wo + j];
  return s0 + s1 + s2 + s3;
}

export interface SegmentMatch {
  /** Distance from the point to the segment. */
  distance: number;
  /** Position of the nearest point, 0 (start) to 1 (end), and unclamped (beyond the ends). */
  t: number;
  tRaw: number;
  /** Length of the segment. */
  length: number;
}

/**
 * Distance from point p (q[qo..qo+d)) to the segment from a to b (rows of w at offsets ao
 * and bo). The nearest point's position comes from the dot products; its distance is summed
 * again from the differences, which stays accurate when p lies on the segment.
 */
export function segmentDistance(q: Float32Array | Float64Array, qo: number, w: Float32Array, ao: number, bo: number, d: number): SegmentMatch {
  let vv = 0; // |b - a|^2
  let pv = 0; // (p - a) . (b - a)
  for (let j = 0; j < d; j++) {
    const a = w[ao + j];
    const v = w[bo + j] - a;
    vv += v * v;
    pv += (q[qo + j] - a) * v;
  }
  const tRaw = vv > 0 ? pv / vv : 0;
  const t = Math.min(1, Math.max(0, tRaw));
  let s = 0;
  for (let j = 0; j < d; j++) {
    const a = w[ao + j];
    s += (q[qo + j] - a - t * (w[bo + j] - a)) ** 2;
  }
  return { distance: Math.sqrt(s), t, tRaw, length: Math.sqrt(vv) };
}
