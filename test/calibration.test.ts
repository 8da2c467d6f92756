/**
 * identify's p-values on strangers, with the power to fail: per zoo (an FFNN and a CNN, the
 * default preset with fewer epochs and images), 10 indexes of 40 runs each, disjoint, and 1,000
 * further seeds, each queried once against one of the indexes with one checkpoint (a seed's
 * checkpoints are not independent draws): a third as they are, a third permuted, a third
 * permuted and rescaled where the network is positively homogeneous (the CNN's leaky ReLU).
 * 2,000 strangers in all. Several indexes, because a p-value calibrated from a zoo is a
 * promise over zoos: one index's null is one draw of 40 runs.
 *
 * Claims, each asserted: at most 1 % of strangers get p < 0.01, and the exact binomial
 * (Clopper-Pearson) upper 95 % bound on that rate is at most 1.5 %; the upper bound on the
 * rate of p < FORK_ALPHA (strangers identify would call forks) is under 1 %; the p-values of
 * strangers as trained and permuted are uniform (two-sided Kolmogorov-Smirnov at 5 %, per zoo
 * and pooled), and no kind has an excess of small p-values (one-sided, rescaled copies
 * included: rescaling moves a checkpoint away from every run, so their p is conservative);
 * every aligned null is fitted from at least 100 samples. A null whose samples all tie is
 * refused.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchName } from '../src/core/architectures.ts';
import { Rng } from '../src/core/rng.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { FORK_ALPHA, identify } from '../src/identify/identify.ts';
import { CalibrationError } from '../src/identify/calibration.ts';
import { disguisedCopy, symmetriesOf } from '../src/identify/symmetry.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';
import { defineArchitecture } from '../src/core/architectures.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';

const [KNOWN, INDEXES, STRANGERS, EPOCHS] = [40, 10, 1000, 5];
const KINDS = ['as trained', 'permuted', 'permuted + rescaled'] as const;
const p: Record<string, Record<(typeof KINDS)[number], number[]>> = {};
const alignedSamples: number[] = [];

beforeAll(async () => {
  const root = tempDir('wsvc-calibration-');
  const indexed = KNOWN * INDEXES;
  for (const arch of ['ffnn', 'cnn'] as ArchName[]) {
    const dir = join(root, arch);
    await trainZoo({
      dir,
      config: tinyConfig(arch, { seedCount: indexed + STRANGERS, epochs: EPOCHS, trainSize: 1000 }),
    });
    const zoo = loadZoo(dir);
    const sym = symmetriesOf(zoo.manifest.architecture);
    const rng = new Rng(2026, arch === 'ffnn' ? 1 : 2);
    p[arch] = { 'as trained': [], permuted: [], 'permuted + rescaled': [] };
    for (let b = 0; b < INDEXES; b++) {
      const index = ZooIndex.build(zoo, { runs: (r) => r >= b * KNOWN && r < (b + 1) * KNOWN });
      alignedSamples.push(index.calibration.alignedSamples);
      for (let r = indexed + b; r < indexed + STRANGERS; r += INDEXES) {
        const w = checkpointWeights(zoo, r, rng.nextInt(EPOCHS + 1));
        const kind = KINDS[r % 3];
        const query =
          kind === 'as trained'
            ? w
            : disguisedCopy(sym, w, rng, { permute: true, scale: kind !== 'permuted' });
        p[arch][kind].push(identify(index, query).pValue);
      }
      index.close();
      // minutes of synchronous work in all: let the worker answer vitest between indexes
      await new Promise((done) => setImmediate(done));
    }
  }
}, 600_000);

/** P(X >= k) for X ~ Binomial(n, q). */
function binomialTail(k: number, n: number, q: number): number {
  if (k <= 0) return 1;
  let term = Math.pow(1 - q, n); // P(X = 0)
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= ((n - i) / (i + 1)) * (q / (1 - q));
  }
  return Math.max(0, 1 - below);
}

/** Clopper-Pearson upper 95 % bound (one-sided) on a rate with k successes in n: q with P(X <= k) = 0.05. */
function upperBound(k: number, n: number): number {
  let [lo, hi] = [k / n, 1];
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (1 - binomialTail(k + 1, n, mid) > 0.05) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The largest excess of the empirical CDF over the uniform's: D+ of the one-sided KS test. */
function excessOfSmall(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return Math.max(...s.map((v, i) => (i + 1) / s.length - v));
}

/** The two-sided KS statistic against the uniform: D = max(D+, D-). */
function ksDistance(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return Math.max(excessOfSmall(values), ...s.map((v, i) => v - i / s.length));
}

describe('p-values on 2,000 strangers', () => {
  it('the binomial bound and the KS checks fail on p-values that are too small or too large', () => {
    // the checks themselves, on draws whose answer is known: uniform, uniform / 1.5, and the
    // p-values of a test 10 % too conservative (min(1, 1.1 u))
    const rng = new Rng(7, 7);
    const uniform = Array.from({ length: 2000 }, () => rng.nextFloat());
    const tooSmall = uniform.map((u) => u / 1.5);
    const tooLarge = uniform.map((u) => Math.min(1, 1.1 * u));
    expect(excessOfSmall(uniform)).toBeLessThan(1.224 / Math.sqrt(2000));
    expect(excessOfSmall(tooSmall)).toBeGreaterThan(1.224 / Math.sqrt(2000));
    expect(ksDistance(uniform)).toBeLessThan(1.358 / Math.sqrt(2000));
    expect(excessOfSmall(tooLarge)).toBeLessThan(1.224 / Math.sqrt(2000));
    expect(ksDistance(tooLarge)).toBeGreaterThan(1.358 / Math.sqrt(2000));
    expect(upperBound(20, 2000)).toBeGreaterThan(0.0135); // 1 % observed: the bound is above it
    expect(upperBound(20, 2000)).toBeLessThan(0.0155);
    expect(upperBound(0, 2000)).toBeCloseTo(1 - Math.pow(0.05, 1 / 2000), 6);
  });

  it('at most 1 % of strangers get p < 0.01, with an upper 95 % bound of at most 1.5 %', () => {
    const all = Object.values(p).flatMap((byKind) => Object.values(byKind).flat());
    expect(all.length).toBe(2 * STRANGERS);
    const below = all.filter((v) => v < 0.01).length;
    expect(below / all.length).toBeLessThanOrEqual(0.01);
    expect(upperBound(below, all.length)).toBeLessThanOrEqual(0.015);
    for (const [arch, byKind] of Object.entries(p))
      for (const [kind, values] of Object.entries(byKind))
        expect(values.filter((v) => v < 0.01).length / values.length, `${arch}, ${kind}`).toBeLessThanOrEqual(
          0.02,
        );
  });

  it(`calls fewer than 1 % of strangers forks (p < ${FORK_ALPHA}), upper 95 % bound`, () => {
    const all = Object.values(p).flatMap((byKind) => Object.values(byKind).flat());
    expect(upperBound(all.filter((v) => v < FORK_ALPHA).length, all.length)).toBeLessThan(0.01);
  });

  it('gives uniform p-values to strangers as trained and permuted (two-sided KS at 5 %, per zoo and pooled)', () => {
    // asymptotic 5 % critical value of D: 1.358 / sqrt(n)
    const crit = (n: number) => 1.358 / Math.sqrt(n);
    const unscaled = (byKind: (typeof p)[string]) => [...byKind['as trained'], ...byKind.permuted];
    for (const [arch, byKind] of Object.entries(p))
      expect(ksDistance(unscaled(byKind)), arch).toBeLessThan(crit(unscaled(byKind).length));
    const all = Object.values(p).flatMap(unscaled);
    expect(ksDistance(all)).toBeLessThan(crit(all.length));
  });

  it('gives no kind an excess of small p-values (one-sided KS at 5 %, per zoo and kind, and pooled)', () => {
    // asymptotic 5 % critical value of D+: sqrt(-ln(0.05) / 2) / sqrt(n) = 1.224 / sqrt(n)
    const crit = (n: number) => 1.224 / Math.sqrt(n);
    for (const [arch, byKind] of Object.entries(p))
      for (const [kind, values] of Object.entries(byKind))
        expect(excessOfSmall(values), `${arch}, ${kind}`).toBeLessThan(crit(values.length));
    const all = Object.values(p).flatMap((byKind) => Object.values(byKind).flat());
    expect(excessOfSmall(all)).toBeLessThan(crit(all.length));
  });

  it('fits every aligned null from at least 100 aligned samples', () => {
    expect(alignedSamples).toHaveLength(2 * INDEXES);
    for (const n of alignedSamples) expect(n).toBeGreaterThanOrEqual(100);
  });
});

describe('a degenerate null', () => {
  it('is refused, in one line, and identify writes no index', async () => {
    // runs 1 and 2 are one run saved twice: every sample of run 0 lies as far from both
    const dir = join(tempDir('wsvc-degenerate-'), 'zoo', 'copies');
    const arch = defineArchitecture('walk', 'a random walk', [{ name: 'w', shape: [50] }]);
    const writer = await ZooWriter.open(dir, arch, { runs: 3 });
    const rng = new Rng(3, 3);
    const walks = [0, 1].map(() => {
      let w = Float32Array.from({ length: 50 }, () => rng.nextNormal());
      return Array.from({ length: 6 }, () => (w = w.map((v) => v + 0.1 * rng.nextNormal())));
    });
    for (let epoch = 0; epoch < 6; epoch++)
      for (const [run, walk] of [walks[0], walks[1], walks[1]].entries())
        await writer.append({ run, epoch, step: epoch, weights: walk[epoch] });
    await writer.close();
    expect(() => ZooIndex.build(loadZoo(dir))).toThrow(CalibrationError);
    const before = treeFingerprint(dir);
    const r = runCliSync('identify', [
      join(dir, 'checkpoints', 'epoch-0003.arrow'),
      '--run',
      '0',
      '--zoo',
      dir,
    ]);
    expect(r.code).toBe(2);
    const errors = r.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^error: cannot calibrate p-values: all \d+ calibration samples lie exactly as far from two other runs \(log margin 0\), so the runs are copies of one another; give a zoo of independent runs$/,
    );
    expect(treeFingerprint(dir)).toEqual(before);
  });
});
