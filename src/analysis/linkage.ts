/**
 * Exact single-linkage clustering (Euclidean) through the minimum spanning tree: single
 * linkage merges in the order of MST edges sorted by weight (Gower & Ross 1969). The MST
 * comes from Prim's algorithm, O(n^2) distance evaluations at most, with exact pruning:
 *
 *  - partial distances: coordinates are summed in order (SVD coordinates come sorted by
 *    singular value, so most of the distance is in the first ones) and a candidate is
 *    dropped as soon as the partial sum reaches its current best; sums of non-negative
 *    float64 terms never decrease, so this never drops a closer point;
 *  - full space: with an orthonormal basis V (k x d) and p = V x, r = x - V^T p,
 *    d(a,b)^2 = |p_a - p_b|^2 + |r_a - r_b|^2 >= |p_a - p_b|^2 + (|r_a| - |r_b|)^2,
 *    a lower bound in k dimensions (with a small margin for rounding); the exact
 *    d-dimensional distance is computed only when the bound cannot exclude the pair.
 */

export interface Linkage {
  n: number;
  /** (n-1) x 4, row-major, SciPy's layout: [a, b, height, size]; merge i creates cluster n+i. */
  z: Float64Array;
}

/** Points whose pairwise distances are exact in their own coordinates (e.g. SVD-k coordinates). */
export interface ExactPoints {
  n: number;
  dim: number;
  coords: Float64Array; // n x dim
}

/** Full-space points (float32 rows) with a k-dimensional projection for lower bounds. */
export interface ProjectedPoints {
  n: number;
  dim: number;
  x: Float32Array; // n x dim
  k: number;
  /** n x k: projection of each row (minus the column mean, if any) on an orthonormal basis. */
  proj: Float64Array;
  residualNorm: Float64Array; // |r| = sqrt(max(0, |x - mean|^2 - |p|^2))
  norm: Float64Array; // |x - mean|, for the rounding margin
}

export interface SpanningTree {
  /** Edge i joins from[i] and to[i] at Euclidean distance weight[i], in the order Prim added them. */
  from: Int32Array;
  to: Int32Array;
  weight: Float64Array;
  /** Pairs whose exact distance was computed in full (not pruned): a measure of pruning. */
  exactEvaluations: number;
}

const CHECK_EVERY = 8; // coordinates between early-exit checks in k dimensions
const CHECK_EVERY_FULL = 128; // ... and in the full space

/**
 * Minimum spanning tree by Prim's algorithm; pass ProjectedPoints for the full space with pruning.
 * The points not yet in the tree are kept compacted at the front of a working copy of the
 * coordinates (swap-remove on insertion), so every step scans memory sequentially and an
 * early exit touches only the first cache lines of a row.
 */
export function minimumSpanningTree(points: ExactPoints | ProjectedPoints): SpanningTree {
  const { n } = points;
  const full = 'x' in points ? points : null;
  const m = full ? full.k : points.dim;
  const d = points.dim;
  const coords = Float64Array.from(full ? full.proj : (points as ExactPoints).coords); // slot t holds point id[t]
  const id = Int32Array.from({ length: n }, (_, i) => i);
  const best = new Float64Array(n).fill(Infinity); // by slot: squared distance to the tree
  // by slot: a lower bound on the distance to the point added last (triangle inequality:
  // d(u', v) >= d(u, v) - d(u, u')), so most points are passed over with one subtraction
  const lower = new Float64Array(n);
  const uPrev = new Float64Array(m);
  const parent = new Int32Array(n).fill(-1); // by slot
  const uCoords = new Float64Array(m);
  const from = new Int32Array(Math.max(0, n - 1));
  const to = new Int32Array(Math.max(0, n - 1));
  const weight = new Float64Array(Math.max(0, n - 1));
  let exactEvaluations = 0;
  // the tree starts with point 0 (slot 0): move it out of the remaining slots 0..r-1
  let r = n;
  let uSlot = 0;
  let prevId = 0;
  for (let step = 0; step < n; step++) {
    const u = id[uSlot];
    if (step > 0) {
      from[step - 1] = parent[uSlot];
      to[step - 1] = u;
      weight[step - 1] = Math.sqrt(best[uSlot]);
    }
    // distance from the previous tree point to the new one: how much every bound loosens
    let delta = 0;
    if (step > 0) {
      uPrev.set(uCoords);
      delta = full ? Math.sqrt(exactSquaredDistance(full.x, id[uSlot] * d, prevId * d, d, Infinity)) : 0;
    }
    uCoords.set(coords.subarray(uSlot * m, uSlot * m + m));
    if (step > 0 && !full) {
      let dd = 0;
      for (let c = 0; c < m; c++) dd += (uCoords[c] - uPrev[c]) ** 2;
      delta = Math.sqrt(dd);
    }
    prevId = u;
    // swap-remove slot uSlot
    r--;
    if (uSlot !== r) {
      coords.copyWithin(uSlot * m, r * m, r * m + m);
      id[uSlot] = id[r];
      best[uSlot] = best[r];
      lower[uSlot] = lower[r];
      parent[uSlot] = parent[r];
    }
    if (r === 0) break;
    let argmin = 0;
    let minVal = Infinity;
    // relative safety margin for rounding when a bound excludes a point
    const SAFE = 1 + 1e-9;
    for (let t = 0; t < r; t++) {
      const limit = best[t];
      const lb = lower[t] - delta - 1e-12 * lower[t];
      if (lb > 0 && lb * lb >= limit * SAFE) {
        lower[t] = lb;
      } else {
        const ot = t * m;
        let s = 0;
        let c = 0;
        // margin for rounding in the projection (full space only): prune only if s - margin >= limit
        const margin = full ? 1e-9 * (full.norm[u] * full.norm[u] + full.norm[id[t]] * full.norm[id[t]]) : 0;
        for (; c < m; c++) {
          const diff = uCoords[c] - coords[ot + c];
          s += diff * diff;
          if ((c & (CHECK_EVERY - 1)) === CHECK_EVERY - 1 && s - margin >= limit) break;
        }
        if (c === m && full) {
          const v = id[t];
          const slack = 1e-7 * (full.norm[u] + full.norm[v]);
          const gap = Math.abs(full.residualNorm[u] - full.residualNorm[v]) - slack;
          const bound = s - margin + (gap > 0 ? gap * gap : 0);
          if (bound < limit) {
            s = exactSquaredDistance(full.x, u * d, v * d, d, limit);
            exactEvaluations++;
          } else {
            s = bound;
            c = -1;
          }
        } else if (full) s -= margin;
        lower[t] = Math.sqrt(Math.max(0, s)) * (1 - 1e-12);
        if (c === m && s < limit) {
          best[t] = s;
          parent[t] = u;
        }
      }
      if (best[t] < minVal) {
        minVal = best[t];
        argmin = t;
      }
    }
    uSlot = argmin;
  }
  if (!full) exactEvaluations = (n * (n - 1)) / 2;
  return { from, to, weight, exactEvaluations };
}

/** Squared distance of two float32 rows in float64, stopping early once it reaches `limit`. */
function exactSquaredDistance(x: Float32Array, a: number, b: number, d: number, limit: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const diff = x[a + j] - x[b + j];
    s += diff * diff;
    if ((j & (CHECK_EVERY_FULL - 1)) === CHECK_EVERY_FULL - 1 && s >= limit) return s;
  }
  return s;
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
export function singleLinkage(points: ExactPoints | ProjectedPoints): { linkage: Linkage; tree: SpanningTree } {
  const tree = minimumSpanningTree(points);
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
