/**
 * Exact single-linkage clustering (Euclidean) through the minimum spanning tree: single
 * linkage merges in the order of MST edges sorted by weight (Gower & Ross 1969). The MST
 * comes from Prim's algorithm, O(n^2) distance evaluations at most, all in float64, with
 * two exact ways to skip work:
 *
 *  - partial distances: coordinates are summed in order (SVD coordinates come sorted by
 *    singular value, so most of the distance is in the first ones) and a candidate is
 *    dropped as soon as the partial sum reaches its current best; sums of non-negative
 *    float64 terms never decrease, so this never drops a closer point;
 *  - triangle inequality: d(u', v) >= d(u, v) - d(u, u') bounds a point's distance to the
 *    newly added u' from its distance to the previous one, so most points are passed over
 *    with one subtraction (with a 1e-12 relative margin for rounding).
 *
 * Each step's scan runs in the SIMD kernels of kernels.wat, split between the main thread and
 * a helper thread (primHelper.mjs) on large inputs.
 */

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KERNELS_MODULE, simdKernels } from './simdProducts.ts';

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
 * Minimum spanning tree by Prim's algorithm. Both variants keep the points not yet in the
 * tree compacted at the front of a working copy of their coordinates (swap-remove on
 * insertion), so every step scans memory sequentially and an early exit touches only the
 * first cache lines of a row; and both keep, per point, a lower bound on its distance to the
 * point added last (triangle inequality: d(u', v) >= d(u, v) - d(u, u')), so most points are
 * passed over with one subtraction.
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

/** Each Prim step runs in the primStep SIMD kernel (kernels.wat); the bookkeeping stays here. */
function exactTree(points: ExactPoints, options: LinkageOptions): SpanningTree {
  const { n, dim: m } = points;
  const f32 = points.coords instanceof Float32Array; // float32 rows: primStepF32, half the memory traffic
  const bytesPerValue = f32 ? 4 : 8;
  const mPad = Math.ceil(m / 8) * 8; // zero columns add nothing to a distance
  const k = simdKernels();
  const at = { coords: 64, u: 64 + Math.ceil((n * mPad * bytesPerValue) / 64) * 64 };
  const layout = { best: at.u + mPad * 8, lower: at.u + mPad * 8 + n * 8, parent: at.u + mPad * 8 + 2 * n * 8 };
  const top = layout.parent + n * 4;
  const pages = Math.ceil(top / 65536) - k.memory.buffer.byteLength / 65536;
  if (pages > 0) k.memory.grow(pages);
  const buf = k.memory.buffer;
  const coords = f32 ? new Float32Array(buf, at.coords, n * mPad) : new Float64Array(buf, at.coords, n * mPad); // slot t holds point id[t]
  const u = new Float64Array(buf, at.u, mPad);
  const best = new Float64Array(buf, layout.best, n).fill(Infinity);
  const lower = new Float64Array(buf, layout.lower, n).fill(0);
  const parent = new Int32Array(buf, layout.parent, n).fill(-1);
  if (mPad === m) coords.set(points.coords.subarray(0, n * m));
  else for (let i = 0; i < n; i++) coords.set(points.coords.subarray(i * m, (i + 1) * m), i * mPad);
  const step = f32 ? k.primStepF32 : k.primStep;
  const threads = options.threads ?? (availableParallelism() >= 2 && n >= PARALLEL_MIN_POINTS ? 2 : 1);
  const helper = threads === 2 ? PrimHelper.start(k.memory, f32) : null;
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
      for (let c = 0; c < m; c++) delta += (coords[uSlot * mPad + c] - u[c]) ** 2;
      delta = Math.sqrt(delta);
    }
    u.set(coords.subarray(uSlot * mPad, (uSlot + 1) * mPad));
    r--;
    if (uSlot !== r) {
      coords.copyWithin(uSlot * mPad, r * mPad, (r + 1) * mPad);
      id[uSlot] = id[r];
      best[uSlot] = best[r];
      lower[uSlot] = lower[r];
      parent[uSlot] = parent[r];
    }
    if (r === 0) break;
    const args = [at.coords, r, mPad * bytesPerValue, at.u, layout.best, layout.lower, layout.parent, delta, uId] as const;
    if (helper && r >= PARALLEL_MIN_SLOTS) {
      const half = r >> 1;
      helper.begin(half, args);
      const low = step(0, args[0], half, ...args.slice(2) as [number, number, number, number, number, number, number]);
      const high = helper.end();
      uSlot = best[high] < best[low] ? high : low; // ties: the lower slot, as one scan would pick
    } else {
      uSlot = step(0, ...args);
    }
  }
  helper?.stop();
  return { from, to, weight };
}

/** The helper thread of a parallel Prim step (primHelper.mjs), driven through a shared control block. */
class PrimHelper {
  private seq = 0;
  private constructor(
    private readonly worker: Worker,
    private readonly ctl: Int32Array,
    private readonly delta: Float64Array,
  ) {}

  /** Starts the helper on `memory`; null if it is not running within 2 s (then one thread does all). */
  static start(memory: WebAssembly.Memory, f32: boolean): PrimHelper | null {
    const control = new SharedArrayBuffer(128);
    const ctl = new Int32Array(control, 0, 16);
    ctl[3] = f32 ? 1 : 0;
    const worker = new Worker(new URL('./primHelper.mjs', import.meta.url), { workerData: { module: KERNELS_MODULE, memory, control } });
    worker.unref();
    const deadline = performance.now() + 2000;
    while (Atomics.load(ctl, 2) !== 1) {
      if (performance.now() > deadline) {
        void worker.terminate();
        return null;
      }
    }
    return new PrimHelper(worker, ctl, new Float64Array(control, 64, 1));
  }

  /** Hands slots `from`..r-1 of this step to the helper. */
  begin(from: number, [coords, r, rowBytes, u, best, lower, parent, delta, uId]: readonly number[]): void {
    const c = this.ctl;
    c[5] = from;
    c[6] = coords;
    c[7] = r;
    c[8] = rowBytes;
    c[9] = u;
    c[10] = best;
    c[11] = lower;
    c[12] = parent;
    c[13] = uId;
    this.delta[0] = delta;
    Atomics.store(c, 0, ++this.seq);
  }

  /** Waits (spinning: a step takes microseconds) for the helper's slot with the smallest best. */
  end(): number {
    while (Atomics.load(this.ctl, 1) !== this.seq);
    return this.ctl[4];
  }

  stop(): void {
    Atomics.store(this.ctl, 0, -1);
    void this.worker.terminate();
  }
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
