/**
 * Cluster-analysis figures on paper-scale inputs (12,750 checkpoints x 2,160 weights): the
 * real paper-scale FFNN zoo when zoo/ffnn-paper exists, and always a synthetic zoo of
 * trajectories (syntheticZoo.ts), plus ratios against baselines run here on smaller inputs
 * (ml-hclust's agglomerative single linkage, ml-matrix's full SVD).
 */
import { agnes } from 'ml-hclust';
import { Matrix, SVD } from 'ml-matrix';
import { clusterZoo } from '../src/cluster/clusterZoo.ts';
import { singleLinkage } from '../src/cluster/linkage.ts';
import { TruncatedSVD } from '../src/reduce/svd.ts';
import { matrix } from '../src/core/matrix.ts';
import { syntheticZoo } from './syntheticZoo.ts';
import { UMAP } from 'umap-js';
import { umapEmbedding, UMAP_DEFAULTS } from '../src/reduce/umap.ts';
import { nearestNeighbours } from '../src/reduce/knn.ts';
import { Rng } from '../src/core/rng.ts';
import { existsSync } from 'node:fs';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';

const round = (x: number) => +x.toFixed(3);
const seconds = (f: () => unknown) => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};

const PAPER_ZOO = 'zoo/ffnn-paper'; // npm run zoo -- --preset paper --arch ffnn (31 min)

/** SVD-50 pipeline three times (the first is the cold one a CLI run sees), then the full space once. */
function benchInput(zoo: Zoo, log: (msg: string) => void, fullSpace: boolean): Record<string, unknown> {
  const runs = [0, 1, 2].map(() => clusterZoo(zoo, { svd: 50 }));
  const totals = runs.map((r) => r.seconds.total);
  const median = runs.map((r, i) => [r, i] as const).sort((a, b) => totals[a[1]] - totals[b[1]])[1][0];
  const report: Record<string, unknown> = {
    checkpoints: zoo.n,
    dim: zoo.dim,
    runs: zoo.runs,
    svd50: {
      totalSecondsPerRun: totals.map(round),
      medianRun: {
        svd: round(median.seconds.svd),
        linkage: round(median.seconds.linkage),
        metrics: round(median.seconds.metrics),
        total: round(median.seconds.total),
      },
      targetSeconds: 2,
      purity: round(median.purityMean),
    },
  };
  report.umapSvd50 = benchUmap(zoo, log);
  if (fullSpace) {
    log('cluster: exact single linkage in the full 2,160-dimensional space');
    const full = clusterZoo(zoo, { svd: 0 });
    report.fullSpace = {
      seconds: round(full.seconds.linkage),
      targetSeconds: 10,
      purity: round(full.purityMean),
    };
  }
  return report;
}

/**
 * UMAP of the SVD-50 coordinates with the paper's 3 neighbours: ours against umap-js's own
 * path (NN-descent, random start, its optimiser) on the same input in the same run, and how
 * well each keeps a run together: the share of every point's 5 nearest points in the embedding
 * from its own run; ours also from umap-js's random start, which shows what the PCA start buys.
 */
function benchUmap(zoo: Zoo, log: (msg: string) => void): Record<string, unknown> {
  const coords = new TruncatedSVD({ components: 50 }).fitTransform(matrix(zoo.weights, zoo.n, zoo.dim));
  log(
    `cluster: UMAP of ${zoo.n} x 50 SVD coordinates, ${UMAP_DEFAULTS.nNeighbors} neighbours (ours, then umap-js)`,
  );
  const sameRun = (embedding: Float64Array) => {
    const knn = nearestNeighbours(matrix(embedding, zoo.n, 2), 6);
    let same = 0;
    for (let i = 0; i < zoo.n; i++)
      for (let j = 1; j < 6; j++) if (zoo.run[knn.indices[i * 6 + j]] === zoo.run[i]) same++;
    return round(same / (zoo.n * 5));
  };
  let ours = new Float64Array();
  const oursSeconds = seconds(() => (ours = umapEmbedding(matrix(coords, zoo.n, 50))));
  const oursRandomStart = umapEmbedding(matrix(coords, zoo.n, 50), { init: 'random' });
  const rows = Array.from({ length: zoo.n }, (_, i) => Array.from(coords.subarray(i * 50, (i + 1) * 50)));
  const rng = new Rng(UMAP_DEFAULTS.seed, 0x75);
  let theirs: number[][] = [];
  const umapJsSeconds = seconds(
    () =>
      (theirs = new UMAP({
        nNeighbors: UMAP_DEFAULTS.nNeighbors,
        minDist: UMAP_DEFAULTS.minDist,
        random: () => rng.nextFloat(),
      }).fit(rows)),
  );
  return {
    points: zoo.n,
    oursSeconds: round(oursSeconds),
    umapJsSeconds: round(umapJsSeconds),
    speedup: round(umapJsSeconds / oursSeconds),
    targetSeconds: 6,
    fiveNearestFromSameRun: {
      ours: sameRun(ours),
      oursRandomStart: sameRun(oursRandomStart),
      umapJs: sameRun(Float64Array.from(theirs.flat())),
    },
  };
}

export function benchCluster(
  log: (msg: string) => void,
  options: { fullSpace: boolean },
): Record<string, unknown> {
  const report: Record<string, unknown> = {};
  if (existsSync(PAPER_ZOO)) {
    log(`cluster: the paper-scale FFNN zoo in ${PAPER_ZOO}`);
    report.paperZoo = { zoo: PAPER_ZOO, ...benchInput(loadZoo(PAPER_ZOO), log, options.fullSpace) };
  } else {
    log(`cluster: no ${PAPER_ZOO} (npm run zoo -- --preset paper --arch ffnn); synthetic input only`);
  }
  log('cluster: paper-scale synthetic zoo (250 runs x 51 epochs x 2,160 weights, isotropic steps)');
  report.synthetic = benchInput(syntheticZoo(250, 50, 2160), log, options.fullSpace);

  log(
    'cluster: baselines on 1,000 points (ml-hclust single linkage) and a 2,000 x 500 matrix (ml-matrix SVD)',
  );
  const small = syntheticZoo(20, 49, 50, 5); // 1,000 points in 50 dimensions
  const points = Array.from({ length: small.n }, (_, i) =>
    Array.from(small.weights.subarray(i * 50, (i + 1) * 50)),
  );
  const ours = seconds(() => singleLinkage(matrix(Float64Array.from(small.weights), small.n, 50)));
  const theirs = seconds(() => agnes(points, { method: 'single' }));
  const mat = syntheticZoo(40, 49, 500, 6); // 2,000 x 500
  const oursSvd = seconds(() =>
    new TruncatedSVD({ components: 50 }).fitTransform(matrix(mat.weights, mat.n, mat.dim)),
  );
  const fullSvd = seconds(
    () =>
      new SVD(Matrix.from1DArray(mat.n, mat.dim, Float64Array.from(mat.weights)), { autoTranspose: true }),
  );
  report.baselines = {
    singleLinkage1000Points: {
      oursSeconds: round(ours),
      mlHclustSeconds: round(theirs),
      speedup: Math.round(theirs / ours),
    },
    svd2000x500k50: {
      oursSeconds: round(oursSvd),
      mlMatrixFullSvdSeconds: round(fullSvd),
      speedup: Math.round(fullSvd / oursSvd),
    },
  };
  return report;
}
