/**
 * The paper's measures of how well clusters recover runs (section 3.2, Tables 2-3).
 *
 * Purity of cluster C: (checkpoints of C's dominant run) / |C|, the dominant run being the
 * one with most checkpoints in C (ties: lowest run id). `purityMean` averages it over
 * clusters (the paper's number); `purityGlobal` weights clusters by size.
 *
 * Epoch order: in each cluster, the dominant run's checkpoints are ordered by a key,
 * largest first, giving a predicted epoch sequence P_1..P_m; the truth is the same epochs
 * sorted ascending, T_1..T_m. Then
 *   ordered initial epochs = max { j : P_i = T_i for all i <= j }      (mean over clusters)
 *   ordered pairs          = #{ i < m : P_i < P_{i+1} } / (m - 1)     (pooled over clusters:
 *                            sum of ordered pairs / sum of pairs; per-cluster mean also given)
 *   ordered successors     = #{ i < m : P_{i+1} = P_i + 1 } / (m - 1)   (pooled; a stricter
 *                            reading of the paper's "% of ordered epoch-to-epoch sequences")
 */

export interface PurityResult {
  clusters: number;
  purityMean: number;
  purityGlobal: number;
  /** Dominant run of each cluster. */
  dominantRun: Int32Array;
}

export function clusterPurity(labels: Int32Array, run: Int32Array): PurityResult {
  const clusters = Math.max(...labels) + 1;
  const counts = new Map<number, number>(); // cluster * 2^20 + run -> count
  const sizes = new Int32Array(clusters);
  for (let i = 0; i < labels.length; i++) {
    const key = labels[i] * 1048576 + run[i];
    counts.set(key, (counts.get(key) ?? 0) + 1);
    sizes[labels[i]]++;
  }
  const dominantRun = new Int32Array(clusters).fill(-1);
  const dominantCount = new Int32Array(clusters);
  for (const [key, count] of counts) {
    const c = Math.floor(key / 1048576);
    const r = key - c * 1048576;
    if (count > dominantCount[c] || (count === dominantCount[c] && r < dominantRun[c])) {
      dominantCount[c] = count;
      dominantRun[c] = r;
    }
  }
  let mean = 0;
  let dominantTotal = 0;
  for (let c = 0; c < clusters; c++) {
    mean += dominantCount[c] / sizes[c];
    dominantTotal += dominantCount[c];
  }
  return { clusters, purityMean: mean / clusters, purityGlobal: dominantTotal / labels.length, dominantRun };
}

export interface OrderResult {
  /** Mean over clusters of the number of ordered initial epochs. */
  orderedInitialEpochs: number;
  /** Pooled fraction of ordered consecutive pairs. */
  orderedPairs: number;
  /** Mean over clusters of each cluster's fraction of ordered pairs (clusters with >= 2 members). */
  orderedPairsMean: number;
  /** Pooled fraction of consecutive pairs that are exact successors (epoch e followed by e + 1). */
  orderedSuccessors: number;
}

/**
 * Epoch-order recovery. `key(i, members)` gives the ordering key of checkpoint i among the
 * dominant run's members of its cluster; members are sorted by decreasing key (ties by row).
 */
export function epochOrder(
  labels: Int32Array,
  run: Int32Array,
  epoch: Int32Array,
  dominantRun: Int32Array,
  key: (i: number, members: number[]) => number,
): OrderResult {
  const members: number[][] = Array.from({ length: dominantRun.length }, () => []);
  for (let i = 0; i < labels.length; i++) if (run[i] === dominantRun[labels[i]]) members[labels[i]].push(i);
  let initialSum = 0;
  let ordered = 0;
  let pairs = 0;
  let pairFractionSum = 0;
  let successors = 0;
  let clustersWithPairs = 0;
  for (const m of members) {
    const keys = new Map(m.map((i) => [i, key(i, m)]));
    const predicted = [...m].sort((a, b) => keys.get(b)! - keys.get(a)! || a - b).map((i) => epoch[i]);
    const truth = [...predicted].sort((a, b) => a - b);
    let prefix = 0;
    while (prefix < predicted.length && predicted[prefix] === truth[prefix]) prefix++;
    initialSum += prefix;
    let good = 0;
    for (let i = 0; i + 1 < predicted.length; i++) {
      if (predicted[i] < predicted[i + 1]) good++;
      if (predicted[i + 1] === predicted[i] + 1) successors++;
    }
    if (predicted.length >= 2) {
      ordered += good;
      pairs += predicted.length - 1;
      pairFractionSum += good / (predicted.length - 1);
      clustersWithPairs++;
    }
  }
  return {
    orderedInitialEpochs: initialSum / members.length,
    orderedPairs: pairs ? ordered / pairs : NaN,
    orderedPairsMean: clustersWithPairs ? pairFractionSum / clustersWithPairs : NaN,
    orderedSuccessors: pairs ? successors / pairs : NaN,
  };
}
