/**
 * Cluster-analysis figures on a paper-scale input (12,750 checkpoints x 2,160 weights; a
 * synthetic zoo of trajectories, see syntheticZoo.ts), plus ratios against baselines run
 * here on smaller inputs (ml-hclust's agglomerative single linkage, ml-matrix's full SVD).
 */
import { agnes } from 'ml-hclust';
import { Matrix, SVD } from 'ml-matrix';
import { clusterZoo } from '../src/analysis/clusterZoo.ts';
import { singleLinkage } from '../src/analysis/linkage.ts';
import { TruncatedSVD } from '../src/analysis/svd.ts';
import { syntheticZoo } from './syntheticZoo.ts';

const round = (x: number) => +x.toFixed(3);
const seconds = (f: () => unknown) => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};

export function benchCluster(log: (msg: string) => void, options: { fullSpace: boolean }): Record<string, unknown> {
  log('cluster: paper-scale synthetic zoo (250 runs x 51 epochs x 2,160 weights)');
  const zoo = syntheticZoo(250, 50, 2160);
  const svd50 = clusterZoo(zoo, { svd: 50 });
  const report: Record<string, unknown> = {
    input: { checkpoints: zoo.n, dim: zoo.dim, runs: zoo.runs },
    svd50: {
      seconds: { svd: round(svd50.seconds.svd), linkage: round(svd50.seconds.linkage), metrics: round(svd50.seconds.metrics), total: round(svd50.seconds.total) },
      targetSeconds: 2,
      purity: round(svd50.purityMean),
    },
  };
  if (options.fullSpace) {
    log('cluster: exact single linkage in the full 2,160-dimensional space (minutes)');
    const full = clusterZoo(zoo, { svd: 0 });
    report.fullSpace = { seconds: round(full.seconds.linkage), targetSeconds: 10, scipyReferenceSeconds: 74, purity: round(full.purityMean) };
  }

  log('cluster: baselines on 1,000 points (ml-hclust single linkage) and a 2,000 x 500 matrix (ml-matrix SVD)');
  const small = syntheticZoo(20, 49, 50, 5); // 1,000 points in 50 dimensions
  const points = Array.from({ length: small.n }, (_, i) => Array.from(small.weights.subarray(i * 50, (i + 1) * 50)));
  const ours = seconds(() => singleLinkage({ n: small.n, dim: 50, coords: Float64Array.from(small.weights) }));
  const theirs = seconds(() => agnes(points, { method: 'single' }));
  const mat = syntheticZoo(40, 49, 500, 6); // 2,000 x 500
  const oursSvd = seconds(() => new TruncatedSVD({ components: 50 }).fitTransform(mat.weights, mat.n, mat.dim));
  const fullSvd = seconds(() => new SVD(Matrix.from1DArray(mat.n, mat.dim, Float64Array.from(mat.weights)), { autoTranspose: true }));
  report.baselines = {
    singleLinkage1000Points: { oursSeconds: round(ours), mlHclustSeconds: round(theirs), speedup: Math.round(theirs / ours) },
    svd2000x500k50: { oursSeconds: round(oursSvd), mlMatrixFullSvdSeconds: round(fullSvd), speedup: Math.round(fullSvd / oursSvd) },
  };
  return report;
}
