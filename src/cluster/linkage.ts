/**
 * Exact single-linkage clustering (Euclidean) through the minimum spanning tree: single
 * linkage merges in the order of MST edges sorted by weight (Gower & Ross 1969). The tree
 * comes from spanningTree.ts (exact, pruned Prim or a checked candidate tree). Output in
 * SciPy's linkage-matrix layout, flat clusters by cutting it, and join heights.
 */
import {
  minimumSpanningTree,
  type ExactPoints,
  type SpanningTree,
  type SpanningTreeOptions,
} from './spanningTree.ts';
import { UnionFind } from './unionFind.ts';
import { UserError } from '../core/errors.ts';

export { minimumSpanningTree };
export type { ExactPoints, SpanningTree } from './spanningTree.ts';
/** Options of the spanning tree under the linkage (threads, method); see spanningTree.ts. */
export type LinkageOptions = SpanningTreeOptions;

export interface Linkage {
  n: number;
  /** (n-1) x 4, row-major, SciPy's layout: [a, b, height, size]; merge i creates cluster n+i. */
  z: Float64Array;
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
export function singleLinkage(
  points: ExactPoints,
  options: LinkageOptions = {},
): { linkage: Linkage; tree: SpanningTree } {
  const tree = minimumSpanningTree(points, options);
  return { linkage: linkageFromTree(points.rows, tree), tree };
}

/**
 * Flat clusters after the first n - count merges (SciPy's fcluster 'maxclust' when heights
 * are distinct). Labels 0..count-1, numbered by first appearance.
 */
export function cutTree(linkage: Linkage, count: number): Int32Array {
  const { n, z } = linkage;
  if (!Number.isInteger(count) || count < 1 || count > n)
    throw new UserError(`cannot cut ${n} points into ${count} clusters`);
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

/**
 * The leaves from left to right as a dendrogram draws the tree (SciPy's leaves_list): the
 * root's left subtree, then its right, each in turn.
 */
export function leafOrder(linkage: Linkage): Int32Array {
  const { n, z } = linkage;
  const order = new Int32Array(n);
  if (n === 1) return order;
  let at = 0;
  const stack = [2 * n - 2];
  while (stack.length) {
    const node = stack.pop()!;
    if (node < n) order[at++] = node;
    else stack.push(z[(node - n) * 4 + 1], z[(node - n) * 4]); // right below left: left comes out first
  }
  return order;
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
