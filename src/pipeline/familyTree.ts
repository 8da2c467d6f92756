/**
 * Family trees of a bag of models with no history (`lineage --infer`): which models descend
 * from a common ancestor (families), and within each family every model's parent, or root.
 * docs/provenance.md gives the method and what it was measured on.
 *
 * 1. Every pair is compared as provenance.ts compares A and B (aligned tensors, z per
 *    tensor), and tested: against references (independent models of the architecture, as
 *    provenance's null) or, without them, against the bag itself (each model's similarities
 *    to the bag's lower half, most of a bag being unrelated to any one model: approximate).
 * 2. Families: the pairs whose p-value clears alpha over the number of pairs (Bonferroni:
 *    one false link joins two families, so the chance of any is what is bounded) link their
 *    models, when one of the two is among the other's `neighbours` most similar models (a
 *    model's relatives are its nearest; the references' null runs light in the far tail for
 *    a bag of models fine-tuned unlike them, and this keeps stray pairs out); a family is a
 *    connected set.
 * 3. Within a family, aligned to one of its members, the tree is the minimum spanning
 *    arborescence (cluster/arborescence.ts) of costs: the pair's dissimilarity (the most
 *    similar pair's summed z less this pair's, over the weight tensors: a bias or norm holds
 *    too few values for its correlation to place a model), plus a direction term: a child
 *    whose weights (at canonical scale) have grown against its parent's costs
 *    `directionWeight` times the log growth (fine-tuning on a new task shrinks weights: what
 *    the new task does not need fades, and weight decay pulls every step).
 * 4. Drift: a family's fine-tunes move alike (continued training pulls every child of a model
 *    the same way, which makes siblings look nearer each other than their parent). The mean
 *    displacement, child less parent, over the tree's edges is that drift; each child less
 *    the drift is compared with its candidate parents again, and the tree solved again,
 *    `driftRounds` times. docs/provenance.md gives what each step measured on the bench.
 * Checkpoints known to be later than others (one run's epochs) cannot be their parents.
 */
import { minimumArborescence } from '../cluster/arborescence.ts';
import { UnionFind } from '../cluster/unionFind.ts';
import { option } from '../core/errors.ts';
import {
  fisherZ,
  correlation,
  ProvenanceError,
  referenceNull,
  testAgainst,
  type ReferenceNull,
  type SharedView,
} from '../identify/provenance.ts';
import { alignTo } from '../identify/symmetry.ts';

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
  /** The models at canonical scale and unit order in the view's shared layout, model i at i * size. */
  models: Float32Array;
  view: SharedView;
}

export interface FamilyTreeOptions {
  /** Family-wise error rate of the links that join families (default 0.01): each pair is held to alpha / pairs. */
  alpha?: number;
  /** Weight of the direction term (default 10). */
  directionWeight?: number;
  /** Times the drift is estimated and the tree solved again (default 3). */
  driftRounds?: number;
  /** A link needs one of its models among the other's this many most similar (default 10). */
  neighbours?: number;
  /** [earlier, later] model pairs of one run: the later is never the earlier's parent. */
  knownOrder?: [number, number][];
}

export const FAMILY_TREE_DEFAULTS = {
  alpha: 0.01,
  directionWeight: 10,
  driftRounds: 3,
  neighbours: 10,
} as const;

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
  /** The p-value pairs had to stay below to link: alpha / pairs. */
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

export function familyTrees(input: FamilyTreeInput, options: FamilyTreeOptions = {}): FamilyTrees {
  const { n } = input;
  const alpha = options.alpha ?? FAMILY_TREE_DEFAULTS.alpha;
  const weight = options.directionWeight ?? FAMILY_TREE_DEFAULTS.directionWeight;
  const rounds = options.driftRounds ?? FAMILY_TREE_DEFAULTS.driftRounds;
  if (!(alpha > 0 && alpha < 1))
    throw new ProvenanceError(`${option('alpha')} must lie between 0 and 1, got ${alpha}`);
  if (!(weight >= 0))
    throw new ProvenanceError(`${option('directionWeight')} must be 0 or more, got ${weight}`);
  if (!(Number.isInteger(rounds) && rounds >= 0))
    throw new ProvenanceError(`${option('driftRounds')} must be a whole number, 0 or more, got ${rounds}`);
  const p = pairPValues(input);
  const linkAlpha = alpha / Math.max(1, (n * (n - 1)) / 2);
  const near = nearest(input, options.neighbours ?? FAMILY_TREE_DEFAULTS.neighbours);
  const sets = new UnionFind(n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (p[i * n + j] < linkAlpha && (near[i].has(j) || near[j].has(i))) sets.union(i, j);
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < n; i++) byRoot.set(sets.find(i), [...(byRoot.get(sets.find(i)) ?? []), i]);
  const families = [...byRoot.values()].sort((a, b) => a[0] - b[0]);
  const family = new Int32Array(n);
  families.forEach((members, f) => members.forEach((i) => (family[i] = f)));

  const later = new Set((options.knownOrder ?? []).map(([e, l]) => `${l}>${e}`));
  const parent = new Int32Array(n).fill(-1);
  const confidence = new Float64Array(n).fill(NaN);
  const pValue = new Float64Array(n).fill(NaN);
  for (const members of families) {
    if (members.length === 1) continue;
    const tree = familyTree(input, members, { weight, rounds, later });
    members.forEach((v, b) => {
      const pa = tree.parent[b];
      if (pa < 0) return;
      parent[v] = members[pa];
      pValue[v] = p[members[pa] * n + v];
      confidence[v] = tree.confidence[b];
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

/** Each model's `k` most similar models by summed z over the weight tensors. */
function nearest(input: FamilyTreeInput, k: number): Set<number>[] {
  const { n, pairZ, view } = input;
  const L = view.architecture.params.length;
  const weights = view.architecture.params.map((t) => t.shape.length > 1);
  const placed = weights.some(Boolean) ? weights : weights.map(() => true);
  return Array.from({ length: n }, (_, i) => {
    const sim = (j: number) => {
      let s = 0;
      for (let l = 0; l < L; l++) if (placed[l]) s += pairZ[(i * n + j) * L + l];
      return s;
    };
    const others = [...Array(n).keys()].filter((j) => j !== i);
    const score = new Map(others.map((j) => [j, sim(j)]));
    return new Set(others.sort((a, b) => score.get(b)! - score.get(a)!).slice(0, k));
  });
}

/** One family's tree (steps 3 and 4): parents and confidences by position in `members`. */
function familyTree(
  input: FamilyTreeInput,
  members: number[],
  o: { weight: number; rounds: number; later: Set<string> },
): { parent: Int32Array; confidence: Float64Array } {
  const { view } = input;
  const size = view.architecture.size;
  const m = members.length;
  const weights = view.architecture.params.filter((t) => t.shape.length > 1);
  const placing = weights.length ? weights : view.architecture.params;
  const permutation = { ...view.symmetries, scale: false };
  const first = input.models.subarray(members[0] * size, (members[0] + 1) * size);
  // the family in one frame: every member aligned to the first
  const x = members.map((i) =>
    i === members[0]
      ? first
      : alignTo(permutation, input.models.subarray(i * size, (i + 1) * size), first).weights,
  );
  const norm = x.map((w) => Math.sqrt(w.reduce((s, v) => s + v * v, 0)));
  const shifted = new Float32Array(size);
  let drift = new Float64Array(size);
  let tree = { parent: new Int32Array(m), confidence: new Float64Array(m) };
  const L = view.architecture.params.length;
  const placed = view.architecture.params.map((t) => placing.includes(t));
  for (let round = 0; round <= o.rounds; round++) {
    const similarity = new Float64Array(m * m);
    let top = -Infinity;
    for (let b = 0; b < m; b++) {
      for (let k = 0; k < size; k++) shifted[k] = x[b][k] - drift[k];
      for (let a = 0; a < m; a++) {
        if (a === b) continue;
        let s = 0;
        // the first round reads each pair aligned on its own (the pairs' z), nearer than a
        // frame shared by the family; the drift's rounds need that frame
        if (round === 0) {
          const at = (members[a] * input.n + members[b]) * L;
          for (let l = 0; l < L; l++) if (placed[l]) s += input.pairZ[at + l];
        } else for (const t of placing) s += fisherZ(correlation(shifted, x[a], t.offset, t.size));
        similarity[a * m + b] = s;
        top = Math.max(top, s);
      }
    }
    const costs = new Float64Array(m * m).fill(Infinity);
    for (let a = 0; a < m; a++)
      for (let b = 0; b < m; b++) {
        if (a === b || o.later.has(`${members[a]}>${members[b]}`)) continue;
        const growth = Math.log(norm[b] / norm[a]);
        costs[a * m + b] =
          top - similarity[a * m + b] + o.weight * Math.max(0, Number.isFinite(growth) ? growth : 0);
      }
    const parent = minimumArborescence({ n: m, costs, rootCost: new Float64Array(m) }).parent;
    // the chosen parent's share of a softmax over every candidate parent's -cost
    const confidence = Float64Array.from(parent, (pa, b) => {
      if (pa < 0) return NaN;
      let total = 0;
      for (let a = 0; a < m; a++) if (a !== b) total += Math.exp(costs[pa * m + b] - costs[a * m + b]);
      return 1 / total;
    });
    tree = { parent, confidence };
    drift = new Float64Array(size);
    let edges = 0;
    parent.forEach((pa, b) => {
      if (pa < 0) return;
      edges++;
      for (let k = 0; k < size; k++) drift[k] += x[b][k] - x[pa][k];
    });
    for (let k = 0; k < size; k++) drift[k] /= Math.max(1, edges);
  }
  return tree;
}
