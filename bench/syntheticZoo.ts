/**
 * A synthetic zoo of training trajectories at any scale, for benchmarks when no real zoo is
 * at hand: each run starts at its own Kaiming-like random point and walks with shrinking
 * steps (a drift shared by all runs plus its own noise), like SGD trajectories in weight space.
 */
import type { Zoo } from '../src/store/loadZoo.ts';
import { Rng } from '../src/core/rng.ts';
import { zooRowIndex } from '../src/core/zoo.ts';
import { defineArchitecture } from '../src/core/architectures.ts';

export function syntheticZoo(runs: number, epochs: number, dim: number, seed = 1): Zoo {
  const rng = new Rng(seed, 99);
  const n = runs * (epochs + 1);
  const weights = new Float32Array(n * dim);
  const drift = Float64Array.from({ length: dim }, () => rng.nextNormal());
  const x = new Float64Array(dim);
  for (let r = 0; r < runs; r++) {
    for (let j = 0; j < dim; j++) x[j] = 0.1 * rng.nextNormal();
    for (let e = 0; e <= epochs; e++) {
      if (e > 0) {
        const step = 0.02 / Math.sqrt(e);
        for (let j = 0; j < dim; j++) x[j] += step * (0.5 * drift[j] + rng.nextNormal());
      }
      weights.set(x, zooRowIndex(runs, r, e) * dim);
    }
  }
  const rowRun = Int32Array.from({ length: n }, (_, i) => i % runs);
  const rowEpoch = Int32Array.from({ length: n }, (_, i) => Math.floor(i / runs));
  const nan = new Float64Array(n).fill(NaN);
  return {
    // one flat tensor: no hidden units, so nothing for identify to align
    manifest: {
      architecture: defineArchitecture('synthetic', `${dim} weights`, [{ name: 'w', shape: [dim] }]),
    } as never,
    n,
    dim,
    weights,
    run: rowRun,
    seed: Uint32Array.from(rowRun),
    epoch: rowEpoch,
    step: rowEpoch,
    trainLoss: nan,
    testLoss: nan,
    testAccuracy: nan,
    sha256: [],
    parentSha256: [],
    runs,
    epochs,
    digest: `synthetic-${runs}x${epochs}x${dim}-seed${seed}`,
    metrics: {},
  };
}
