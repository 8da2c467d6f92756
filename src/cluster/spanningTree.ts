/**
 * Exact Euclidean minimum spanning trees, the core of single linkage (linkage.ts). Distances
 * are decided in float64, and work is skipped only where that is provably exact:
 *
 *  - partial distances: coordinates are summed in order of decreasing variance (see
 *    columnsBySpread), so most of the distance is in the first ones, and a pair is dropped
 *    as soon as its partial sum reaches the threshold it is tested against; sums of
 *    non-negative terms never decrease, so this never drops a closer pair;
 *  - float32 input (a zoo's own weights, SVD coordinates) is first summed in float32, four
 *    lanes at a time, and dropped only when that sum exceeds the threshold by more than
 *    float32 rounding (and underflow) can explain; anything closer gets the exact float64 sum.
 *
 * Two methods, same tree:
 *  - Prim's algorithm. On float32 points four points share each SIMD vector (primLanes), so
 *    one test settles four; on float64 points each point keeps a lower bound on its distance
 *    to the point added last (triangle inequality), which passes over many with one subtraction;
 *  - checked candidate (large, high-dimensional inputs): a candidate tree from Prim in the 64
 *    leading coordinates, then every pair is tested against the cycle property: a pair
 *    farther apart than the longest edge on the candidate's path between its two points is
 *    in no minimum spanning tree. The pairs that pass (the candidate's own edges and the few
 *    that could replace one) hold a minimum spanning tree, which Kruskal's algorithm takes.
 *    Each pair is tested once, against that path maximum, which in a zoo is far below most
 *    distances between runs, so partial sums stop early. Points are laid out in the order of
 *    the candidate's dendrogram, in blocks of 4 (mostly consecutive epochs of a run), and a
 *    pair of blocks is passed over whole when the distance between their centres less both
 *    radii already exceeds every path maximum among their 16 pairs, which settles most block
 *    pairs of a zoo (docs/performance.md has the figures against Prim).
 *
 * The scans run in the SIMD kernels of kernels.wat, split between the main thread and a
 * helper thread (simd/helperThread.ts) on large inputs. The first coordinates of every point are
 * packed together (the head segment), so the scans, most of which stop early, read dense
 * memory.
 */
import { matrix } from '../core/matrix.ts';
import { ThreadTeam } from '../simd/helperThread.ts';
import { simdKernels } from '../simd/kernels.ts';
import { teamIdle, threadsFor } from '../util/threads.ts';
import { checkedTree } from './checkedTree.ts';
import { columnsBySpread, type ExactPoints, type SpanningTree } from './pointLayout.ts';
import { prim } from './prim.ts';

export type { ExactPoints, SpanningTree };

export interface SpanningTreeOptions {
  /**
   * Threads in all (helper threads take parts of each scan; the result is the same bit for
   * bit). Default 'auto': by the number of points and the cores (util/threads.ts).
   */
  threads?: number | 'auto';
  /**
   * 'prim' or 'checked' (see above). Default: 'checked' for >= 1,024 points in >= 256
   * dimensions (faster there: docs/performance.md), else 'prim'.
   */
  method?: 'prim' | 'checked';
}

const CHECKED_MIN_POINTS = 1024;
const CHECKED_MIN_DIM = 256;
const PROBE_DIM = 64; // leading coordinates of the candidate tree: 32 gives a poorer candidate and far more pairs to settle exactly

/** The exact minimum spanning tree of the points (ties: any one of the minimum trees). */
export function minimumSpanningTree(points: ExactPoints, options: SpanningTreeOptions = {}): SpanningTree {
  const { rows: n, cols: dim } = points;
  const threads = threadsFor(options.threads, 'treePoints', n);
  const method = options.method ?? (n >= CHECKED_MIN_POINTS && dim >= CHECKED_MIN_DIM ? 'checked' : 'prim');
  const kernels = simdKernels();
  const starting = ThreadTeam.start(kernels, threads, teamIdle(threads)); // the helpers get ready while the points are laid out
  const helper = () => starting.team;
  try {
    const order = columnsBySpread(points);
    if (method === 'prim' || n < 2) return prim(kernels, points, order, helper);
    const probeDim = Math.min(PROBE_DIM, dim);
    const probe = new Float32Array(n * probeDim);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < probeDim; c++) probe[i * probeDim + c] = points.data[i * dim + order[c]];
    const candidate = prim(
      kernels,
      matrix(probe, n, probeDim),
      Int32Array.from({ length: probeDim }, (_, c) => c),
      helper,
    );
    return checkedTree(kernels, points, order, candidate, helper);
  } finally {
    starting.stop();
  }
}
