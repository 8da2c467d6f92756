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
 *    radii already exceeds every path maximum among their 16 pairs: on the paper zoo that
 *    settles 83 % of the block pairs, and the whole method is 2.3x faster than Prim.
 *
 * The scans run in the SIMD kernels of kernels.wat, split between the main thread and a
 * helper thread (kernelThread.ts) on large inputs. The first coordinates of every point are
 * packed together (the head segment), so the scans, most of which stop early, read dense
 * memory.
 */
import { HelperThread } from '../simd/helperThread.ts';
import { reserve, simdKernels, type SimdKernels } from '../simd/kernels.ts';
import { UnionFind } from './unionFind.ts';
import { simdThreads } from '../util/threads.ts';
import { rowDistance } from '../reduce/distances.ts';

/** Points and their coordinates; distances are computed exactly in float64 from them. */
export interface ExactPoints {
  n: number;
  dim: number;
  /** n x dim, row-major: float64 (e.g. SVD coordinates) or float32 (a zoo's own weights). */
  coords: Float64Array | Float32Array;
}

export interface SpanningTree {
  /** Edge i joins from[i] and to[i] at Euclidean distance weight[i]. */
  from: Int32Array;
  to: Int32Array;
  weight: Float64Array;
}

export interface SpanningTreeOptions {
  /**
   * Threads: 1, or 2 (a helper thread takes half of each scan). The result is the same bit
   * for bit. Default: 2 when the machine has two cores and there are >= 2,048 points.
   */
  threads?: 1 | 2;
  /**
   * 'prim' or 'checked' (see above). Default: 'checked' for >= 1,024 points in >= 256
   * dimensions (2.3x faster on the paper zoo's 12,750 x 2,160), else 'prim'.
   */
  method?: 'prim' | 'checked';
}

const PARALLEL_MIN_POINTS = 2048;
const PARALLEL_MIN_SLOTS = 512; // below this, a Prim step is cheaper than handing half to the helper
const CHECKED_MIN_POINTS = 1024;
const CHECKED_MIN_DIM = 256;
const PROBE_DIM = 64; // leading coordinates of the candidate tree: 32 gives a poorer candidate and ~100x the pairs to settle exactly
/** Coordinates per point in the packed head segment (kernels.wat), float32 / float64. */
const HEAD_VALUES = { f32: 256, f64: 128 }; // 1 KiB: most scans of a zoo's weights stop within it

/** The exact minimum spanning tree of the points (ties: any one of the minimum trees). */
export function minimumSpanningTree(points: ExactPoints, options: SpanningTreeOptions = {}): SpanningTree {
  const { n, dim } = points;
  const threads = options.threads ?? simdThreads(n >= PARALLEL_MIN_POINTS);
  const method = options.method ?? (n >= CHECKED_MIN_POINTS && dim >= CHECKED_MIN_DIM ? 'checked' : 'prim');
  const k = simdKernels();
  const starting = threads === 2 ? HelperThread.start(k) : null; // gets ready while the points are laid out
  let ready: boolean | undefined;
  const helper = () => ((ready ??= starting?.ready() ?? false) ? starting : null);
  try {
    const order = columnsBySpread(points);
    if (method === 'prim' || n < 2) return prim(k, points, order, helper);
    const probeDim = Math.min(PROBE_DIM, dim);
    const probe = new Float32Array(n * probeDim);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < probeDim; c++) probe[i * probeDim + c] = points.coords[i * dim + order[c]];
    const candidate = prim(
      k,
      { n, dim: probeDim, coords: probe },
      Int32Array.from({ length: probeDim }, (_, c) => c),
      helper,
    );
    return checkedTree(k, points, order, candidate, helper);
  } finally {
    starting?.stop();
  }
}

/** Each point's coordinates in two segments (see kernels.wat), in whole 64-byte chunks. */
function segmentsOf({ n, dim, coords }: ExactPoints) {
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
function writeSegments(
  k: SimdKernels,
  at: number,
  points: ExactPoints,
  order: Int32Array,
  pointAt: (t: number) => number,
) {
  const { n, dim: m } = points;
  const seg = segmentsOf(points);
  const coords = seg.f32
    ? new Float32Array(k.memory.buffer, at, n * seg.mPad)
    : new Float64Array(k.memory.buffer, at, n * seg.mPad);
  coords.fill(0); // padding columns must add nothing; the memory may hold an earlier layout
  for (let t = 0; t < n; t++) {
    const row = pointAt(t) * m;
    for (let c = 0; c < m; c++) coords[seg.index(t, c)] = points.coords[row + order[c]];
  }
  return coords;
}

/** Prim's algorithm: float32 points in the lanes layout (primLanes), float64 ones in segments (primSegments). */
function prim(
  k: SimdKernels,
  points: ExactPoints,
  order: Int32Array,
  helper: () => HelperThread | null,
): SpanningTree {
  return points.coords instanceof Float32Array
    ? primLanes(k, points as ExactPoints & { coords: Float32Array }, order, helper)
    : primSegments(k, points as ExactPoints & { coords: Float64Array }, order, helper);
}

/**
 * Prim's algorithm on float64 points, one point per primStep scan. The points not yet in the
 * tree stay compacted at the front of the slots (swap-remove on insertion), so every step
 * scans memory sequentially; each step runs in the primStep SIMD kernel, the bookkeeping
 * stays here.
 */
function primSegments(
  k: SimdKernels,
  points: ExactPoints & { coords: Float64Array },
  order: Int32Array,
  helper: () => HelperThread | null,
): SpanningTree {
  const { n, dim: m } = points;
  const { mPad, headBytes, tailBytes, index } = segmentsOf(points);
  const at = reserve(k, {
    head: n * headBytes,
    tail: n * tailBytes,
    u64: mPad * 8,
    best: n * 8,
    lower: n * 8,
    parent: n * 4,
  });
  const coords = writeSegments(k, at.head, points, order, (t) => t);
  const buf = k.memory.buffer;
  const u64 = new Float64Array(buf, at.u64, mPad);
  const best = new Float64Array(buf, at.best, n).fill(Infinity);
  const lower = new Float64Array(buf, at.lower, n).fill(0);
  const parent = new Int32Array(buf, at.parent, n).fill(-1);
  const headValues = headBytes / 8;
  const tailValues = tailBytes / 8;
  const moveSlot = (dst: number, src: number) => {
    coords.copyWithin(index(dst, 0), index(src, 0), index(src, 0) + headValues);
    if (tailValues > 0)
      coords.copyWithin(index(dst, headValues), index(src, headValues), index(src, headValues) + tailValues);
  };

  const thread = helper();
  // direct calls with fixed arguments: V8's fast JS-to-WebAssembly path (a spread call takes the slow generic one)
  const step = (t0: number, r: number, delta: number, uId: number): number =>
    k.primStep(
      t0,
      r,
      at.head,
      headBytes,
      at.tail,
      tailBytes,
      at.u64,
      at.best,
      at.lower,
      at.parent,
      delta,
      uId,
    );
  const id = Int32Array.from({ length: n }, (_, i) => i);
  const tree = emptyTree(n);
  let r = n;
  let uSlot = 0;
  for (let added = 0; added < n; added++) {
    const uId = id[uSlot];
    let delta = 0;
    if (added > 0) {
      [tree.from[added - 1], tree.to[added - 1], tree.weight[added - 1]] = [
        parent[uSlot],
        uId,
        Math.sqrt(best[uSlot]),
      ];
      for (let c = 0; c < m; c++) delta += (coords[index(uSlot, c)] - u64[c]) ** 2;
      delta = Math.sqrt(delta);
    }
    for (let c = 0; c < m; c++) u64[c] = coords[index(uSlot, c)];
    r--;
    if (uSlot !== r) {
      moveSlot(uSlot, r);
      [id[uSlot], best[uSlot], lower[uSlot], parent[uSlot]] = [id[r], best[r], lower[r], parent[r]];
    }
    if (r === 0) break;
    if (thread && r >= PARALLEL_MIN_SLOTS) {
      const half = r >> 1;
      thread.begin('primStep', [
        half,
        r,
        at.head,
        headBytes,
        at.tail,
        tailBytes,
        at.u64,
        at.best,
        at.lower,
        at.parent,
        delta,
        uId,
      ]);
      const low = step(0, half, delta, uId);
      const high = thread.end();
      uSlot = best[high] < best[low] ? high : low; // ties: the lower slot, as one scan would pick
    } else {
      uSlot = step(0, r, delta, uId);
    }
  }
  return tree;
}

const emptyTree = (n: number): SpanningTree => ({
  from: new Int32Array(Math.max(0, n - 1)),
  to: new Int32Array(Math.max(0, n - 1)),
  weight: new Float64Array(Math.max(0, n - 1)),
});

/**
 * Prim's algorithm on float32 points in the lanes layout of the primLanes kernel: slots in
 * blocks of 4 with each coordinate of a block's 4 slots side by side, so each SIMD lane sums
 * one slot's distance and one test settles all four (no horizontal sums, no per-point
 * branches: 1.4-2x faster than one point at a time with triangle bounds, which this layout
 * does without). Same bookkeeping as primSegments.
 */
function primLanes(
  k: SimdKernels,
  points: ExactPoints & { coords: Float32Array },
  order: Int32Array,
  helper: () => HelperThread | null,
): SpanningTree {
  const { n, dim: m } = points;
  const m4 = Math.ceil(m / 4) * 4;
  const blocks = Math.ceil(n / 4);
  const at = reserve(k, {
    lanes: blocks * m4 * 16,
    us: m4 * 16,
    u64: m4 * 8,
    hi: blocks * 16,
    best: blocks * 32,
    parent: blocks * 16,
  });
  const buf = k.memory.buffer;
  const lanes = new Float32Array(buf, at.lanes, blocks * m4 * 4).fill(0);
  const slot = (t: number, c: number) => ((t >> 2) * m4 + c) * 4 + (t & 3);
  for (let t = 0; t < n; t++) for (let c = 0; c < m; c++) lanes[slot(t, c)] = points.coords[t * m + order[c]];
  const us = new Float32Array(buf, at.us, m4 * 4).fill(0);
  const u64 = new Float64Array(buf, at.u64, m4).fill(0);
  const hi = new Float32Array(buf, at.hi, blocks * 4).fill(-1);
  hi.fill(Infinity, 0, n);
  const best = new Float64Array(buf, at.best, blocks * 4).fill(Infinity);
  const parent = new Int32Array(buf, at.parent, blocks * 4).fill(-1);
  const margin = 1 + (m4 + 8) * 2 ** -23;
  const slack = (m4 + 8) * 2 ** -148;

  const thread = helper();
  const id = Int32Array.from({ length: n }, (_, i) => i);
  const tree = emptyTree(n);
  let r = n;
  let uSlot = 0;
  for (let added = 0; added < n; added++) {
    const uId = id[uSlot];
    if (added > 0)
      [tree.from[added - 1], tree.to[added - 1], tree.weight[added - 1]] = [
        parent[uSlot],
        uId,
        Math.sqrt(best[uSlot]),
      ];
    for (let c = 0; c < m; c++) {
      const v = lanes[slot(uSlot, c)];
      u64[c] = v;
      us.fill(v, 4 * c, 4 * c + 4);
    }
    r--;
    if (uSlot !== r) {
      for (let c = 0; c < m; c++) lanes[slot(uSlot, c)] = lanes[slot(r, c)];
      [id[uSlot], hi[uSlot], best[uSlot], parent[uSlot]] = [id[r], hi[r], best[r], parent[r]];
    }
    hi[r] = -1;
    if (r === 0) break;
    const used = Math.ceil(r / 4);
    if (thread && r >= PARALLEL_MIN_SLOTS) {
      const half = used >> 1;
      thread.begin('primLanes', [
        half,
        used,
        r,
        at.lanes,
        m4,
        at.us,
        at.u64,
        at.hi,
        at.best,
        at.parent,
        uId,
        margin,
        slack,
      ]);
      const low = k.primLanes(
        0,
        half,
        r,
        at.lanes,
        m4,
        at.us,
        at.u64,
        at.hi,
        at.best,
        at.parent,
        uId,
        margin,
        slack,
      );
      const high = thread.end();
      uSlot = best[high] < best[low] ? high : low; // ties: the lower slot, as one scan would pick
    } else {
      uSlot = k.primLanes(
        0,
        used,
        r,
        at.lanes,
        m4,
        at.us,
        at.u64,
        at.hi,
        at.best,
        at.parent,
        uId,
        margin,
        slack,
      );
    }
  }
  return tree;
}

/**
 * The minimum spanning tree from a candidate tree by the cycle property (see the top of this
 * file). Points are laid out in the order of the leaves of the candidate's dendrogram, so the
 * longest edge on the candidate's path between the i-th and j-th leaf is the largest merge
 * height between consecutive leaves from i to j, a running maximum in the checkBlocks kernel.
 */
function checkedTree(
  k: SimdKernels,
  points: ExactPoints,
  order: Int32Array,
  candidate: SpanningTree,
  helper: () => HelperThread | null,
): SpanningTree {
  const { n, dim: m, coords: x } = points;
  const distance = (a: number, b: number) => rowDistance(x, a, b, m);
  const exactCandidate = {
    ...candidate,
    weight: Float64Array.from(candidate.from, (a, e) => distance(a, candidate.to[e])),
  };
  const { leaves, gaps } = dendrogramOrder(n, exactCandidate);
  const seg = segmentsOf(points);
  const blocks = Math.ceil(n / 4);
  const cap = Math.max(16 * n, 1 << 16); // records per output buffer; drained whenever a scan stops for room
  const scratch = { u64: 4 * seg.mPad * 8, u32: 4 * seg.mPad * 4, c64: seg.mPad * 8, c32: seg.mPad * 4 };
  const at = reserve(k, {
    head: n * seg.headBytes,
    tail: n * seg.tailBytes,
    cHead: blocks * seg.headBytes,
    cTail: blocks * seg.tailBytes,
    rad: blocks * 8,
    gap: n * 8,
    outA: 16 + cap * 16,
    outB: 16 + cap * 16,
    u64A: scratch.u64,
    u32A: scratch.u32,
    c64A: scratch.c64,
    c32A: scratch.c32,
    u64B: scratch.u64,
    u32B: scratch.u32,
    c64B: scratch.c64,
    c32B: scratch.c32,
  });
  const coords = writeSegments(k, at.head, points, order, (t) => leaves[t]);
  setBlockCentres(k, at, points, seg, coords);
  new Float64Array(k.memory.buffer, at.gap, n - 1).set(gaps);

  // the candidate edges and every pair that might replace one, as point ids and squared distances
  const pairs: { a: number[]; b: number[]; s: number[] } = { a: [], b: [], s: [] };
  const drain = (out: number) => {
    const count = new Int32Array(k.memory.buffer, out, 1);
    const ints = new Int32Array(k.memory.buffer, out + 16, count[0] * 4);
    const floats = new Float64Array(k.memory.buffer, out + 16, count[0] * 2);
    for (let r = 0; r < count[0]; r++) {
      pairs.a.push(leaves[ints[r * 4]]);
      pairs.b.push(leaves[ints[r * 4 + 1]]);
      pairs.s.push(floats[r * 2 + 1]);
    }
    count[0] = 0;
  };
  new Int32Array(k.memory.buffer, at.outA, 1)[0] = 0;
  new Int32Array(k.memory.buffer, at.outB, 1)[0] = 0;
  const f32 = seg.f32 ? 1 : 0;
  const args = (I0: number, I1: number, side: 'A' | 'B') =>
    [
      I0,
      I1,
      n,
      at.head,
      seg.headBytes,
      at.tail,
      seg.tailBytes,
      at.gap,
      at.cHead,
      at.cTail,
      at.rad,
      at[`u64${side}`],
      at[`u32${side}`],
      at[`c64${side}`],
      at[`c32${side}`],
      f32,
      seg.margin,
      seg.checkMask,
      at[`out${side}`],
      cap,
    ] as const;
  const thread = n >= PARALLEL_MIN_POINTS ? helper() : null;
  const split = thread ? Math.round(blocks * (1 - Math.SQRT1_2)) : blocks; // blocks 0..split-1 hold about half the pairs
  let [nextA, nextB] = [0, split];
  while (nextA < split || nextB < blocks) {
    const helped = thread !== null && nextB < blocks;
    if (helped) thread.begin('checkBlocks', args(nextB, blocks, 'B'));
    if (nextA < split) nextA = k.checkBlocks(...args(nextA, split, 'A'));
    if (helped) nextB = thread.end();
    drain(at.outA);
    drain(at.outB);
  }

  // Kruskal on those pairs; ties in a fixed order, whatever the threads
  const byWeight = Array.from(pairs.s.keys()).sort(
    (p, q) =>
      pairs.s[p] - pairs.s[q] ||
      Math.min(pairs.a[p], pairs.b[p]) - Math.min(pairs.a[q], pairs.b[q]) ||
      Math.max(pairs.a[p], pairs.b[p]) - Math.max(pairs.a[q], pairs.b[q]),
  );
  const sets = new UnionFind(n);
  const tree: SpanningTree = {
    from: new Int32Array(n - 1),
    to: new Int32Array(n - 1),
    weight: new Float64Array(n - 1),
  };
  let edges = 0;
  for (const p of byWeight) {
    if (sets.find(pairs.a[p]) === sets.find(pairs.b[p])) continue;
    sets.union(pairs.a[p], pairs.b[p]);
    [tree.from[edges], tree.to[edges], tree.weight[edges]] = [pairs.a[p], pairs.b[p], Math.sqrt(pairs.s[p])];
    if (++edges === n - 1) break;
  }
  if (edges !== n - 1) throw new Error(`internal: the checked pairs span ${edges + 1} of ${n} points`);
  return tree;
}

/**
 * Centre (mean, rounded to the coordinates' type) and radius of every block of 4 consecutive
 * slots, for the block bound of checkBlocks. The radius is the largest member's distance to
 * the rounded centre, in float64 and rounded up, so every member is provably within it.
 */
function setBlockCentres(
  k: SimdKernels,
  at: { cHead: number; rad: number },
  points: ExactPoints,
  seg: ReturnType<typeof segmentsOf>,
  coords: Float32Array | Float64Array,
): void {
  const { n, dim: m } = points;
  const blocks = Math.ceil(n / 4);
  const centres = seg.f32
    ? new Float32Array(k.memory.buffer, at.cHead, blocks * seg.mPad)
    : new Float64Array(k.memory.buffer, at.cHead, blocks * seg.mPad);
  centres.fill(0);
  const centreIndex = segmentsOf({ ...points, n: blocks }).index;
  const radius = new Float64Array(k.memory.buffer, at.rad, blocks);
  for (let b = 0; b < blocks; b++) {
    const [t0, t1] = [4 * b, Math.min(n, 4 * b + 4)];
    for (let c = 0; c < m; c++) {
      let sum = 0;
      for (let t = t0; t < t1; t++) sum += coords[seg.index(t, c)];
      centres[centreIndex(b, c)] = sum / (t1 - t0);
    }
    let rho = 0;
    for (let t = t0; t < t1; t++) {
      let s = 0;
      for (let c = 0; c < m; c++) s += (coords[seg.index(t, c)] - centres[centreIndex(b, c)]) ** 2;
      rho = Math.max(rho, Math.sqrt(s));
    }
    radius[b] = rho * (1 + 1e-9);
  }
}

/**
 * Leaves of a tree's single-linkage dendrogram in drawing order, and gaps[k], the merge height
 * at which leaves k and k + 1 first share a cluster (the longest edge on the tree's path
 * between them). Merging clusters by increasing edge weight and appending one's leaf list to
 * the other's gives that order; each junction's gap is the weight of the merge that made it.
 */
function dendrogramOrder(n: number, tree: SpanningTree): { leaves: Int32Array; gaps: Float64Array } {
  const sets = new UnionFind(n);
  const first = Int32Array.from({ length: n }, (_, i) => i); // by root: the cluster's first and last leaf
  const last = Int32Array.from({ length: n }, (_, i) => i);
  const next = new Int32Array(n).fill(-1);
  const gapAfter = new Float64Array(n);
  const byWeight = Array.from(tree.weight.keys()).sort((a, b) => tree.weight[a] - tree.weight[b] || a - b);
  for (const e of byWeight) {
    const [ra, rb] = [sets.find(tree.from[e]), sets.find(tree.to[e])];
    const [head, tail] = [first[ra], last[rb]];
    next[last[ra]] = first[rb];
    gapAfter[last[ra]] = tree.weight[e];
    const root = sets.union(ra, rb);
    [first[root], last[root]] = [head, tail];
  }
  const leaves = new Int32Array(n);
  const gaps = new Float64Array(Math.max(0, n - 1));
  for (let t = 0, leaf = first[sets.find(0)]; t < n; t++, leaf = next[leaf]) {
    leaves[t] = leaf;
    if (t < n - 1) gaps[t] = gapAfter[leaf];
  }
  return { leaves, gaps };
}

/**
 * Column indices by decreasing variance. Summing coordinates in this order makes a partial
 * distance reach its threshold as early as possible: in a zoo's weight space the layers with
 * few inputs (large Kaiming variance) carry most of the distance, e.g. the FFNN's 200
 * fc2/fc3 weights about two thirds of it, so sums over the raw layout run through ~95 % of
 * the coordinates before they can stop and sums in this order ~15 %. SVD coordinates are
 * already in about this order. The sum is over the same terms, so it is still the exact
 * distance, up to float64 rounding in a different order.
 */
function columnsBySpread({ n, dim: m, coords }: ExactPoints): Int32Array {
  const mean = new Float64Array(m);
  const spread = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) mean[c] += coords[i * m + c];
  for (let c = 0; c < m; c++) mean[c] /= n;
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) spread[c] += (coords[i * m + c] - mean[c]) ** 2;
  return Int32Array.from(spread.keys()).sort((a, b) => spread[b] - spread[a] || a - b);
}
