/**
 * Forks and p-values on a real (tiny) zoo: a checkpoint forked from a run and trained on a
 * changed task is a `fork` of that run at its branch epoch; the p-value's null (the samples'
 * permuted copies) is recomputed by brute force over every segment; p-values of seeds the index does not hold are uniform (KS
 * test at 0.05); the evaluation's sets and baselines on the same zoo.
 */
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.ts';
import { FORK_ALPHA, identify } from '../src/identify/identify.ts';
import { evaluateIdentify } from '../src/identify/evaluate.ts';
import { segmentDistance } from '../src/identify/trajectory.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { disguisedCopy, symmetriesOf } from '../src/identify/symmetry.ts';
import { STRANGER_COPIES, STRANGER_COPY_SEED } from '../src/identify/alignedSearch.ts';
import { zooRowIndex } from '../src/core/zoo.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { trainFurther, trainFurtherJobs } from '../src/train/trainFurther.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';

// 40 indexed runs: the null's samples are nearly alike within a run, so its resolution comes from the runs
const [RUNS, KNOWN, EPOCHS] = [80, 40, 8];
let dir: string;
let zoo: Zoo;
let index: ZooIndex;
const row = (run: number, epoch: number) =>
  zoo.weights.slice((epoch * zoo.runs + run) * zoo.dim, (epoch * zoo.runs + run + 1) * zoo.dim);

/** Distance from w to run r's trajectory (all epochs), every segment measured. */
function bruteDistance(w: Float32Array, r: number): number {
  let best = Infinity;
  for (let e = 0; e < zoo.epochs; e++)
    best = Math.min(best, segmentDistance(w, 0, row(r, e), 0, row(r, e + 1), 0, zoo.dim).distance);
  return best;
}

beforeAll(async () => {
  dir = join(tempDir(), 'ffnn');
  await trainZoo({ dir, config: tinyConfig('ffnn', { seedCount: RUNS, epochs: EPOCHS, trainSize: 1000 }) });
  zoo = loadZoo(dir);
  index = ZooIndex.build(zoo, { runs: (r) => r < KNOWN });
}, 120_000);

describe('forks', () => {
  it('calls a checkpoint forked from a run and trained on a changed task a fork of that run, at its branch epoch', () => {
    for (const task of ['permuted-labels', 'rotated'] as const) {
      const [, two] = trainFurther(zoo, { runs: [2, 7], from: 3, epochs: 2, task });
      two.forEach((w, i) => {
        const id = identify(index, w);
        expect([id.verdict, id.run], task).toEqual(['fork', [2, 7][i]]);
        // nearer the branch than a continuation would be (epoch 5)
        expect(Math.abs(id.epoch - 3), task).toBeLessThan(2);
        expect(id.pValue).toBeLessThan(FORK_ALPHA);
        // off the trajectory by more than a member may be
        expect(id.stepsAway).toBeGreaterThan(index.calibration.memberRatio);
      });
    }
  });

  it('trains the same forks on worker threads as in process, bit for bit', async () => {
    const options = [
      { runs: [1, 4], from: 2, epochs: 2, task: 'rotated' as const },
      { runs: [6], from: 5, epochs: 1, learningRate: 0.01, batchSize: 32, reinitLast: true },
    ];
    const threaded = await trainFurtherJobs(zoo, options, 2);
    options.forEach((o, i) => expect(threaded[i]).toEqual(trainFurther(zoo, o)));
    // a re-initialised last layer ends farther from the run's than one trained on without it
    const last = zoo.manifest.architecture.params.at(-1)!;
    const lastDistance = (w: Float32Array) => {
      let sq = 0;
      for (let j = last.offset; j < last.offset + last.size; j++) sq += (w[j] - row(6, 5)[j]) ** 2;
      return Math.sqrt(sq);
    };
    const [[kept]] = trainFurther(zoo, { ...options[1], reinitLast: false });
    expect(lastDistance(threaded[1][0][0])).toBeGreaterThan(2 * lastDistance(kept));
  });

  it('prints the fork with its branch epoch and p-value (CLI, safetensors input)', () => {
    const [w] = trainFurther(zoo, { runs: [5], from: 4, epochs: 1, task: 'permuted-labels' })[0];
    const file = join(dir, '..', 'fork.safetensors');
    writeFileSync(
      file,
      safetensorsBytes(
        zoo.manifest.architecture.params.map((p) => ({
          name: p.name,
          shape: p.shape,
          values: Array.from(w.subarray(p.offset, p.offset + p.size)),
          dtype: 'F32',
        })),
      ),
    );
    // the CLI's index holds every run: a fresh p-value over all 80
    const text = runCliSync('identify', [file, '--zoo', dir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /verdict {5}FORK: fork of run 5 \(seed 5\), branched at epoch \d\.\d\d, moved \d+\.\d\d step lengths since/,
    );
    expect(text.stdout).toMatch(
      /null {8}H0: the checkpoint is not from run 5 [\s\S]*ranked among \d+ calibration margins [^\n]*\np-value {5}p [<=] \S+.*; significant at 0\.001( \(by the fitted tail\))?: the null is rejected/,
    );
    const json = JSON.parse(runCliSync('identify', [file, '--zoo', dir, '--json']).stdout);
    expect([json.verdict, json.run]).toEqual(['fork', 5]);
    expect(json.pValue).toBeLessThan(FORK_ALPHA);
  });
});

describe('p-values', () => {
  it("holds the log margins of the samples' permuted copies among the other runs as the null, against brute force", () => {
    // every checkpoint is a sample when the samples outnumber them; plain distances only
    const plain = ZooIndex.build(zoo, { runs: (r) => r < KNOWN, align: false });
    const { nullMargins, nullSamples, nullLogMargin } = plain.calibration;
    expect(nullSamples).toBe(STRANGER_COPIES * KNOWN * (EPOCHS + 1));
    const sym = symmetriesOf(zoo.manifest.architecture);
    const expected: number[] = [];
    for (let r = 0; r < KNOWN; r++)
      for (let e = 0; e <= EPOCHS; e++) {
        const rng = new Rng(STRANGER_COPY_SEED, zooRowIndex(zoo.runs, r, e));
        for (let c = 0; c < STRANGER_COPIES; c++) {
          const copy = disguisedCopy(sym, row(r, e), rng, { permute: true, scale: false });
          const d = Array.from({ length: KNOWN }, (_, s) => (s === r ? Infinity : bruteDistance(copy, s)));
          d.sort((a, b) => a - b);
          expected.push(Math.log(d[1] / d[0]));
        }
      }
    expected.sort((a, b) => a - b);
    expect(nullMargins).toHaveLength(expected.length);
    nullMargins.forEach((m, i) => expect(m).toBeCloseTo(expected[i], 6));
    expect(nullLogMargin).toBeCloseTo(expected.reduce((a, b) => a + b, 0) / expected.length, 6);
  });

  it('gives a query its rank among the null margins, and an exponential tail past the top 5 %', () => {
    const { nullMargins, nullLogMargin: mean } = index.calibration;
    const n = nullMargins.length;
    const sorted = [...nullMargins].sort((a, b) => a - b);
    const above = Math.ceil(0.05 * n); // samples at or above u
    const u = sorted[n - above];
    // written again from docs/identify.md's formula
    const expected = (x: number) =>
      x > u
        ? ((1 + above) / (n + 1)) * Math.exp(-(x - u) / mean)
        : (1 + nullMargins.filter((m) => m >= x).length) / (n + 1);
    const logMargin = (w: Float32Array) => {
      const d = Array.from({ length: KNOWN }, (_, s) => bruteDistance(w, s)).sort((a, b) => a - b);
      return Math.log(d[1] / d[0]);
    };
    // strangers in the body and in the tail (about 1 in 20 lands past u), and a fork far beyond
    const strangers = Array.from({ length: (RUNS - KNOWN) * (EPOCHS + 1) }, (_, i) =>
      row(KNOWN + (i % (RUNS - KNOWN)), Math.floor(i / (RUNS - KNOWN))),
    );
    const xs = strangers.map(logMargin);
    const body = strangers.filter((_, i) => xs[i] <= u).slice(0, 3);
    const tail = strangers.filter((_, i) => xs[i] > u).slice(0, 3);
    expect(body).toHaveLength(3);
    expect(tail).toHaveLength(3);
    const fork = trainFurther(zoo, { runs: [2], from: 3, epochs: 2, task: 'rotated' })[1][0];
    for (const w of [...body, ...tail, fork]) {
      const p = expected(logMargin(w));
      const got = identify(index, w, { align: false }).pValue;
      expect(Math.log(got), `p ${got} against ${p}`).toBeCloseTo(Math.log(p), 8);
    }
    // the tail's p is not the rank's: past u the rank would stop at (1 + #above) / (n + 1)
    const x = logMargin(tail[0]);
    expect(expected(x)).not.toBeCloseTo((1 + nullMargins.filter((m) => m >= x).length) / (n + 1), 6);
  });

  it.each([false, true])(
    'is uniform on the seeds the index does not hold (permuted copies: %s; Kolmogorov-Smirnov at 0.05)',
    (permuted) => {
      // one checkpoint per seed, at a random epoch: a seed's checkpoints are not independent draws
      const rng = new Rng(2026, 15);
      const sym = symmetriesOf(zoo.manifest.architecture);
      const p: number[] = [];
      for (let r = KNOWN; r < RUNS; r++) {
        const w = row(r, rng.nextInt(EPOCHS + 1));
        const query = permuted ? disguisedCopy(sym, w, rng, { permute: true, scale: false }) : w;
        p.push(identify(index, query).pValue);
      }
      p.sort((a, b) => a - b);
      const n = p.length;
      const below = Math.max(...p.map((v, i) => (i + 1) / n - v)); // excess of small p-values
      const above = Math.max(...p.map((v, i) => v - i / n));
      if (permuted) {
        // the null is sampled from unpermuted checkpoints, and a permuted stranger lies a little
        // farther from every run: its p-values are conservative, never too small (one-sided
        // KS, asymptotic 5 % critical value 1.224 / sqrt(n))
        expect(below, `one-sided KS statistic ${below} over ${n} p-values`).toBeLessThan(
          1.224 / Math.sqrt(n),
        );
      } else {
        // two-sided KS, asymptotic 5 % critical value 1.358 / sqrt(n)
        const ks = Math.max(below, above);
        expect(ks, `KS statistic ${ks} over ${n} p-values`).toBeLessThan(1.358 / Math.sqrt(n));
      }
      // for a calibrated p, 3 or more of 40 below 0.01 has a chance under 1 %
      expect(p.filter((v) => v < 0.01).length).toBeLessThanOrEqual(2);
    },
  );
});

describe('evaluation', () => {
  it('answers every set three ways on one index: identify, previous identify and plain L2', async () => {
    // a zoo of its own, small enough for the evaluation's thousands of queries
    const small = join(dir, '..', 'small');
    await trainZoo({ dir: small, config: tinyConfig('ffnn', { seedCount: 12, epochs: 6, trainSize: 1000 }) });
    const result = await evaluateIdentify(loadZoo(small), () => {}, { forkRuns: 2 });
    const set = (name: string) => result.rows.find((r) => r.set.startsWith(name))!;
    expect(set('unknown seeds').identify.verdictRate).toBeGreaterThanOrEqual(0.95);
    expect(set('held-out').identify.verdictRate).toBeGreaterThanOrEqual(0.95);
    // a changed task: a fork of the right run, which identify before forks could not say
    const labels = set('fork: labels permuted, +1');
    expect(labels.queries).toBe(2 * 2); // 2 runs x branch epochs 2 and 5
    expect([labels.identify.runAccuracy, labels.identify.verdictRate, labels.previous.verdictRate]).toEqual([
      1, 1, 0,
    ]);
    // permuted copies: named through alignment, missed by the plain search and by plain L2
    const permuted = set('permuted');
    expect([permuted.identify.runAccuracy, permuted.identify.verdictRate]).toEqual([1, 1]);
    expect(permuted.plainL2.runAccuracy).toBeLessThan(0.5);
    expect(permuted.plainL2.verdictRate).toBeNull();
  }, 120_000);
});
