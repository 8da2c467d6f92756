/** Purity and epoch-order measures on hand-built examples with known answers. */
import { describe, expect, it } from 'vitest';
import { clusterPurity, epochOrder } from '../src/analysis/metrics.ts';
import { clusterZoo } from '../src/analysis/clusterZoo.ts';
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
    expect(Array.from(clusterPurity(Int32Array.from([0, 0]), Int32Array.from([3, 1])).dominantRun)).toEqual([1]);
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

  it('rejects k beyond the zoo and zoos with a single run', () => {
    expect(() => clusterZoo(syntheticZoo(3, 2, 20), { svd: 50 })).toThrow(/SVD-50 is larger than the zoo allows: 9 checkpoints x 20 weights/);
    expect(() => clusterZoo(syntheticZoo(1, 5, 20), { svd: 2 })).toThrow(/has 1 run; clustering needs at least 2 runs/);
  });
});
