/**
 * Provenance from weights alone (identify/provenance.ts, identify/familyTree.ts): the
 * p-value's null on 1,000 pairs of independently initialised models, power on fine-tuned
 * ones, invariance to permuted and rescaled hidden units (the copies checked to compute the
 * same outputs), heads replaced or cut, unrelated architectures, and a family tree of
 * 1 + 2 + 4 models recovered exactly beside an unrelated model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { architecture } from '../src/core/architectures.ts';
import { keepOutputs, networkOf } from '../src/core/network.ts';
import { Rng } from '../src/core/rng.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { logNormalTail, provenance, tensorLogP, type ModelWeights } from '../src/identify/provenance.ts';
import { disguisedCopy, symmetriesOf } from '../src/identify/symmetry.ts';
import { holmAdjusted, inferFromModels, type NamedModel } from '../src/pipeline/provenance.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { weightsSha256 } from '../src/store/sha256.ts';
import { forward } from '../src/train/forward.ts';
import { trainFurther, trainFurtherJobs } from '../src/train/trainFurther.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { tempDir, tinyConfig } from './helpers.ts';

const last = (zoo: Zoo, run: number) => checkpointWeights(zoo, run, zoo.epochs).slice();
const model = (zoo: Zoo, weights: Float32Array): ModelWeights => ({
  architecture: zoo.manifest.architecture,
  weights,
  network: networkOf(zoo.manifest.architecture),
});

/** Kolmogorov-Smirnov distance of a sample from the uniform on [0, 1]. */
function ksDistance(ps: number[]): number {
  const s = [...ps].sort((a, b) => a - b);
  return s.reduce((d, x, i) => Math.max(d, (i + 1) / s.length - x, x - i / s.length), 0);
}

describe('the p-value under the null (independently initialised pairs)', () => {
  let zoo: Zoo;
  const PAIRS = 1000;
  const POOL = 2000;
  beforeAll(async () => {
    const dir = tempDir('prov-null-');
    // 4,000 FFNNs, each its own seed: A's, B's and a pool of references trained alike, large
    // enough that the pairs share few references (a shared few would move every p together)
    await trainZoo({
      dir,
      config: tinyConfig('ffnn', { seedCount: 2 * PAIRS + POOL, epochs: 2, trainSize: 1000 }),
    });
    zoo = loadZoo(dir);
  }, 300_000);

  it('is uniform on 1,000 pairs (KS at 5 %) and below 0.01 on at most 2 % of them', () => {
    const rng = new Rng(20261207);
    const ps: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      // 39 references drawn from the pool for each pair
      const refs = Array.from(rng.permutation(POOL).subarray(0, 39), (k) => last(zoo, 2 * PAIRS + k));
      ps.push(provenance(model(zoo, last(zoo, i)), model(zoo, last(zoo, PAIRS + i)), { references: refs }).p);
    }
    // the two-sided KS test at 5 % with n = 1000 rejects a distance above 1.358 / sqrt(n) = 0.043
    expect(ksDistance(ps)).toBeLessThan(1.358 / Math.sqrt(PAIRS));
    // at 0.01 a valid test has 10 expected; 20 or more happens with probability < 0.5 % under Binomial(1000, 0.01)
    expect(ps.filter((p) => p < 0.01).length).toBeLessThan(20);
  }, 300_000);

  it("has power: fine-tunes of 2 epochs on renamed labels, from 30 of the A's, all get p < 0.01", () => {
    const runs = Array.from({ length: 30 }, (_, i) => i);
    const [tuned] = [trainFurther(zoo, { runs, epochs: 2, task: 'permuted-labels' })];
    const refs = Array.from({ length: 39 }, (_, k) => last(zoo, 2 * PAIRS + k));
    const ps = runs.map(
      (r, i) => provenance(model(zoo, last(zoo, r)), model(zoo, tuned[1][i]), { references: refs }).p,
    );
    expect(Math.max(...ps)).toBeLessThan(0.01);
  }, 120_000);
});

describe('provenance of a CNN (units permuted and rescaled, heads replaced or cut)', () => {
  let zoo: Zoo;
  let refs: Float32Array[];
  let tuned: Float32Array;
  beforeAll(async () => {
    const dir = tempDir('prov-cnn-');
    await trainZoo({ dir, config: tinyConfig('cnn', { seedCount: 42, epochs: 3, trainSize: 1000 }) });
    zoo = loadZoo(dir);
    refs = Array.from({ length: 40 }, (_, k) => last(zoo, 2 + k));
    [[, [tuned]]] = [trainFurther(zoo, { runs: [0], epochs: 2, task: 'rotated' })];
  }, 300_000);

  it('gives the same p for a permuted copy, and for a permuted and rescaled one to 1e-6, which compute the same outputs', () => {
    const net = networkOf(zoo.manifest.architecture)!;
    const sym = symmetriesOf(zoo.manifest.architecture);
    expect(sym.scale).toBe(true); // LeakyReLU is positively homogeneous
    const rng = new Rng(3);
    const permuted = disguisedCopy(sym, tuned, rng, { permute: true, scale: false });
    const rescaled = disguisedCopy(sym, tuned, rng, { permute: true, scale: true });
    // the copies are the same function: their outputs on 64 test images agree
    const { test } = loadMnist({ trainSize: 1, testSize: 64 });
    const out = forward(net, tuned, test.images, 64);
    for (const copy of [permuted, rescaled]) {
      const o = forward(net, copy, test.images, 64);
      o.forEach((v, i) => expect(v).toBeCloseTo(out[i], 4));
    }
    expect(permuted.some((v, i) => v !== tuned[i])).toBe(true);
    const p = (w: Float32Array) =>
      provenance(model(zoo, last(zoo, 0)), model(zoo, w), { references: refs }).p;
    const p0 = p(tuned);
    expect(p0).toBeLessThan(0.01);
    expect(p(permuted)).toBe(p0);
    expect(Math.abs(Math.log(p(rescaled)) - Math.log(p0))).toBeLessThan(1e-6 * Math.abs(Math.log(p0)) + 1e-9);
    // an independent model (run 1) is not derived
    expect(p(last(zoo, 1))).toBeGreaterThan(0.01);
  });

  it('leaves a head cut to 5 classes out and still finds the derivation; a re-initialised head carries none of it', () => {
    const arch = zoo.manifest.architecture;
    const classes = [0, 2, 4, 6, 8];
    const [[, [fresh]]] = [trainFurther(zoo, { runs: [0], epochs: 2, task: { classes }, reinitLast: true })];
    const cut = keepOutputs(networkOf(arch)!, arch, fresh, classes);
    // the cut head computes the kept classes' outputs of the whole one
    const { test } = loadMnist({ trainSize: 1, testSize: 16 });
    const full = forward(networkOf(arch)!, fresh, test.images, 16);
    const part = forward(cut.network, cut.weights, test.images, 16);
    for (let s = 0; s < 16; s++)
      classes.forEach((c, k) => expect(part[s * 5 + k]).toBeCloseTo(full[s * 10 + c], 10));
    const r = provenance(model(zoo, last(zoo, 0)), cut, { references: refs });
    expect(r.verdict).toBe('derived');
    expect(r.resized).toEqual(['fc.weight (A [10, 8], B [5, 8])']);
    expect(r.tensors.map((t) => t.name).sort()).toEqual(['conv1.weight', 'conv2.weight']);
    const whole = provenance(model(zoo, last(zoo, 0)), model(zoo, fresh), { references: refs });
    expect(whole.verdict).toBe('derived');
    expect(whole.tensors.at(-1)!.name).toBe('fc.weight'); // the new head: the least evidence
  });

  it('calls other architectures unrelated, and refuses too few references', () => {
    const ffnn = architecture('ffnn');
    const other: ModelWeights = {
      architecture: ffnn,
      weights: new Float32Array(ffnn.size),
      network: networkOf(ffnn),
    };
    const r = provenance(model(zoo, last(zoo, 0)), other, { references: refs });
    expect(r.verdict).toBe('unrelated architectures');
    expect(r.note).toBe('hidden layer conv1.weight [16, 1, 3, 3] of A is fc1.weight [10, 196] in B');
    expect(() =>
      provenance(model(zoo, last(zoo, 0)), model(zoo, tuned), { references: refs.slice(0, 3) }),
    ).toThrow(/at least 9 models trained as A was/);
  });
});

describe('family trees of a bag of models (lineage --infer)', () => {
  it('recovers a tree of 1 root + 2 children + 4 grandchildren exactly, an unrelated model apart, units of a third permuted', async () => {
    const dir = tempDir('prov-tree-');
    await trainZoo({ dir, config: tinyConfig('ffnn', { seedCount: 40, epochs: 6, trainSize: 2000 }) });
    const zoo = loadZoo(dir);
    const root = last(zoo, 0);
    const tasks = [
      { labelShift: 3, share: 0.8, seed: 1 },
      { quarterTurns: 1, share: 0.7, seed: 2 },
    ];
    const children = (
      await trainFurtherJobs(
        zoo,
        tasks.map((task, k) => ({
          runs: [0],
          epochs: 2,
          task,
          startWeights: [root],
          learningRateScale: 0.3,
          dataSeed: () => 100 + k,
        })),
        2,
      )
    ).map((e) => e.at(-1)![0]);
    const grand = await trainFurtherJobs(
      zoo,
      children.flatMap((c, k) =>
        [
          { labelShift: 7, quarterTurns: 2, share: 0.6, seed: 3 + k },
          { labelShift: 5, share: 0.9, seed: 5 + k },
        ].map((task, g) => ({
          runs: [0],
          epochs: 2,
          task,
          startWeights: [c],
          learningRateScale: 0.3,
          dataSeed: () => 200 + 2 * k + g,
        })),
      ),
      2,
    );
    const nodes = [root, ...children, ...grand.map((e) => e.at(-1)![0]), last(zoo, 1)];
    const truth = [-1, 0, 0, 1, 1, 2, 2, -1];
    const sym = symmetriesOf(zoo.manifest.architecture);
    const rng = new Rng(5);
    const bag: NamedModel[] = nodes.map((w, i) => {
      const weights = i % 3 === 1 ? disguisedCopy(sym, w, rng, { permute: true, scale: false }) : w;
      return {
        label: `m${i}`,
        model: model(zoo, weights),
        sha256: weightsSha256(weights),
        checkpoint: null,
        file: null,
      };
    });
    const refs = Array.from({ length: 30 }, (_, k) => last(zoo, 10 + k));
    const result = await inferFromModels(bag, async () => ({ weights: refs, sha256: [], from: 'zoo runs' }), {
      workers: 2,
    });
    const { trees } = result.groups[0];
    expect(trees.families).toEqual([[0, 1, 2, 3, 4, 5, 6], [7]]);
    expect(Array.from(trees.parent)).toEqual(truth);
    trees.parent.forEach((p, i) => {
      if (p < 0) return;
      expect(trees.pValue[i]).toBeLessThan(trees.linkAlpha);
      expect(trees.confidence[i]).toBeGreaterThan(0);
      expect(trees.confidence[i]).toBeLessThanOrEqual(1);
    });
  }, 300_000);
});

describe('the statistics the tests rest on, against independent computations', () => {
  it('log P(Z > x) matches SciPy (norm.logsf) from -8 to 40', () => {
    // scipy.stats.norm.logsf(x), scipy 1.11
    const scipy: [number, number][] = [
      [-8, -6.220960574271742e-16],
      [-2, -0.023012909328963476],
      [0, -0.6931471805599453],
      [0.5, -1.1759117615936188],
      [1.99, -3.759496454489689],
      [2, -3.7831843336820317],
      [5, -15.064998393988727],
      [10, -53.23128515051248],
      [40, -804.6084420137539],
    ];
    for (const [x, want] of scipy) expect(logNormalTail(x)).toBeCloseTo(want, 8);
  });

  it("a tensor's evidence is the normal tail to its 95th percentile, continued with the same slope", () => {
    const u0 = 1.6448536269514722; // scipy.stats.norm.isf(0.05)
    expect(Math.exp(tensorLogP(u0))).toBeCloseTo(0.05, 12);
    const h = 1e-5;
    const left = (tensorLogP(u0) - tensorLogP(u0 - h)) / h;
    const right = (tensorLogP(u0 + h) - tensorLogP(u0)) / h;
    expect(right).toBeCloseTo(left, 3);
    expect(tensorLogP(0.5)).toBe(logNormalTail(0.5));
    expect(tensorLogP(6)).toBeGreaterThan(logNormalTail(6)); // a heavier tail than the normal's beyond
  });

  it('Holm agrees with its definition, computed by brute force', () => {
    const rng = new Rng(8);
    for (let t = 0; t < 200; t++) {
      const m = 1 + (t % 9);
      const p = Array.from({ length: m }, () => rng.nextFloat() ** 3);
      // Holm: p_adj(i) = max over j with p_j <= p_i of min(1, (m - rank_j) p_j)
      const sorted = [...p].sort((a, b) => a - b);
      const want = p.map((x) =>
        Math.max(...sorted.filter((y) => y <= x).map((y, r) => Math.min(1, (m - r) * y))),
      );
      holmAdjusted(p).forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
    }
  });
});
