/**
 * The paper's analysis of one zoo in one space (section 3.2): reduce with truncated SVD (or
 * keep the full weight space), cluster every checkpoint by exact single linkage, cut the
 * tree into as many clusters as there are runs, and measure purity and epoch order.
 */
import { matrix } from '../core/matrix.ts';
import type { Zoo } from '../store/loadZoo.ts';
import type { ZooSource } from '../store/openZoo.ts';
import { asZooSource, requireWeights, withZooMatrix } from '../reduce/zooMatrix.ts';
import { cutTree, joinHeights, singleLinkage, type Linkage } from './linkage.ts';
import { clusterPurity, epochOrder, type OrderResult } from './metrics.ts';
import { checkComponents, SVD_DEFAULTS, TruncatedSVD } from '../reduce/svd.ts';
import { UserError } from '../core/errors.ts';
import { spaceName } from '../core/zoo.ts';
import { rowDistance } from '../reduce/distances.ts';

export interface ClusterOptions {
  /** SVD dimension k; 0 analyses the full weight space. */
  svd: number;
  /** PCA instead of plain truncated SVD (default false, as the paper). */
  center?: boolean;
  /** Randomized-SVD subspace iterations (default 'auto', see TruncatedSVDOptions). */
  powerIterations?: number;
  /** Seed of the randomized SVD (default 0). */
  seed?: number;
  /**
   * Threads for the SVD passes and the linkage, or 'auto' (default: by the size of the work
   * and the cores, util/threads.ts). Results are the same bit for bit.
   */
  threads?: number | 'auto';
}

export type OrderBy = 'last' | 'merge';
export const ORDER_BY: readonly OrderBy[] = ['last', 'merge'];

export interface SpaceResult {
  /** 'full' or 'svd-<k>'. */
  space: string;
  dim: number;
  checkpoints: number;
  runs: number;
  purityMean: number;
  purityGlobal: number;
  /** Epoch order by distance to the run's last checkpoint in the cluster ('last') and by merge height ('merge'). */
  order: Record<OrderBy, OrderResult>;
  seconds: { svd: number; linkage: number; metrics: number; total: number };
  linkage: Linkage;
  labels: Int32Array;
  svd: TruncatedSVD | null;
}

/** Clusters a zoo (in memory, or streamed from its files for an SVD space) in one space. */
export function clusterZoo(input: Zoo | ZooSource, options: ClusterOptions): SpaceResult {
  const source = asZooSource(input);
  const { zoo } = source;
  const { n, dim: d } = zoo;
  const k = options.svd;
  if (!Number.isInteger(k) || k < 0)
    throw new UserError(`svd must be a non-negative integer (0: the full space), got ${k}`);
  checkComponents(k, n, d);
  if (zoo.runs < 2) throw new UserError(`the zoo has ${zoo.runs} run; clustering needs at least 2 runs`);
  const x = k > 0 ? null : requireWeights(source, 'svd');
  const t0 = performance.now();
  const svdOptions = {
    powerIterations: options.powerIterations ?? SVD_DEFAULTS.powerIterations,
    seed: options.seed ?? SVD_DEFAULTS.seed,
  };

  let svd: TruncatedSVD | null = null;
  let coords: Float32Array | null = null;
  if (k > 0) {
    svd = new TruncatedSVD({
      components: k,
      center: options.center ?? false,
      ...svdOptions,
      threads: options.threads ?? 'auto',
    });
    // float32 like the weights: the coordinates come from float32 products, so they hold no
    // more digits than that, and float32 points get the linkage's fast float32 filter
    coords = Float32Array.from(withZooMatrix(source, k, 'svd', (m) => svd!.fitTransform(m)));
  }
  const t1 = performance.now();
  const { linkage } = singleLinkage(coords ? matrix(coords, n, k) : matrix(x!, n, d), {
    threads: options.threads,
  });
  const t2 = performance.now();

  const labels = cutTree(linkage, zoo.runs);
  const purity = clusterPurity(labels, zoo.run);
  const distance = (a: number, b: number): number =>
    coords ? rowDistance(coords, a, b, k) : rowDistance(x!, a, b, d);
  const last = (members: number[]) =>
    members.reduce((best, i) => (zoo.epoch[i] > zoo.epoch[best] ? i : best), members[0]);
  const lastOf = new Map<number[], number>();
  const heights = joinHeights(linkage);
  const order = {
    last: epochOrder(labels, zoo.run, zoo.epoch, purity.dominantRun, (i, members) => {
      if (!lastOf.has(members)) lastOf.set(members, last(members));
      return distance(i, lastOf.get(members)!);
    }),
    merge: epochOrder(labels, zoo.run, zoo.epoch, purity.dominantRun, (i) => heights[i]),
  };
  const t3 = performance.now();
  return {
    space: spaceName(k),
    dim: k > 0 ? k : d,
    checkpoints: n,
    runs: zoo.runs,
    purityMean: purity.purityMean,
    purityGlobal: purity.purityGlobal,
    order,
    seconds: {
      svd: (t1 - t0) / 1000,
      linkage: (t2 - t1) / 1000,
      metrics: (t3 - t2) / 1000,
      total: (t3 - t0) / 1000,
    },
    linkage,
    labels,
    svd,
  };
}
