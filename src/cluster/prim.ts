/** Prim's algorithm in the SIMD kernels: the first of the two spanning-tree methods (spanningTree.ts). */
import { splitRange, type ThreadTeam } from '../simd/helperThread.ts';
import type { Matrix } from '../core/matrix.ts';
import { reserve, type SimdKernels } from '../simd/kernels.ts';
import { simdThreads } from '../util/threads.ts';
import { emptyTree, segmentsOf, writeSegments, type ExactPoints, type SpanningTree } from './pointLayout.ts';

/**
 * The slot of the smallest `best` among the parts' answers (each the smallest of its range),
 * ties to the lowest slot, as one scan would pick: the parts are in slot order.
 */
function bestOf(best: Float64Array, slots: number[]): number {
  let pick = slots[0];
  for (const s of slots) if (best[s] < best[pick]) pick = s;
  return pick;
}

/** Prim's algorithm: float32 points in the lanes layout (primLanes), float64 ones in segments (primSegments). */
export function prim(
  kernels: SimdKernels,
  points: ExactPoints,
  order: Int32Array,
  team: () => ThreadTeam,
): SpanningTree {
  return points.data instanceof Float32Array
    ? primLanes(kernels, points as Matrix<Float32Array>, order, team)
    : primSegments(kernels, points as Matrix<Float64Array>, order, team);
}

/**
 * Prim's algorithm on float64 points, one point per primStep scan. The points not yet in the
 * tree stay compacted at the front of the slots (swap-remove on insertion), so every step
 * scans memory sequentially; each step runs in the primStep SIMD kernel, the bookkeeping
 * stays here.
 */
function primSegments(
  kernels: SimdKernels,
  points: Matrix<Float64Array>,
  order: Int32Array,
  team: () => ThreadTeam,
): SpanningTree {
  const { rows: n, cols: m } = points;
  const { mPad, headBytes, tailBytes, index } = segmentsOf(points);
  const at = reserve(kernels, {
    head: n * headBytes,
    tail: n * tailBytes,
    u64: mPad * 8,
    best: n * 8,
    lower: n * 8,
    parent: n * 4,
  });
  const coords = writeSegments(kernels, at.head, points, order, (t) => t);
  const buf = kernels.memory.buffer;
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

  const threads = team();
  const step = (t0: number, r: number, delta: number, uId: number) => ({
    t0,
    r,
    head: at.head,
    headBytes,
    tail: at.tail,
    tailBytes,
    u: at.u64,
    best: at.best,
    lower: at.lower,
    parent: at.parent,
    delta,
    uId,
  });
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
    const parts = splitRange(r, simdThreads('primSlots', r, threads.size));
    uSlot = bestOf(
      best,
      threads.run(
        'primStep',
        parts.map(([t0, t1]) => step(t0, t1, delta, uId)),
      ),
    );
  }
  return tree;
}

/**
 * Prim's algorithm on float32 points in the lanes layout of the primLanes kernel: slots in
 * blocks of 4 with each coordinate of a block's 4 slots side by side, so each SIMD lane sums
 * one slot's distance and one test settles all four (no horizontal sums, no per-point
 * branches, which makes it faster than one point at a time with triangle bounds; this layout
 * does without them). Same bookkeeping as primSegments.
 */
function primLanes(
  kernels: SimdKernels,
  points: Matrix<Float32Array>,
  order: Int32Array,
  team: () => ThreadTeam,
): SpanningTree {
  const { rows: n, cols: m } = points;
  const m4 = Math.ceil(m / 4) * 4;
  const blocks = Math.ceil(n / 4);
  const at = reserve(kernels, {
    lanes: blocks * m4 * 16,
    us: m4 * 16,
    u64: m4 * 8,
    hi: blocks * 16,
    best: blocks * 32,
    parent: blocks * 16,
  });
  const buf = kernels.memory.buffer;
  const lanes = new Float32Array(buf, at.lanes, blocks * m4 * 4).fill(0);
  const slot = (t: number, c: number) => ((t >> 2) * m4 + c) * 4 + (t & 3);
  for (let t = 0; t < n; t++) for (let c = 0; c < m; c++) lanes[slot(t, c)] = points.data[t * m + order[c]];
  const us = new Float32Array(buf, at.us, m4 * 4).fill(0);
  const u64 = new Float64Array(buf, at.u64, m4).fill(0);
  const hi = new Float32Array(buf, at.hi, blocks * 4).fill(-1);
  hi.fill(Infinity, 0, n);
  const best = new Float64Array(buf, at.best, blocks * 4).fill(Infinity);
  const parent = new Int32Array(buf, at.parent, blocks * 4).fill(-1);
  const margin = 1 + (m4 + 8) * 2 ** -23;
  const slack = (m4 + 8) * 2 ** -148;

  const threads = team();
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
    const parts = splitRange(used, simdThreads('primSlots', r, threads.size));
    uSlot = bestOf(
      best,
      threads.run(
        'primLanes',
        parts.map(([b0, b1]) => ({
          b0,
          b1,
          r,
          lanes: at.lanes,
          m4,
          us: at.us,
          u64: at.u64,
          hi: at.hi,
          best: at.best,
          parent: at.parent,
          uId,
          margin,
          slack,
        })),
      ),
    );
  }
  return tree;
}
