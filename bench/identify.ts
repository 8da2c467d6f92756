/**
 * Identify figures: index build time and per-query time on paper-scale inputs (the real
 * paper FFNN zoo when zoo/ffnn-paper exists, always the synthetic zoo), as the CLI queries
 * (hidden units aligned to the nearest runs) and without alignment (identify before issue 15),
 * against a baseline measured here on the same queries: an exact brute-force scan of every
 * segment of every run.
 */
import { existsSync } from 'node:fs';
import { identify } from '../src/identify/identify.ts';
import { segmentDistance } from '../src/identify/trajectory.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { symmetriesOf } from '../src/identify/symmetry.ts';
import { disguisedCopy } from '../src/identify/symmetry.ts';
import { Rng } from '../src/core/rng.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { syntheticZoo } from './syntheticZoo.ts';
import { checkpointWeights, zooRowIndex } from '../src/core/zoo.ts';

const PAPER_ZOO = 'zoo/ffnn-paper';
const QUERIES = 200;
const BRUTE_FORCE_QUERIES = 10; // a full scan takes ~0.1 s each at paper scale

const round = (x: number, digits = 3) => +x.toFixed(digits);
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Zoo checkpoints with 1 % Gaussian noise (relative to the checkpoint's RMS weight): never exactly in the index. */
function perturbedQueries(zoo: Zoo, count: number): { run: number; weights: Float32Array }[] {
  const rng = new Rng(7, 11);
  const d = zoo.dim;
  return Array.from({ length: count }, () => {
    const run = rng.nextInt(zoo.runs);
    const epoch = 1 + rng.nextInt(zoo.epochs);
    const w = checkpointWeights(zoo, run, epoch).slice();
    let ss = 0;
    for (const v of w) ss += v * v;
    const sigma = 0.01 * Math.sqrt(ss / d);
    for (let j = 0; j < d; j++) w[j] += sigma * rng.nextNormal();
    return { run, weights: w };
  });
}

function bruteForceRun(zoo: Zoo, q: Float32Array): number {
  let best = Infinity;
  let bestRun = -1;
  for (let r = 0; r < zoo.runs; r++) {
    for (let e = 0; e < zoo.epochs; e++) {
      const dist = segmentDistance(
        q,
        0,
        zoo.weights,
        zooRowIndex(zoo.runs, r, e) * zoo.dim,
        zoo.weights,
        zooRowIndex(zoo.runs, r, e + 1) * zoo.dim,
        zoo.dim,
      ).distance;
      if (dist < best) [best, bestRun] = [dist, r];
    }
  }
  return bestRun;
}

function timeQueries(index: ZooIndex, queries: { run: number; weights: Float32Array }[], align: boolean) {
  let t = performance.now();
  identify(index, queries[0].weights, { align }); // warm up the JIT once, as a long-lived session would be
  const firstMs = performance.now() - t; // with alignment: also the invariant features of every checkpoint
  const ms: number[] = [];
  let correct = 0;
  let measured = 0;
  for (const q of queries) {
    t = performance.now();
    const id = identify(index, q.weights, { align });
    ms.push(performance.now() - t);
    if (id.run === q.run) correct++;
    measured += id.runsMeasured;
  }
  ms.sort((a, b) => a - b);
  return { ms, firstMs, correct, measured };
}

function benchInput(zoo: Zoo): Record<string, unknown> {
  const index = ZooIndex.build(zoo).prepare();
  const queries = perturbedQueries(zoo, QUERIES);
  const plain = timeQueries(index, queries, false);
  const { ms, firstMs, correct, measured } = timeQueries(index, queries, true);
  // the same queries with every hidden layer's units permuted: only alignment names them
  const sym = symmetriesOf(zoo.manifest.architecture);
  const rng = new Rng(8, 11);
  const permutedQueries = queries.map(({ run, weights }) => ({
    run,
    weights: disguisedCopy(sym, weights, rng, { permute: true, scale: false }),
  }));
  const permuted = sym.hidden.length ? timeQueries(index, permutedQueries, true) : null;
  const permutedPlain = sym.hidden.length ? timeQueries(index, permutedQueries, false) : null;
  const bruteMs: number[] = [];
  let agree = 0;
  for (const q of queries.slice(0, BRUTE_FORCE_QUERIES)) {
    const t = performance.now();
    const run = bruteForceRun(zoo, q.weights);
    bruteMs.push(performance.now() - t);
    if (run === identify(index, q.weights).run) agree++;
  }
  index.close();
  bruteMs.sort((a, b) => a - b);
  const median = quantile(ms, 0.5);
  const plainMedian = quantile(plain.ms, 0.5);
  return {
    checkpoints: zoo.n,
    dim: zoo.dim,
    runs: zoo.runs,
    indexBuildSeconds: round(index.buildSeconds, 1),
    queries: QUERIES,
    queryMs: {
      median: round(median, 2),
      p90: round(quantile(ms, 0.9), 2),
      max: round(ms[ms.length - 1], 2),
      first: round(firstMs, 1),
    },
    targetMs: 20,
    withoutAlignment: {
      queryMs: { median: round(plainMedian, 2), p90: round(quantile(plain.ms, 0.9), 2) },
      runAccuracy: round(plain.correct / QUERIES),
      runsMeasuredMean: round(plain.measured / QUERIES, 1),
    },
    alignmentCost: round(median / plainMedian, 2),
    permuted: permuted &&
      permutedPlain && {
        queryMs: { median: round(quantile(permuted.ms, 0.5), 2), p90: round(quantile(permuted.ms, 0.9), 2) },
        runAccuracy: round(permuted.correct / QUERIES),
        withoutAlignment: {
          queryMs: { median: round(quantile(permutedPlain.ms, 0.5), 2) },
          runAccuracy: round(permutedPlain.correct / QUERIES),
        },
      },
    runAccuracy: round(correct / QUERIES),
    // runs whose trajectory was measured in the full space after the SVD lower bounds
    runsMeasuredMean: round(measured / QUERIES, 1),
    bruteForceScan: {
      queries: BRUTE_FORCE_QUERIES,
      medianMs: round(quantile(bruteMs, 0.5), 1),
      sameRun: agree / BRUTE_FORCE_QUERIES,
      speedup: Math.round(quantile(bruteMs, 0.5) / median),
    },
  };
}

export function benchIdentify(log: (msg: string) => void): Record<string, unknown> {
  const report: Record<string, unknown> = {};
  if (existsSync(PAPER_ZOO)) {
    log(`identify: index and ${QUERIES} perturbed queries on ${PAPER_ZOO}`);
    report.paperZoo = { zoo: PAPER_ZOO, ...benchInput(loadZoo(PAPER_ZOO)) };
  } else {
    log(`identify: no ${PAPER_ZOO} (npm run zoo -- --preset paper --arch ffnn); synthetic input only`);
  }
  log(`identify: index and ${QUERIES} perturbed queries on the synthetic paper-scale zoo`);
  report.synthetic = benchInput(syntheticZoo(250, 50, 2160));
  return report;
}
