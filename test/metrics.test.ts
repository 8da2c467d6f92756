/** Purity and epoch-order measures on hand-built examples with known answers. */
import { describe, expect, it } from 'vitest';
import { clusterPurity, epochOrder } from '../src/cluster/metrics.ts';
import { clusterZoo } from '../src/cluster/clusterZoo.ts';
import { syntheticZoo } from '../bench/syntheticZoo.ts';

describe('clusterPurity', () => {
  it('averages per-cluster purity (paper) and weights by size (global)', () => {
    const labels = Int32Array.from([0, 0, 0, 1, 1, 1, 1]);
    const run = Int32Array.from([4, 4, 2, 2, 2, 2, 2]);
    const p = clusterPurity(labels, run);
    expect(p.clusters).toBe(2);
    expect(Array.from(p.dominantRun)).toEqual([4, 2]);
    expect(p.purityMean).toBeCloseTo((2 / 3 + 1) / 2, 12);
    expect(p.purityGlobal).toBeCloseTo(6 / 7, 12);
  });

  it('breaks a tie for the dominant run towards the lower run id', () => {
    expect(Array.from(clusterPurity(Int32Array.from([0, 0]), Int32Array.from([3, 1])).dominantRun)).toEqual([
      1,
    ]);
  });
});

describe('epochOrder', () => {
  it('counts the ordered prefix and the ordered consecutive pairs', () => {
    // cluster 0: run 0, epochs 0..4, keys put them in order 0 1 3 2 4 (largest key first)
    // cluster 1: run 1, epochs 0..2, predicted 2 1 0; plus a checkpoint of run 0 that does not count
    const labels = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1]);
    const run = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 0]);
    const epoch = Int32Array.from([0, 1, 2, 3, 4, 0, 1, 2, 9]);
    const key = Float64Array.from([10, 9, 7, 8, 6, 1, 2, 3, 100]);
    const r = epochOrder(labels, run, epoch, Int32Array.from([0, 1]), (i) => key[i]);
    expect(r.orderedInitialEpochs).toBe((2 + 0) / 2);
    expect(r.orderedPairs).toBeCloseTo((3 + 0) / (4 + 2), 12);
    expect(r.orderedPairsMean).toBeCloseTo((3 / 4 + 0) / 2, 12);
    // successors: 0->1 yes, 1->3 no, 3->2 no, 2->4 no; 2->1 no, 1->0 no
    expect(r.orderedSuccessors).toBeCloseTo(1 / 6, 12);
  });
});

describe('clusterZoo', () => {
  it('separates well-separated trajectories perfectly and orders them by distance to the last epoch', () => {
    const zoo = syntheticZoo(5, 10, 300, 2);
    for (const svd of [0, 5]) {
      const r = clusterZoo(zoo, { svd });
      expect(r.purityMean).toBe(1);
      expect(r.purityGlobal).toBe(1);
      expect(r.order.last.orderedInitialEpochs).toBeGreaterThan(8);
      expect(r.order.last.orderedPairs).toBeGreaterThan(0.9);
      expect(r.labels.length).toBe(zoo.n);
      expect(r.linkage.n).toBe(zoo.n);
    }
  });

  it('orders epochs by both readings as worked out by hand', () => {
    // two runs of four checkpoints on a line (rows epoch-major: row = epoch * 2 + run)
    //   run 0: epochs 0..3 at 0, 3.5, 9.5, 5.5      run 1: at 100, 101, 110, 108
    // single linkage cut in 2 separates the runs (gap 90.5 against at most 7 inside a run)
    // 'last': distance to the run's epoch 3, largest first
    //   run 0: 5.5, 2, 4, 0 -> epochs 0 2 1 3 (prefix 1; ordered pairs 0<2, 1<3: 2; successors none)
    //   run 1: 8, 7, 2, 0   -> epochs 0 1 2 3 (prefix 4; 3 pairs; 3 successors)
    // 'merge': height at which each leaf first joins, largest first, ties by row
    //   run 0: e1-e3 at 2, e0 joins at 3.5, e2 at 4: keys 3.5, 2, 4, 2 -> epochs 2 0 1 3 (prefix 0; pairs 0<1, 1<3; successor 0->1)
    //   run 1: e0-e1 at 1, e2-e3 at 2:               keys 1, 1, 2, 2   -> epochs 2 3 0 1 (prefix 0; pairs 2<3, 0<1; successors 2->3, 0->1)
    const line = [0, 100, 3.5, 101, 9.5, 110, 5.5, 108];
    const zoo = { ...syntheticZoo(2, 3, 1), weights: Float32Array.from(line) };
    const r = clusterZoo(zoo, { svd: 0 });
    expect(Array.from(r.labels.slice(0, 2))).not.toEqual([r.labels[1], r.labels[1]]);
    expect(r.purityMean).toBe(1);
    expect(r.order.last).toEqual({
      orderedInitialEpochs: (1 + 4) / 2,
      orderedPairs: 5 / 6,
      orderedPairsMean: (2 / 3 + 1) / 2,
      orderedSuccessors: 3 / 6,
    });
    expect(r.order.merge.orderedInitialEpochs).toBe(0);
    expect(r.order.merge.orderedPairs).toBeCloseTo(4 / 6, 12);
    expect(r.order.merge.orderedPairsMean).toBeCloseTo(2 / 3, 12);
    expect(r.order.merge.orderedSuccessors).toBeCloseTo(3 / 6, 12);
  });

  it('rejects k beyond the zoo and zoos with a single run', () => {
    expect(() => clusterZoo(syntheticZoo(3, 2, 20), { svd: 50 })).toThrow(
      /SVD-50 needs at least 50 checkpoints and 50 weights; this zoo has 9 x 20/,
    );
    expect(() => clusterZoo(syntheticZoo(1, 5, 20), { svd: 2 })).toThrow(
      /has 1 run; clustering needs at least 2 runs/,
    );
  });
});
