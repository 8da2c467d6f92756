/**
 * MoTHer (Horwitz, Shul and Hoshen, "Unsupervised Model Tree Heritage Recovery", ICLR 2025),
 * written here from the paper's description only, as the provenance bench's peer for family
 * trees: its code's licence is research-only and the method has a patent application, so
 * nothing of it is in src/.
 *
 * As the paper describes it:
 * (a) cluster the models into Model Trees by their pairwise weight distances;
 * (b) per cluster, a distance matrix D for placing edges (for full fine-tuning, a distance of
 *     the layers' weights: here the sum over tensors of each tensor's L2 distance, in the
 *     models' own unit order, as the paper compares weights without aligning them), and a
 *     binary direction matrix K from the weights' kurtosis (fine-tuning lowers outliers: an
 *     edge from a model of lower kurtosis to one of higher costs extra);
 * (c) the minimum directed spanning tree (Chu-Liu-Edmonds) of M = D + lambda K.
 * Where the description leaves a choice, the bench makes it in MoTHer's favour: the number of
 * trees is given to the clustering (ours is not told it), and lambda is the cluster's median
 * distance, so that direction decides among edges of similar length.
 */
import { minimumArborescence } from '../../src/cluster/arborescence.ts';
import type { Architecture } from '../../src/core/architectures.ts';

/** Kurtosis (fourth standardised moment) of a tensor's entries, averaged over tensors. */
function kurtosis(arch: Architecture, w: Float32Array): number {
  let total = 0;
  for (const p of arch.params) {
    let mean = 0;
    for (let k = p.offset; k < p.offset + p.size; k++) mean += w[k];
    mean /= p.size;
    let m2 = 0;
    let m4 = 0;
    for (let k = p.offset; k < p.offset + p.size; k++) {
      const d = (w[k] - mean) ** 2;
      m2 += d;
      m4 += d * d;
    }
    m2 /= p.size;
    m4 /= p.size;
    total += m2 > 0 ? m4 / (m2 * m2) : 0;
  }
  return total / arch.params.length;
}

function layerDistance(arch: Architecture, a: Float32Array, b: Float32Array): number {
  let total = 0;
  for (const p of arch.params) {
    let s = 0;
    for (let k = p.offset; k < p.offset + p.size; k++) s += (a[k] - b[k]) ** 2;
    total += Math.sqrt(s);
  }
  return total;
}

/** Average-linkage agglomeration into `clusters` groups (step (a)). */
function cluster(D: Float64Array, n: number, clusters: number): number[][] {
  let groups = Array.from({ length: n }, (_, i) => [i]);
  const link = (x: number[], y: number[]) => {
    let s = 0;
    for (const i of x) for (const j of y) s += D[i * n + j];
    return s / (x.length * y.length);
  };
  while (groups.length > clusters) {
    let best = [0, 1];
    let bestD = Infinity;
    for (let a = 0; a < groups.length; a++)
      for (let b = a + 1; b < groups.length; b++) {
        const d = link(groups[a], groups[b]);
        if (d < bestD) [bestD, best] = [d, [a, b]];
      }
    groups = [
      ...groups.filter((_, k) => k !== best[0] && k !== best[1]),
      [...groups[best[0]], ...groups[best[1]]].sort((x, y) => x - y),
    ];
  }
  return groups;
}

/** MoTHer's trees of the models: each model's parent (-1: a root) and its cluster. */
export function motherTrees(
  arch: Architecture,
  models: Float32Array[],
  trees: number,
): { parent: Int32Array; family: Int32Array } {
  const n = models.length;
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) D[i * n + j] = D[j * n + i] = layerDistance(arch, models[i], models[j]);
  const kurt = models.map((w) => kurtosis(arch, w));
  const parent = new Int32Array(n).fill(-1);
  const family = new Int32Array(n);
  cluster(D, n, trees).forEach((members, f) => {
    members.forEach((i) => (family[i] = f));
    const m = members.length;
    if (m < 2) return;
    const within = members
      .flatMap((i, a) => members.slice(a + 1).map((j) => D[i * n + j]))
      .sort((x, y) => x - y);
    const lambda = within[within.length >> 1];
    const costs = new Float64Array(m * m).fill(Infinity);
    members.forEach((u, a) =>
      members.forEach((v, b) => {
        if (a !== b) costs[a * m + b] = D[u * n + v] + (kurt[u] < kurt[v] ? lambda : 0);
      }),
    );
    minimumArborescence({ n: m, costs, rootCost: new Float64Array(m) }).parent.forEach((p, b) => {
      if (p >= 0) parent[members[b]] = members[p];
    });
  });
  return { parent, family };
}
