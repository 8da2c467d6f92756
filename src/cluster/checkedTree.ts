/** The checked-candidate method of spanningTree.ts: the cycle property tested on every pair, in blocks. */
import type { ThreadTeam } from '../simd/helperThread.ts';
import { reserve, type SimdKernels } from '../simd/kernels.ts';
import { rowDistance } from '../reduce/distances.ts';
import { simdThreads } from '../util/threads.ts';
import { segmentsOf, writeSegments, type ExactPoints, type SpanningTree } from './pointLayout.ts';
import { UnionFind } from './unionFind.ts';

/**
 * The minimum spanning tree from a candidate tree by the cycle property (see the top of this
 * file). Points are laid out in the order of the leaves of the candidate's dendrogram, so the
 * longest edge on the candidate's path between the i-th and j-th leaf is the largest merge
 * height between consecutive leaves from i to j, a running maximum in the checkBlocks kernel.
 */
export function checkedTree(
  kernels: SimdKernels,
  points: ExactPoints,
  order: Int32Array,
  candidate: SpanningTree,
  team: () => ThreadTeam,
): SpanningTree {
  const { rows: n, cols: m, data: x } = points;
  const distance = (a: number, b: number) => rowDistance(x, a, b, m);
  const exactCandidate = {
    ...candidate,
    weight: Float64Array.from(candidate.from, (a, e) => distance(a, candidate.to[e])),
  };
  const { leaves, gaps } = dendrogramOrder(n, exactCandidate);
  const seg = segmentsOf(points);
  const blocks = Math.ceil(n / 4);
  const cap = Math.max(16 * n, 1 << 16); // records per output buffer; drained whenever a scan stops for room
  const threads = team();
  // one side per thread, each with its own scratch and output buffer
  const sides = simdThreads('treePoints', n, threads.size);
  const scratch = { u64: 4 * seg.mPad * 8, u32: 4 * seg.mPad * 4, c64: seg.mPad * 8, c32: seg.mPad * 4 };
  const perSide = (p: number) => ({
    [`out${p}`]: 16 + cap * 16,
    [`u64_${p}`]: scratch.u64,
    [`u32_${p}`]: scratch.u32,
    [`c64_${p}`]: scratch.c64,
    [`c32_${p}`]: scratch.c32,
  });
  const at = reserve(kernels, {
    head: n * seg.headBytes,
    tail: n * seg.tailBytes,
    cHead: blocks * seg.headBytes,
    cTail: blocks * seg.tailBytes,
    rad: blocks * 8,
    gap: n * 8,
    ...Object.assign({}, ...Array.from({ length: sides }, (_, p) => perSide(p))),
  }) as Record<string, number> & Record<'head' | 'tail' | 'cHead' | 'cTail' | 'rad' | 'gap', number>;
  const coords = writeSegments(kernels, at.head, points, order, (t) => leaves[t]);
  setBlockCentres(kernels, at, points, seg, coords);
  new Float64Array(kernels.memory.buffer, at.gap, n - 1).set(gaps);

  // the candidate edges and every pair that might replace one, as point ids and squared distances
  const pairs: { a: number[]; b: number[]; s: number[] } = { a: [], b: [], s: [] };
  const drain = (out: number) => {
    const count = new Int32Array(kernels.memory.buffer, out, 1);
    const ints = new Int32Array(kernels.memory.buffer, out + 16, count[0] * 4);
    const floats = new Float64Array(kernels.memory.buffer, out + 16, count[0] * 2);
    for (let r = 0; r < count[0]; r++) {
      pairs.a.push(leaves[ints[r * 4]]);
      pairs.b.push(leaves[ints[r * 4 + 1]]);
      pairs.s.push(floats[r * 2 + 1]);
    }
    count[0] = 0;
  };
  const f32 = seg.f32 ? 1 : 0;
  const args = (I0: number, I1: number, p: number) => ({
    I0,
    I1,
    n,
    head: at.head,
    headBytes: seg.headBytes,
    tail: at.tail,
    tailBytes: seg.tailBytes,
    gap: at.gap,
    cHead: at.cHead,
    cTail: at.cTail,
    rad: at.rad,
    u64: at[`u64_${p}`],
    u32: at[`u32_${p}`],
    c64: at[`c64_${p}`],
    c32: at[`c32_${p}`],
    f32,
    margin: seg.margin,
    checkMask: seg.checkMask,
    out: at[`out${p}`],
    cap,
  });
  // block I pairs with the blocks after it, so the work of blocks 0..s-1 grows as B s - s^2 / 2:
  // side p ends where that reaches (p + 1) / sides of the whole
  const ends = Array.from({ length: sides }, (_, p) =>
    p === sides - 1 ? blocks : Math.round(blocks * (1 - Math.sqrt(1 - (p + 1) / sides))),
  );
  const next = ends.map((_, p) => (p === 0 ? 0 : ends[p - 1]));
  for (let p = 0; p < sides; p++) new Int32Array(kernels.memory.buffer, at[`out${p}`], 1)[0] = 0;
  while (next.some((I, p) => I < ends[p])) {
    // each side scans until its output buffer is full, then all are drained
    const found = threads.run(
      'checkBlocks',
      next.map((I, p) => (I < ends[p] ? args(I, ends[p], p) : null)),
    );
    found.forEach((I, p) => {
      if (!Number.isNaN(I)) next[p] = I;
    });
    for (let p = 0; p < sides; p++) drain(at[`out${p}`]);
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
  kernels: SimdKernels,
  at: { cHead: number; rad: number },
  points: ExactPoints,
  seg: ReturnType<typeof segmentsOf>,
  coords: Float32Array | Float64Array,
): void {
  const { rows: n, cols: m } = points;
  const blocks = Math.ceil(n / 4);
  const centres = seg.f32
    ? new Float32Array(kernels.memory.buffer, at.cHead, blocks * seg.mPad)
    : new Float64Array(kernels.memory.buffer, at.cHead, blocks * seg.mPad);
  centres.fill(0);
  const centreIndex = segmentsOf({ ...points, rows: blocks }).index;
  const radius = new Float64Array(kernels.memory.buffer, at.rad, blocks);
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
