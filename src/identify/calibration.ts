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
 *    distances, which is close to exponential but not exactly: pValue() ranks a query's margin
 *    among the samples' and reads only the tail past their top few from the mean. Where the
 *    network's hidden units can be permuted, the plain null is measured on permuted copies of
 *    the samples instead: a stranger's units are in no particular order relative to any run's,
 *    and neither are a copy's, while two runs of the zoo that happen to lie close give each
 *    other's checkpoints large margins twice over, so the samples as trained spread the mean
 *    estimated from a zoo's runs far more (docs/identify.md). A query identify aligns is
 *    measured among a few aligned runs, where margins run larger, so it has a null of its
 *    own: samples identify would align, and a permuted (and, where the network allows,
 *    rescaled) copy of every sample aligned to the other runs, as a disguised stranger is
 *    (alignedSearch.ts).
 */
import { UserError } from '../core/errors.ts';
import type { ZooInfo } from '../store/loadZoo.ts';
import type { RowReader, ZooRow } from '../core/zoo.ts';
import type { RowProducts } from '../reduce/svd.ts';
import { nearestSegment, pointDistance, segmentDistance, type Trajectory } from './trajectory.ts';
import { dot } from '../reduce/distances.ts';

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
  /** The plain null's log margins, ascending: pValue() reads their tail. */
  nullMargins: number[];
  /** The aligned null's, ascending. */
  alignedMargins: number[];
}

/** A calibration as reports show it: every threshold and each null's mean and count, not its samples (they stay in index.json). */
export type CalibrationSummary = Omit<Calibration, 'nullMargins' | 'alignedMargins'>;

export function calibrationSummary(calibration: Calibration): CalibrationSummary {
  const { nullMargins: _plain, alignedMargins: _aligned, ...summary } = calibration;
  return summary;
}

/** Why an index cannot give p-values: a null whose samples do not spread (every margin 0). */
export class CalibrationError extends UserError {}

/** What calibration reads of an index: the zoo, its rows, trajectories and the checkpoints' squared norms. */
export interface CalibrationInput {
  zoo: ZooInfo;
  rows: RowReader;
  trajectories: Trajectory[];
  sqNorm: Float64Array;
}

/**
 * The indexed checkpoints (rows in the trajectories' `at` order) times B, for B given as B^T
 * (l x d, l at most SAMPLES_PER_PASS): in memory (SimdProducts) or streamed from the files;
 * the caller's, who closes them.
 */
export type IndexedProducts = Pick<RowProducts, 'times'>;

export const SAMPLES_PER_PASS = 64;

/** One calibration sample measured against every run but its own: its two nearest distances. */
export interface NullSample {
  run: number;
  row: ZooRow;
  nearest: number;
  next: number;
}

/**
 * How a calibration sample stands in for strangers (alignedSearch.ts gives both for a zoo
 * whose hidden units it can align; without them the sample's own plain margin is the null):
 *  - strangerCopies: copies of the sample's weights that a stranger is exchangeable with
 *    (hidden units permuted), each measured as given against every run but the sample's;
 *    their log margins are the plain null.
 *  - alignedMargins: the aligned log margins identify would report for the sample and its
 *    disguised copy (the aligned null).
 */
export interface NullSampler {
  strangerCopies?: (row: ZooRow, w: Float32Array) => Float32Array[];
  alignedMargins?: (sample: NullSample) => number[];
}

export interface CalibrateOptions extends NullSampler {
  /** Indexed epochs of further training a descendant may have. */
  descendantEpochs: number;
  /** Checkpoints sampled for the null and foreignRatio. */
  samples: number;
  onProgress?: (done: number, total: number) => void;
}

export function calibrate(
  index: CalibrationInput,
  products: IndexedProducts,
  options: CalibrateOptions,
): Calibration {
  const { descendantEpochs } = options;
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
  const foreign = trajectories.length > 1 ? foreignDistances(index, products, options) : nullOf([], []);
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
    nullMargins: foreign.nullMargins,
    alignedMargins: foreign.alignedMargins,
  };
}

type Null = Pick<
  Calibration,
  'nullLogMargin' | 'nullSamples' | 'alignedLogMargin' | 'alignedSamples' | 'nullMargins' | 'alignedMargins'
> & { ratio: number };

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
  const ascending = (xs: number[]) => [...xs].sort((a, b) => a - b);
  return {
    ratio,
    nullLogMargin: plain.length ? mean(plain) : NaN,
    nullSamples: plain.length,
    alignedLogMargin: aligned.length ? mean(aligned) : 0,
    alignedSamples: aligned.length,
    nullMargins: ascending(plain),
    alignedMargins: ascending(aligned),
  };
}

/**
 * The p-value of "the query is not from its nearest run": the chance that a checkpoint of a
 * run outside the index has a log margin at least this one's, x = log(margin), from the null's
 * N samples (an aligned query's from the aligned null, when it has samples):
 *  - up to the sample u at the top TAIL_SHARE of them: the rank p,
 *    (1 + #{samples >= x}) / (N + 1), exact for a query exchangeable with the samples, where
 *    a log margin departs from the exponential spacing law (one fitted mean made p too large
 *    in the middle and too small above it: the two-sided Kolmogorov-Smirnov test failed);
 *  - beyond u: exponential from there, p(u) exp(-(x - u) / mean), the mean over all samples.
 *    A zoo's runs are few pseudo-strangers (a run's checkpoints and copies share where it
 *    lies), so the few largest samples say little about the tail: the rank alone went too
 *    small on indexes whose runs missed the strangers that sit close to one run, while the
 *    mean is steady over indexes, and margins' tails fall off faster than its exponential.
 * The samples are margins of the nearest run already (each sample's best other run over its
 * next), so no correction for the runs searched applies. A null whose samples all tie is
 * refused when the index is built (CalibrationError), so p is never 0 for want of spread.
 */
export function pValue(calibration: Calibration, margin: number, runs: number, aligned = false): number {
  const samples = nullFor(calibration, aligned);
  if (!(margin > 1) || runs < 2 || samples.length === 0) return 1;
  const mean =
    samples === calibration.alignedMargins ? calibration.alignedLogMargin : calibration.nullLogMargin;
  return rankTailPValue(samples, Math.log(margin), mean);
}

/**
 * The p-value of x against a null's samples (ascending): the rank p, (1 + #{samples >= x}) /
 * (N + 1), up to the sample u at the top TAIL_SHARE of them; beyond u an exponential tail
 * from there, p(u) exp(-(x - u) / scale). The rank is exact for an x exchangeable with the
 * samples; the tail extrapolates past what N samples resolve (1 / (N + 1)), and is
 * conservative for nulls whose tail falls off at least as fast as that exponential.
 * identify's margins (scale: their mean) and provenance's combined statistic (scale: its
 * samples' standard deviation) share this rule.
 */
export function rankTailPValue(ascending: ArrayLike<number>, x: number, scale: number): number {
  const n = ascending.length;
  if (n === 0) return 1;
  const above = Math.max(1, Math.ceil(TAIL_SHARE * n)); // samples at or above u
  const u = ascending[n - above];
  if (x > u) return ((1 + above) / (n + 1)) * Math.exp(-(x - u) / scale);
  let lo = 0; // the first sample >= x
  for (let hi = n; lo < hi;) {
    const mid = (lo + hi) >> 1;
    if (ascending[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return (1 + n - lo) / (n + 1);
}

/** The share of the null's samples beyond which pValue() reads an exponential tail. */
export const TAIL_SHARE = 0.05;

const nullFor = (calibration: Calibration, aligned: boolean): number[] =>
  aligned && calibration.alignedMargins.length ? calibration.alignedMargins : calibration.nullMargins;

/**
 * The smallest p-value the calibration's samples resolve: 1 / (N + 1), N the samples of the
 * null the query is held against. Below it the fitted tail goes past every margin seen, so a
 * smaller p is reported as "p < floor".
 */
export function pValueFloor(calibration: Calibration, aligned = false): number {
  return 1 / (nullFor(calibration, aligned).length + 1);
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
  { samples, strangerCopies, alignedMargins, onProgress }: CalibrateOptions,
): Null {
  const { zoo, trajectories, sqNorm, rows } = index;
  const d = zoo.dim;
  // every checkpoint is a candidate sample; take `samples` of them evenly spread
  const all = trajectories.flatMap((t) => [...t.rows].map((row) => [t.run, row] as const));
  const stride = Math.max(1, all.length / samples);
  const picks = Array.from({ length: Math.ceil(all.length / stride) }, (_, i) => all[Math.floor(i * stride)]);
  let ratio = Infinity;
  const margins = { own: [] as number[], copies: [] as number[], aligned: [] as number[] };
  /** The two nearest other runs of one vector (a sample or a copy): distances, and the nearest's segment length. */
  const nearestTwo = (v: Float32Array, qq: number, y: Float64Array, run: number) => {
    let near = { distance: Infinity, length: 0 };
    let next = Infinity; // the second nearest other run's distance
    for (const t of trajectories) {
      if (t.run === run) continue;
      const { segment: i, sq } = nearestSegment(
        t,
        Float64Array.from(t.at, (at) => y[at]),
        qq,
        sqNorm,
      );
      const m = rows.inMemory
        ? segmentDistance(v, 0, rows.row(t.rows[i]), 0, rows.row(t.rows[i + 1]), 0, d)
        : { distance: Math.sqrt(sq), length: Math.sqrt(t.segmentSq[i]) };
      if (m.distance < near.distance) [near, next] = [m, near.distance];
      else next = Math.min(next, m.distance);
    }
    return { near, next };
  };
  const logOf = ({ near, next }: ReturnType<typeof nearestTwo>) =>
    near.distance > 0 && Number.isFinite(next) ? [Math.log(next / near.distance)] : [];
  type Vector = { run: number; row: ZooRow; v: Float32Array; copy: boolean };
  /** A sample and its stranger copies, measured in one pass. */
  const groupOf = ([run, row]: readonly [number, ZooRow]): Vector[] => {
    const w = rows.row(row);
    const copies = strangerCopies?.(row, w) ?? [];
    return [{ run, row, v: w, copy: false }, ...copies.map((v) => ({ run, row, v, copy: true }))];
  };
  let group: Vector[] | null = null;
  let c0 = 0;
  while (c0 < picks.length) {
    onProgress?.(c0, picks.length);
    // a pass holds whole samples, each with its copies, up to SAMPLES_PER_PASS vectors
    const vectors: Vector[] = [];
    for (; c0 < picks.length; c0++) {
      group ??= groupOf(picks[c0]);
      if (vectors.length && vectors.length + group.length > SAMPLES_PER_PASS) break;
      vectors.push(...group);
      group = null;
    }
    const l = vectors.length;
    const bt = new Float64Array(l * d);
    vectors.forEach(({ v }, c) => bt.set(v, c * d));
    const y = products.times(bt, l); // y[i * l + c] = (indexed checkpoint i) . (vector c)
    const rowsOfY = y.length / l;
    vectors.forEach(({ run, row, v, copy }, c) => {
      const column = Float64Array.from({ length: rowsOfY }, (_, i) => y[i * l + c]);
      const qq = copy ? dot(v, 0, v, 0, d) : sqNorm[row];
      const two = nearestTwo(v, qq, column, run);
      if (copy) {
        margins.copies.push(...logOf(two));
        return;
      }
      if (two.near.length > 0) ratio = Math.min(ratio, two.near.distance / two.near.length);
      if (!(two.near.distance > 0 && Number.isFinite(two.next))) return;
      const aligned = alignedMargins?.({ run, row, nearest: two.near.distance, next: two.next }) ?? [];
      margins.aligned.push(...aligned);
      margins.own.push(...logOf(two));
    });
  }
  onProgress?.(picks.length, picks.length);
  return nullOf(strangerCopies ? margins.copies : margins.own, margins.aligned, ratio);
}
