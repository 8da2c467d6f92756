/**
 * Family trees of a bag of models with no history (`lineage --infer`): which models descend
 * from a common ancestor (families), and within each family every model's parent, or root.
 * docs/provenance.md gives the method and what it was measured on.
 *
 * 1. Every pair is compared as provenance.ts compares A and B (aligned tensors, z per
 *    tensor), and tested: against references (independent models of the architecture, as
 *    provenance's null) or, without them, against the bag itself (each model's similarities
 *    to the bag's lower half, most of a bag being unrelated to any one model: approximate).
 * 2. Families: the pairs the Benjamini-Hochberg procedure keeps at false discovery rate
 *    alpha (over every pair) link their models; a family is a connected set.
 * 3. Within a family, the tree is the minimum spanning arborescence (cluster/arborescence.ts)
 *    of costs: the pair's dissimilarity (the most similar pair's summed z less this pair's),
 *    plus a direction term: a child whose tensors have grown against its parent costs
 *    `directionWeight` times the summed log growth. Fine-tuning shrinks weights (weight decay
 *    pulls every step, and what the new task does not need fades): on our zoos' fine-tunes the
 *    child's norm was the smaller on 93-100 % of edges (docs/provenance.md). Checkpoints known
 *    to be later than others (one run's epochs) cannot be their parents.
 */
import { minimumArborescence } from '../cluster/arborescence.ts';
import { UnionFind } from '../cluster/unionFind.ts';
import { option } from '../core/errors.ts';
import { ProvenanceError, referenceNull, testAgainst, type ReferenceNull } from './provenance.ts';

export interface FamilyTreeInput {
  /** Models. */
  n: number;
  /** Tensors compared. */
  tensors: number;
  /** z of model i aligned to model j, per tensor: pairZ[(i * n + j) * tensors + l] (both orders filled). */
  pairZ: Float64Array;
  /** z of reference k aligned to model j: refZ[(j * K + k) * tensors + l], or null to test against the bag. */
  refZ: Float64Array | null;
  references: number;
  /** Each model's per-tensor norms (at canonical scale), norms[i * tensors + l]. */
  norms: Float64Array;
}

export interface FamilyTreeOptions {
  /** False discovery rate of the links that join families (default 0.01). */
  alpha?: number;
  /** Weight of the direction term (default 3). */
  directionWeight?: number;
  /** [earlier, later] model pairs of one run: the later is never the earlier's parent. */
  knownOrder?: [number, number][];
}

export const FAMILY_TREE_DEFAULTS = { alpha: 0.01, directionWeight: 3 } as const;

export interface FamilyTrees {
  /** The models of each family, in index order; families by their first model. */
  families: number[][];
  /** family[i]: the index into `families` of model i's family. */
  family: Int32Array;
  /** parent[i]: model i's parent, -1 for a family's root (and a model alone). */
  parent: Int32Array;
  /** The edge into i: the chosen parent's share of a softmax over every candidate parent's -cost (NaN for roots). */
  confidence: Float64Array;
  /** The edge into i: the pair's p-value of "unrelated" (NaN for roots). */
  pValue: Float64Array;
  /** The p-value pairs had to reach to link (Benjamini-Hochberg at alpha over every pair). */
  linkAlpha: number;
  alpha: number;
  nullFrom: 'references' | 'bag';
}

/** The pair test's p-value for every pair (i < j at i * n + j), two-sided over direction (Bonferroni). */
export function pairPValues(input: FamilyTreeInput): Float64Array {
  const { n, tensors: L, pairZ, refZ, references: K } = input;
  const names = Array.from({ length: L }, (_, l) => String(l));
  const zOf = (i: number, j: number) => pairZ.subarray((i * n + j) * L, (i * n + j + 1) * L);
  // each model as the target every other is aligned to: its null, once
  const nulls: ReferenceNull[] = Array.from({ length: n }, (_, j) =>
    referenceNull(
      refZ
        ? Array.from({ length: K }, (_, k) => refZ.slice((j * K + k) * L, (j * K + k + 1) * L))
        : bagNull(n, j, zOf),
    ),
  );
  const directed = (i: number, j: number) => testAgainst(nulls[j], zOf(i, j), names).p;
  const p = new Float64Array(n * n).fill(1);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      p[i * n + j] = p[j * n + i] = Math.min(1, 2 * Math.min(directed(i, j), directed(j, i)));
  return p;
}

/**
 * Without references: the similarities to `j` of the bag's other models, the lower half by
 * summed z, as the null's samples (the upper half may hold j's family).
 */
function bagNull(n: number, j: number, zOf: (a: number, b: number) => Float64Array): Float64Array[] {
  const others = [...Array(n).keys()].filter((k) => k !== j);
  const sum = (k: number) => zOf(k, j).reduce((s, x) => s + x, 0);
  others.sort((a, b) => sum(a) - sum(b));
  return others.slice(0, Math.max(3, Math.floor(others.length / 2))).map((k) => Float64Array.from(zOf(k, j)));
}

/** The largest p-value (i < j pairs) the Benjamini-Hochberg step-up procedure keeps at level alpha; 0 when none. */
export function benjaminiHochberg(p: Float64Array, n: number, alpha: number): number {
  const values: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) values.push(p[i * n + j]);
  values.sort((a, b) => a - b);
  const m = values.length;
  let kept = 0;
  values.forEach((v, k) => {
    if (v <= ((k + 1) * alpha) / m) kept = v;
  });
  return kept;
}

export function familyTrees(input: FamilyTreeInput, options: FamilyTreeOptions = {}): FamilyTrees {
  const { n, tensors: L, pairZ, norms } = input;
  const alpha = options.alpha ?? FAMILY_TREE_DEFAULTS.alpha;
  const weight = options.directionWeight ?? FAMILY_TREE_DEFAULTS.directionWeight;
  if (!(alpha > 0 && alpha < 1))
    throw new ProvenanceError(`${option('alpha')} must lie between 0 and 1, got ${alpha}`);
  if (!(weight >= 0))
    throw new ProvenanceError(`${option('directionWeight')} must be 0 or more, got ${weight}`);
  const p = pairPValues(input);
  const linkAlpha = benjaminiHochberg(p, n, alpha);
  const sets = new UnionFind(n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (p[i * n + j] <= linkAlpha) sets.union(i, j);
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < n; i++) byRoot.set(sets.find(i), [...(byRoot.get(sets.find(i)) ?? []), i]);
  const families = [...byRoot.values()].sort((a, b) => a[0] - b[0]);
  const family = new Int32Array(n);
  families.forEach((members, f) => members.forEach((i) => (family[i] = f)));

  const similarity = (i: number, j: number) => {
    let s = 0;
    for (let l = 0; l < L; l++) s += pairZ[(i * n + j) * L + l];
    return s;
  };
  const growth = (parent: number, child: number) => {
    let g = 0;
    for (let l = 0; l < L; l++) g += Math.log(norms[child * L + l] / norms[parent * L + l]);
    return Number.isFinite(g) ? g : 0;
  };
  const later = new Set((options.knownOrder ?? []).map(([e, l]) => `${l}>${e}`));
  const parent = new Int32Array(n).fill(-1);
  const confidence = new Float64Array(n).fill(NaN);
  const pValue = new Float64Array(n).fill(NaN);
  for (const members of families) {
    const m = members.length;
    if (m === 1) continue;
    let top = -Infinity;
    for (const i of members) for (const j of members) if (i !== j) top = Math.max(top, similarity(i, j));
    const costs = new Float64Array(m * m).fill(Infinity);
    members.forEach((u, a) =>
      members.forEach((v, b) => {
        if (a === b || later.has(`${u}>${v}`)) return;
        costs[a * m + b] = top - similarity(u, v) + weight * Math.max(0, growth(u, v));
      }),
    );
    const tree = minimumArborescence({ n: m, costs, rootCost: new Float64Array(m) });
    tree.parent.forEach((pa, b) => {
      if (pa < 0) return;
      const [u, v] = [members[pa], members[b]];
      parent[v] = u;
      pValue[v] = p[u * n + v];
      let total = 0;
      for (let a = 0; a < m; a++) if (a !== b) total += Math.exp(costs[pa * m + b] - costs[a * m + b]);
      confidence[v] = 1 / total;
    });
  }
  return {
    families,
    family,
    parent,
    confidence,
    pValue,
    linkAlpha,
    alpha,
    nullFrom: input.refZ ? 'references' : 'bag',
  };
}
