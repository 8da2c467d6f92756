/**
 * Distances from a checkpoint to run trajectories (a run's indexed checkpoints in epoch
 * order, joined by straight segments), and the search for the nearest runs that identify()
 * and the index calibration share.
 *
 * Search: the query is projected onto the index's SVD basis and every run gets a lower
 * bound, its trajectory's distance in the projected space (an orthogonal projection never
 * lengthens a distance, and a segment projects to a segment), from the query's dot products
 * with the projected checkpoints, so one pass over the n x k coordinates bounds every run.
 * Runs are measured in the full weight space in the order of their bounds, until the next
 * bound exceeds the top-th smallest distance found, so the top candidates are exactly the
 * `top` nearest runs (and the margin to the second is exact). A run is measured
 * from the query's dot products with its checkpoints (one pass over its weights; |x|^2 and
 * segment lengths come with the index), and its nearest segment's distance is then summed
 * again from the differences, which stays accurate when the query lies on it.
 */
import type { ZooInfo } from '../store/loadZoo.ts';
import type { RowReader, ZooRowArray } from '../core/zoo.ts';
import type { TruncatedSVD } from '../reduce/svd.ts';
import { dot, squaredDistance } from '../reduce/distances.ts';

/** A row of an index's projected coordinates: the index's own numbering, apart from the zoo's (ZooRow). */
export type IndexRow = number & { readonly __numbering: 'index row' };

/** Index rows in an Int32Array: reading one gives an IndexRow. */
export interface IndexRowArray extends Int32Array {
  [index: number]: IndexRow;
  [Symbol.iterator](): IterableIterator<IndexRow>;
}
export const indexRowArray = (rows: ArrayLike<number>): IndexRowArray =>
  Int32Array.from(rows) as IndexRowArray;

/** One run's trajectory: its indexed checkpoints in epoch order. */
export interface Trajectory {
  run: number;
  seed: number;
  epochs: Int32Array;
  /** Row of each checkpoint in the zoo's weight matrix. */
  rows: ZooRowArray;
  /** Row of each checkpoint in the index's projected coordinates. */
  at: IndexRowArray;
  /** Squared length of each segment (rows i to i + 1), float64. */
  segmentSq: Float64Array;
}

/** What a search needs from an index (zooIndex.ts). */
export interface SearchSpace {
  zoo: ZooInfo;
  /** The zoo's checkpoints by row: in memory, or read from its files for the runs measured. */
  rows: RowReader;
  svd: TruncatedSVD;
  /** Projected checkpoints, one row of k per indexed checkpoint. */
  coords: Float32Array;
  /** |c|^2 of every projected checkpoint, and |c_next - c|^2 of the segment starting there (0 at a run's end). */
  coordSqNorm: Float64Array;
  coordStepSq: Float64Array;
  /**
   * Per segment, at its first checkpoint: the larger |c| of its ends, the larger bound on an
   * end's distance from its exact projection, and on an end's distance from the SVD subspace.
   */
  segmentNorm: Float64Array;
  segmentCoordError: Float64Array;
  segmentResidual: Float64Array;
  /** V q (float32 sums), with a bound on its distance from the exact projection. */
  projectQuery(q: Float64Array): { z: Float64Array; error: number };
  /** c . z for every projected checkpoint (float32 sums). */
  projectedDots(z: Float64Array): Float64Array;
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
}

export function searchRuns(
  space: SearchSpace,
  query: Float32Array | Float64Array,
  options: SearchOptions = {},
): { candidates: Candidate[]; runsMeasured: number } {
  const { trajectories } = space;
  const top = Math.min(options.top ?? 5, trajectories.length);
  const q = query instanceof Float64Array ? query : Float64Array.from(query); // one element type in the hot loops
  const bounds = lowerBounds(space, q);
  const order = Array.from(bounds.keys()).sort((a, b) => bounds[a] - bounds[b]);
  const qq = dot(q, 0, q, 0, q.length);
  const found: Candidate[] = []; // kept sorted by distance, then run
  for (const r of order) {
    // stop once no run left can enter the top
    if (found.length >= top && bounds[r] > found[top - 1].distance) break;
    const candidate = nearestOnTrajectory(space, trajectories[r], q, qq);
    const at = found.findIndex(
      (f) => f.distance > candidate.distance || (f.distance === candidate.distance && f.run > candidate.run),
    );
    found.splice(at < 0 ? found.length : at, 0, candidate);
  }
  return { candidates: found.slice(0, top), runsMeasured: found.length };
}

/**
 * A lower bound on the query's distance to each run's trajectory. For a point p of a segment,
 * |q - p|^2 = |V(q - p)|^2 + |(q - p) outside the SVD subspace|^2, and each part is bounded:
 *  - inside: the projected distance, from the dot products (|z - c(s)|^2 is linear in z.a and
 *    z.b, so their float32 rounding e moves it by at most 2 max(e_a, e_b)), less the
 *    coordinates' distance from the exact projections (at most the larger of the two ends) and
 *    the query's (z is float32 sums too);
 *  - outside: at least |q's residual| - |p's residual|, and p's is at most the larger of the
 *    two ends' (a segment's residual is the segment between theirs).
 * A relative 1e-9 covers float64 rounding and V's orthonormality.
 */
export function lowerBounds(space: SearchSpace, query: Float64Array): Float64Array {
  const {
    svd,
    trajectories,
    coordSqNorm: cc,
    coordStepSq,
    segmentNorm,
    segmentCoordError,
    segmentResidual,
  } = space;
  const { z, error: zError } = space.projectQuery(query);
  const zz = dot(z, 0, z, 0, svd.k);
  // a float32 sum of k products z_j c_j is off by at most (k + 2) u |z| |c| (z rounded to float32 too)
  const dotError = (svd.k + 2) * FLOAT32_ROUNDOFF * Math.sqrt(zz);
  const qq = dot(query, 0, query, 0, query.length);
  // |V q| <= |z| + zError
  const queryResidual = Math.sqrt(Math.max(0, qq - (Math.sqrt(zz) + zError) ** 2 - 1e-9 * qq));
  const zc = space.projectedDots(z);
  return Float64Array.from(trajectories, (t) => {
    let best = Infinity;
    for (let i = 0; i + 1 < t.at.length; i++) {
      const [a, b] = [t.at[i], t.at[i + 1]];
      const vv = coordStepSq[a];
      const pv = zc[b] - zc[a] + (cc[a] - cc[b] + vv) / 2; // (z - a).(b - a)
      const s = vv > 0 ? Math.min(1, Math.max(0, pv / vv)) : 0;
      const sq =
        zz -
        2 * zc[a] +
        cc[a] -
        2 * s * pv +
        s * s * vv -
        2 * dotError * segmentNorm[a] -
        1e-12 * (zz + cc[a] + cc[b]);
      const inside = Math.max(0, Math.sqrt(Math.max(0, sq)) - segmentCoordError[a] - zError);
      const outside = Math.max(0, queryResidual - segmentResidual[a]);
      const sqBound = inside * inside + outside * outside;
      if (sqBound < best) best = sqBound;
    }
    return Math.sqrt(best) * (1 - 1e-9);
  });
}

/** The nearest point of a run's trajectory to the query, in the full weight space. */
export function nearestOnTrajectory(
  space: SearchSpace,
  t: Trajectory,
  query: Float64Array,
  qq: number,
): Candidate {
  const { rows, zoo } = space;
  const d = zoo.dim;
  const qx = Float64Array.from({ length: t.rows.length }, (_, j) => dotRow(query, rows.row(t.rows[j]), 0, d));
  const { segment: i } = nearestSegment(t, qx, qq, space.sqNorm);
  const match = segmentDistance(query, 0, rows.row(t.rows[i]), 0, rows.row(t.rows[i + 1]), 0, d);
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

/**
 * The segment of a trajectory nearest to q, and q's squared distance to it, from q's dot
 * products qx with its checkpoints, |q|^2 and the zoo rows' |x|^2 (no pass over the weights;
 * the distance loses digits to cancellation when q is near the segment).
 */
export function nearestSegment(
  t: Trajectory,
  qx: Float64Array,
  qq: number,
  sqNorm: Float64Array,
): { segment: number; sq: number } {
  let segment = 0;
  let bestSq = Infinity;
  for (let i = 0; i + 1 < t.rows.length; i++) {
    const [a, b] = [t.rows[i], t.rows[i + 1]];
    const vv = t.segmentSq[i];
    const pv = qx[i + 1] - qx[i] + (sqNorm[a] - sqNorm[b] + vv) / 2; // (q - a).(b - a)
    const s = vv > 0 ? Math.min(1, Math.max(0, pv / vv)) : 0;
    const sq = qq - 2 * qx[i] + sqNorm[a] - 2 * s * pv + s * s * vv;
    if (sq < bestSq) [bestSq, segment] = [sq, i];
  }
  return { segment, sq: Math.max(0, bestSq) };
}

/** Euclidean distance between two points of d values. */
export function pointDistance(q: Float32Array | Float64Array, w: Float32Array, d: number): number {
  return Math.sqrt(squaredDistance(q, 0, w, 0, d));
}

/** Unit roundoff of float32: what bounds the rounding of the float32 SIMD products. */
export const FLOAT32_ROUNDOFF = 2 ** -24;

/** q . w[wo .. wo + d): the search's hot loop, kept to one pair of element types. */
function dotRow(q: Float64Array, w: Float32Array, wo: number, d: number): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
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
 * Distance from point p (q[qo..qo+d)) to the segment from a (a[ao..ao+d)) to b (b[bo..bo+d)).
 * The nearest point's position comes from the dot products; its distance is summed again from
 * the differences, which stays accurate when p lies on the segment.
 */
export function segmentDistance(
  q: Float32Array | Float64Array,
  qo: number,
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  d: number,
): SegmentMatch {
  let vv = 0; // |b - a|^2
  let pv = 0; // (p - a) . (b - a)
  for (let j = 0; j < d; j++) {
    const x = a[ao + j];
    const v = b[bo + j] - x;
    vv += v * v;
    pv += (q[qo + j] - x) * v;
  }
  const tRaw = vv > 0 ? pv / vv : 0;
  const t = Math.min(1, Math.max(0, tRaw));
  let s = 0;
  for (let j = 0; j < d; j++) {
    const x = a[ao + j];
    s += (q[qo + j] - x - t * (b[bo + j] - x)) ** 2;
  }
  return { distance: Math.sqrt(s), t, tRaw, length: Math.sqrt(vv) };
}
