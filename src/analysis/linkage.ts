/**
 * Exact single-linkage clustering (Euclidean) through the minimum spanning tree: single
 * linkage merges in the order of MST edges sorted by weight (Gower & Ross 1969). The MST
 * comes from Prim's algorithm, O(n^2) distance evaluations at most, decided in float64, with
 * exact ways to skip work:
 *
 *  - partial distances: coordinates are summed in order of decreasing variance (see
 *    columnsBySpread), so most of the distance is in the first ones, and a candidate is
 *    dropped as soon as the partial sum reaches its current best; sums of non-negative
 *    terms never decrease, so this never drops a closer point;
 *  - float32 input (a zoo's own weights, SVD coordinates) is first summed in float32, four
 *    lanes at a time, and dropped only when that sum exceeds the best by more than float32
 *    rounding can explain; anything closer gets the exact float64 sum;
 *  - triangle inequality: d(u', v) >= d(u, v) - d(u, u') bounds a point's distance to the
 *    newly added u' from its distance to the previous one, so many points are passed over
 *    with one subtraction (with a 1e-12 relative margin for rounding).
 *
 * Each step's scan runs in the SIMD kernels of kernels.wat, split between the main thread and
 * a helper thread (kernelThread.ts) on large inputs. The first coordinates of every point
 * are packed together (the head segment), so the scans, most of which stop early, read
 * dense memory.
 */
import { availableParallelism } from 'node:os';
import { KernelThread } from './kernelThread.ts';
import { simdKernels } from './simdProducts.ts';

export interface Linkage {
  n: number;
  /** (n-1) x 4, row-major, SciPy's layout: [a, b, height, size]; merge i creates cluster n+i. */
  z: Float64Array;
}

/** Points and their coordinates; distances are computed exactly in float64 from them. */
export interface ExactPoints {
  n: number;
  dim: number;
  /** n x dim, row-major: float64 (e.g. SVD coordinates) or float32 (a zoo's own weights). */
  coords: Float64Array | Float32Array;
}

export interface SpanningTree {
  /** Edge i joins from[i] and to[i] at Euclidean distance weight[i], in the order Prim added them. */
  from: Int32Array;
  to: Int32Array;
  weight: Float64Array;
}


/**
 * Minimum spanning tree by Prim's algorithm. The points not yet in the tree stay compacted at
 * the front of a working copy of their coordinates (swap-remove on insertion), so every step
 * scans memory sequentially; each point keeps a lower bound on its distance to the point
 * added last (triangle inequality).
 */
export function minimumSpanningTree(points: ExactPoints, options: LinkageOptions = {}): SpanningTree {
  return exactTree(points, options);
}

export interface LinkageOptions {
  /**
   * Threads scanning the remaining points in each Prim step: 1, or 2 (the main thread takes
   * the lower half of the slots, a helper thread the upper half). The result is the same
   * bit for bit. Default: 2 when the machine has two cores and there are >= 2,048 points.
   */
  threads?: 1 | 2;
}

const PARALLEL_MIN_POINTS = 2048;
const PARALLEL_MIN_SLOTS = 512; // below this, a step is cheaper than handing half to the helper

/** Coordinates per point in the packed head segment (kernels.wat), float32 / float64. */
const HEAD_VALUES = { f32: 256, f64: 128 }; // 1 KiB: most scans of a zoo's weights stop within it

/** Each Prim step runs in the primStep SIMD kernels (kernels.wat); the bookkeeping stays here. */
function exactTree(points: ExactPoints, options: LinkageOptions): SpanningTree {
  const { n, dim: m } = points;
  const f32 = points.coords instanceof Float32Array; // float32 input: primStepF32, a float32 filter before the exact pass
  const bytesPerValue = f32 ? 4 : 8;
  const chunk = 64 / bytesPerValue; // segments are whole 64-byte chunks
  const mPad = Math.ceil(m / chunk) * chunk; // zero columns add nothing to a distance
  const headValues = Math.min(mPad, f32 ? HEAD_VALUES.f32 : HEAD_VALUES.f64);
  const tailValues = mPad - headValues;
  const k = simdKernels();
  const threads = options.threads ?? (availableParallelism() >= 2 && n >= PARALLEL_MIN_POINTS ? 2 : 1);
  const starting = threads === 2 ? KernelThread.start(k) : null; // starts while the points are laid out
  const at = { head: 64, tail: 64 + n * headValues * bytesPerValue };
  const layout = { u64: at.tail + n * tailValues * bytesPerValue, u32: 0, best: 0, lower: 0, parent: 0 };
  layout.u32 = layout.u64 + mPad * 8;
  layout.best = layout.u32 + mPad * 4;
  layout.lower = layout.best + n * 8;
  layout.parent = layout.lower + n * 8;
  const top = layout.parent + n * 4;
  const pages = Math.ceil(top / 65536) - k.memory.buffer.byteLength / 65536;
  if (pages > 0) k.memory.grow(pages);
  const buf = k.memory.buffer;
  const coords = f32 ? new Float32Array(buf, at.head, n * mPad) : new Float64Array(buf, at.head, n * mPad);
  const u64 = new Float64Array(buf, layout.u64, mPad);
  const u32 = new Float32Array(buf, layout.u32, mPad);
  const best = new Float64Array(buf, layout.best, n).fill(Infinity);
  const lower = new Float64Array(buf, layout.lower, n).fill(0);
  const parent = new Int32Array(buf, layout.parent, n).fill(-1);
  // value c of the point in slot t (slot t holds point id[t]), in coords
  const index = (t: number, c: number) => (c < headValues ? t * headValues + c : n * headValues + t * tailValues + c - headValues);
  const order = columnsBySpread(points);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) coords[index(i, c)] = points.coords[i * m + order[c]];
  const margin = 1 + (mPad + 8) * 2 ** -23; // float32 rounding bound of the filter (kernels.wat)
  const checkMask = mPad >= 256 ? 127 : 63; // check every 32 floats in high dimensions, every 16 in low
  const segments = [at.head, headValues * bytesPerValue, at.tail, tailValues * bytesPerValue] as const;
  const moveSlot = (to: number, from: number) => {
    coords.copyWithin(index(to, 0), index(from, 0), index(from, 0) + headValues);
    if (tailValues > 0) coords.copyWithin(index(to, headValues), index(from, headValues), index(from, headValues) + tailValues);
  };

  const helper = starting?.ready() ? starting : null;
  const kernel = f32 ? 'primStepF32' : 'primStep';
  const stepArgs = (t0: number, r: number, delta: number, uId: number): number[] => [
    t0, r, ...segments, layout.u64, layout.best, layout.lower, layout.parent, delta, uId, ...(f32 ? [layout.u32, margin, checkMask] : []),
  ];
  const [head, headBytes, tail, tailBytes] = segments;
  // direct calls with fixed arguments: V8's fast JS-to-WebAssembly path (a spread call takes the slow generic one)
  const step = (t0: number, r: number, delta: number, uId: number): number =>
    f32
      ? k.primStepF32(t0, r, head, headBytes, tail, tailBytes, layout.u64, layout.best, layout.lower, layout.parent, delta, uId, layout.u32, margin, checkMask)
      : k.primStep(t0, r, head, headBytes, tail, tailBytes, layout.u64, layout.best, layout.lower, layout.parent, delta, uId);
  const id = Int32Array.from({ length: n }, (_, i) => i);
  const from = new Int32Array(Math.max(0, n - 1));
  const to = new Int32Array(Math.max(0, n - 1));
  const weight = new Float64Array(Math.max(0, n - 1));
  let r = n;
  let uSlot = 0;
  for (let added = 0; added < n; added++) {
    const uId = id[uSlot];
    let delta = 0;
    if (added > 0) {
      from[added - 1] = parent[uSlot];
      to[added - 1] = uId;
      weight[added - 1] = Math.sqrt(best[uSlot]);
      for (let c = 0; c < m; c++) delta += (coords[index(uSlot, c)] - u64[c]) ** 2;
      delta = Math.sqrt(delta);
    }
    for (let c = 0; c < m; c++) u64[c] = coords[index(uSlot, c)];
    if (f32) u32.set(u64);
    r--;
    if (uSlot !== r) {
      moveSlot(uSlot, r);
      id[uSlot] = id[r];
      best[uSlot] = best[r];
      lower[uSlot] = lower[r];
      parent[uSlot] = parent[r];
    }
    if (r === 0) break;
    if (helper && r >= PARALLEL_MIN_SLOTS) {
      const half = r >> 1;
      helper.begin(kernel, stepArgs(half, r, delta, uId));
      const low = step(0, half, delta, uId);
      const high = helper.end();
      uSlot = best[high] < best[low] ? high : low; // ties: the lower slot, as one scan would pick
    } else {
      uSlot = step(0, r, delta, uId);
    }
  }
  helper?.stop();
  return { from, to, weight };
}

/**
 * Column indices by decreasing variance. Summing coordinates in this order makes a partial
 * distance reach a candidate's current best as early as possible: in a zoo's weight space
 * the layers with few inputs (large Kaiming variance) carry most of the distance, e.g. the
 * FFNN's 200 fc2/fc3 weights about two thirds of it, so sums over the raw layout run through
 * ~95 % of the coordinates before they can stop and sums in this order ~15 %. SVD
 * coordinates are already in about this order. The sum is over the same terms, so it is
 * still the exact distance, up to float64 rounding in a different order.
 */
function columnsBySpread({ n, dim: m, coords }: ExactPoints): Int32Array {
  const mean = new Float64Array(m);
  const spread = new Float64Array(m);
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) mean[c] += coords[i * m + c];
  for (let c = 0; c < m; c++) mean[c] /= n;
  for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) spread[c] += (coords[i * m + c] - mean[c]) ** 2;
  return Int32Array.from(spread.keys()).sort((a, b) => spread[b] - spread[a] || a - b);
}

/** SciPy-layout linkage from a spanning tree: merges in order of increasing edge weight. */
export function linkageFromTree(n: number, tree: SpanningTree): Linkage {
  const order = Array.from(tree.weight.keys()).sort((a, b) => tree.weight[a] - tree.weight[b] || a - b);
  const uf = new UnionFind(n);
  const clusterId = Int32Array.from({ length: n }, (_, i) => i); // id of the cluster whose root is i
  const size = new Int32Array(n).fill(1);
  const z = new Float64Array((n - 1) * 4);
  order.forEach((e, i) => {
    const ra = uf.find(tree.from[e]);
    const rb = uf.find(tree.to[e]);
    const [ia, ib] = [clusterId[ra], clusterId[rb]];
    const root = uf.union(ra, rb);
    const merged = size[ra] + size[rb];
    size[root] = merged;
    clusterId[root] = n + i;
    z.set([Math.min(ia, ib), Math.max(ia, ib), tree.weight[e], merged], i * 4);
  });
  return { n, z };
}

/** Single linkage of the given points (exact). */
export function singleLinkage(points: ExactPoints, options: LinkageOptions = {}): { linkage: Linkage; tree: SpanningTree } {
  const tree = minimumSpanningTree(points, options);
  return { linkage: linkageFromTree(points.n, tree), tree };
}

/**
 * Flat clusters after the first n - count merges (SciPy's fcluster 'maxclust' when heights
 * are distinct). Labels 0..count-1, numbered by first appearance.
 */
export function cutTree(linkage: Linkage, count: number): Int32Array {
  const { n, z } = linkage;
  if (!Number.isInteger(count) || count < 1 || count > n) throw new RangeError(`cannot cut ${n} points into ${count} clusters`);
  const uf = new UnionFind(2 * n - 1);
  for (let i = 0; i < n - count; i++) {
    uf.union(z[i * 4], n + i);
    uf.union(z[i * 4 + 1], n + i);
  }
  const labels = new Int32Array(n);
  const seen = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const root = uf.find(i);
    if (!seen.has(root)) seen.set(root, seen.size);
    labels[i] = seen.get(root)!;
  }
  return labels;
}

/** Height of the merge at which each point first joins another cluster. */
export function joinHeights(linkage: Linkage): Float64Array {
  const { n, z } = linkage;
  const h = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) {
    for (const c of [z[i * 4], z[i * 4 + 1]]) if (c < n) h[c] = z[i * 4 + 2];
  }
  return h;
}

class UnionFind {
  private readonly parent: Int32Array;
  private readonly rank: Uint8Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.rank = new Uint8Array(n);
  }
  find(a: number): number {
    let root = a;
    while (this.parent[root] !== root) root = this.parent[root];
    while (this.parent[a] !== root) {
      const next = this.parent[a];
      this.parent[a] = root;
      a = next;
    }
    return root;
  }
  /** Joins the sets of a and b; returns the new root. */
  union(a: number, b: number): number {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return ra;
    if (this.rank[ra] < this.rank[rb]) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    if (this.rank[ra] === this.rank[rb]) this.rank[ra]++;
    return ra;
  }
}
