/**
 * The verdict thresholds of an index, calibrated from the zoo itself (docs/identify.md).
 *
 * Calibration (docs/identify.md), from each run's own step lengths:
 *  - member: a checkpoint that lies on a run's trajectory is within `memberRatio` times the
 *    length of the nearest segment. memberRatio is the largest leave-one-out ratio in the
 *    zoo: every interior checkpoint's distance to the segment joining its two neighbours,
 *    over that segment's length. A checkpoint saved between two indexed ones is closer to
 *    their segment than a left-out checkpoint is to a segment twice as long, so this errs
 *    towards accepting members.
 *  - descendant: a model trained further from a run's last checkpoint moves away from it
 *    about as far as the run moved over its own last epochs. descendantRatio is the largest
 *    distance, over the zoo's runs, between a run's last checkpoint and the one
 *    `descendantEpochs` indexed checkpoints before it, in units of the run's last step.
 *  - p-values (pValue()): the null "the query is not from this run" is sampled by the same
 *    checkpoints, each measured against every run but its own: its log margin, log(distance to
 *    the next other run / to the nearest), is the spacing of the two smallest of many similar
 *    distances, which is close to exponential; its mean is the null's one parameter. A query
 *    identify aligns is measured among a few aligned runs, where margins run larger, so it has
 *    a null of its own: samples identify would align, and a permuted (and, where the network
 *    allows, rescaled) copy of every sample aligned to the other runs, as a disguised
 *    stranger is (alignedSearch.ts).
 */
import { UserError } from '../core/errors.ts';
import type { Zoo } from '../store/loadZoo.ts';
import type { RowReader } from '../store/rowReader.ts';
import type { RowProducts } from '../reduce/svd.ts';
import { nearestSegment, pointDistance, segmentDistance, type Trajectory } from './trajectory.ts';

export interface Calibration {
  /** Member threshold: distance / nearest segment length (see above). */
  memberRatio: number;
  /** Largest leave-one-out distance / segment length in the zoo. */
  looRatio: number;
  /** Smallest distance to another run's trajectory / that segment's length, over the sampled checkpoints. */
  foreignRatio: number;
  /** Largest distance covered over a run's last `descendantEpochs` indexed checkpoints, in last steps. */
  descendantRatio: number;
  descendantEpochs: number;
  /** Mean over the samples of log(distance to the next other run / to the nearest other run). */
  nullLogMargin: number;
  /** Samples it was measured on. */
  nullSamples: number;
  /** The same over the aligned samples and copies (0 when identify cannot align this zoo). */
  alignedLogMargin: number;
  alignedSamples: number;
}

/** Why an index cannot give p-values: a null whose samples do not spread (every margin 0). */
export class CalibrationError extends UserError {}

/** What calibration reads of an index: the zoo, its rows, trajectories and the checkpoints' squared norms. */
export interface CalibrationInput {
  zoo: Zoo;
  rows: RowReader;
  trajectories: Trajectory[];
  sqNorm: Float64Array;
}

/**
 * The indexed checkpoints (rows in the trajectories' `at` order) times B, for B given as B^T
 * (l x d, l at most SAMPLES_PER_PASS): in memory (SimdProducts) or streamed from the files.
 */
export type IndexedProducts = Pick<RowProducts, 'times' | 'close'>;

export const SAMPLES_PER_PASS = 64;

/** One calibration sample measured against every run but its own: its two nearest distances. */
export interface NullSample {
  run: number;
  row: number;
  nearest: number;
  next: number;
}

/**
 * The log margins identify() would report for a null sample, each with whether it was
 * measured aligned (default: log(next / nearest), the plain search's); the index passes one
 * that also tries identify's alignment and adds the sample's disguised copy
 * (alignedSearch.ts).
 */
export type NullLogMargin = (sample: NullSample) => { logMargin: number; aligned: boolean }[];
export function calibrate(
  index: CalibrationInput,
  products: IndexedProducts,
  descendantEpochs: number,
  samples: number,
  onProgress?: (done: number, total: number) => void,
  logMargin: NullLogMargin = ({ nearest, next }) => [{ logMargin: Math.log(next / nearest), aligned: false }],
): Calibration {
  const { zoo, trajectories, rows } = index;
  const d = zoo.dim;
  let looRatio = 0;
  let descendantRatio = 0;
  for (const t of trajectories) {
    const m = t.rows.length;
    for (let i = 1; i + 1 < m; i++) {
      const [prev, at, next] = [t.rows[i - 1], t.rows[i], t.rows[i + 1]].map((row) => rows.row(row));
      const { distance, length } = segmentDistance(at, 0, prev, 0, next, 0, d);
      if (length > 0) looRatio = Math.max(looRatio, distance / length);
    }
    const lastStep = Math.sqrt(t.segmentSq[m - 2]);
    const back = rows.row(t.rows[Math.max(0, m - 1 - descendantEpochs)]);
    if (lastStep > 0)
      descendantRatio = Math.max(descendantRatio, pointDistance(rows.row(t.rows[m - 1]), back, d) / lastStep);
  }
  const foreign =
    trajectories.length > 1
      ? foreignDistances(index, products, samples, logMargin, onProgress)
      : nullOf([], []);
  const foreignRatio = foreign.ratio;
  // the geometric midpoint between the two: as far from accepting another run's checkpoint as
  // from rejecting one of the run's own (with one run, nothing to tell apart: twice looRatio)
  const memberRatio = Number.isFinite(foreignRatio) ? Math.sqrt(looRatio * foreignRatio) : 2 * looRatio;
  return {
    memberRatio,
    looRatio,
    foreignRatio,
    descendantRatio,
    descendantEpochs,
    nullLogMargin: foreign.nullLogMargin,
    nullSamples: foreign.nullSamples,
    alignedLogMargin: foreign.alignedLogMargin,
    alignedSamples: foreign.alignedSamples,
  };
}

type Null = Pick<Calibration, 'nullLogMargin' | 'nullSamples' | 'alignedLogMargin' | 'alignedSamples'> & {
  ratio: number;
};

/** The two nulls from their samples; refuses a null whose margins are all 0 (p would be 0 for any other margin). */
function nullOf(plain: number[], aligned: number[], ratio = Infinity): Null {
  for (const [what, list] of [
    ['', plain],
    ['aligned ', aligned],
  ] as const)
    if (list.length && !list.some((m) => m > 0))
      throw new CalibrationError(
        `cannot calibrate p-values: all ${list.length} ${what}calibration samples lie exactly as far from two other runs (log margin 0), so the runs are copies of one another; give a zoo of independent runs`,
      );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    ratio,
    nullLogMargin: plain.length ? mean(plain) : NaN,
    nullSamples: plain.length,
    alignedLogMargin: aligned.length ? mean(aligned) : 0,
    alignedSamples: aligned.length,
  };
}

/**
 * The p-value of "the query is not from its nearest run", Holm-Bonferroni-adjusted over the
 * `runs` searched. For a checkpoint of a run outside the index, any given run is its nearest
 * with chance 1 / (runs - 1), and its log margin then exceeds x with chance exp(-x / mean)
 * (the null above), so that run's p-value is exp(-x / mean) / (runs - 1). Holm's first step
 * multiplies the smallest p by the number of runs; every other run is farther than the nearest
 * (p of the nearest run's neighbours: 1). An aligned query is held against the aligned
 * samples' null (each null is then calibrated on its own, and so is the whole); when no
 * sample was aligned, against the plain one. A null whose samples all tie (mean 0) is refused
 * when the index is built (CalibrationError), so p is never 0 for want of spread.
 */
export function pValue(calibration: Calibration, margin: number, runs: number, aligned = false): number {
  const mean =
    aligned && calibration.alignedSamples > 0 ? calibration.alignedLogMargin : calibration.nullLogMargin;
  if (!(margin > 1) || runs < 2 || !(calibration.nullSamples + calibration.alignedSamples > 0)) return 1;
  return Math.min(1, (runs / (runs - 1)) * Math.exp(-Math.log(margin) / mean));
}

/**
 * The smallest p-value the calibration supports: 1 / the number of null samples it measured
 * (of the aligned null for an aligned query, when it has samples). Below it the exponential
 * tail is extrapolated past every margin seen, so a smaller p is reported as "p < floor".
 */
export function pValueFloor(calibration: Calibration, aligned = false): number {
  const samples =
    aligned && calibration.alignedSamples > 0 ? calibration.alignedSamples : calibration.nullSamples;
  return samples > 0 ? 1 / samples : 1;
}

/**
 * Distance from sampled checkpoints to the nearest other run's trajectory, over that segment's
 * length: the smallest ratio; and the mean log margin of the samples among the other runs
 * (the p-values' null). The samples' dot products with every indexed checkpoint come from
 * float32 SIMD products (SAMPLES_PER_PASS samples a pass); they choose each run's nearest
 * segment, whose distance is then summed exactly when the zoo is in memory, or taken from the
 * dot products when it is streamed (each exact distance would read two checkpoints from disk;
 * another run's trajectory is far enough for the products' rounding not to matter). A near tie
 * between two segments may choose the other one, which a calibration constant can live with
 * (identify's own search stays exact).
 */
function foreignDistances(
  index: CalibrationInput,
  products: IndexedProducts,
  samples: number,
  logMargin: NullLogMargin,
  onProgress?: (done: number, total: number) => void,
): Null {
  const { zoo, trajectories, sqNorm, rows } = index;
  const d = zoo.dim;
  // every checkpoint is a candidate sample; take `samples` of them evenly spread
  const all = trajectories.flatMap((t) => Array.from(t.rows, (row) => [t.run, row] as const));
  const stride = Math.max(1, all.length / samples);
  const picks = Array.from({ length: Math.ceil(all.length / stride) }, (_, i) => all[Math.floor(i * stride)]);
  let ratio = Infinity;
  const margins = { plain: [] as number[], aligned: [] as number[] };
  try {
    for (let c0 = 0; c0 < picks.length; c0 += SAMPLES_PER_PASS) {
      onProgress?.(c0, picks.length);
      const batch = picks.slice(c0, c0 + SAMPLES_PER_PASS);
      const l = batch.length;
      const bt = new Float64Array(l * d);
      batch.forEach(([, row], c) => bt.set(rows.row(row), c * d));
      const y = products.times(bt, l); // y[i * l + c] = (indexed checkpoint i) . (sample c)
      batch.forEach(([run, row], c) => {
        const qq = sqNorm[row];
        let near = { distance: Infinity, length: 0 };
        let next = Infinity; // the second nearest other run's distance
        for (const t of trajectories) {
          if (t.run === run) continue;
          const { segment: i, sq } = nearestSegment(
            t,
            Float64Array.from(t.at, (at) => y[at * l + c]),
            qq,
            sqNorm,
          );
          const m = rows.inMemory
            ? segmentDistance(rows.row(row), 0, rows.row(t.rows[i]), 0, rows.row(t.rows[i + 1]), 0, d)
            : { distance: Math.sqrt(sq), length: Math.sqrt(t.segmentSq[i]) };
          if (m.distance < near.distance) [near, next] = [m, near.distance];
          else next = Math.min(next, m.distance);
        }
        if (near.length > 0) ratio = Math.min(ratio, near.distance / near.length);
        if (near.distance > 0 && Number.isFinite(next))
          for (const m of logMargin({ run, row, nearest: near.distance, next }))
            margins[m.aligned ? 'aligned' : 'plain'].push(m.logMargin);
      });
    }
  } finally {
    products.close();
  }
  onProgress?.(picks.length, picks.length);
  return nullOf(margins.plain, margins.aligned, ratio);
}
