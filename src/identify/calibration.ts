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
 */
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
}

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

export function calibrate(
  index: CalibrationInput,
  products: IndexedProducts,
  descendantEpochs: number,
  samples: number,
  onProgress?: (done: number, total: number) => void,
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
  const foreignRatio =
    trajectories.length > 1 ? foreignDistanceRatio(index, products, samples, onProgress) : Infinity;
  // the geometric midpoint between the two: as far from accepting another run's checkpoint as
  // from rejecting one of the run's own (with one run, nothing to tell apart: twice looRatio)
  const memberRatio = Number.isFinite(foreignRatio) ? Math.sqrt(looRatio * foreignRatio) : 2 * looRatio;
  return { memberRatio, looRatio, foreignRatio, descendantRatio, descendantEpochs };
}

/**
 * Distance from sampled checkpoints to the nearest other run's trajectory, over that segment's
 * length; the smallest ratio. The samples' dot products with every indexed checkpoint come from
 * float32 SIMD products (SAMPLES_PER_PASS samples a pass); they choose each run's nearest
 * segment, whose distance is then summed exactly when the zoo is in memory, or taken from the
 * dot products when it is streamed (each exact distance would read two checkpoints from disk;
 * another run's trajectory is far enough for the products' rounding not to matter). A near tie
 * between two segments may choose the other one, which a calibration constant can live with
 * (identify's own search stays exact).
 */
function foreignDistanceRatio(
  index: CalibrationInput,
  products: IndexedProducts,
  samples: number,
  onProgress?: (done: number, total: number) => void,
): number {
  const { zoo, trajectories, sqNorm, rows } = index;
  const d = zoo.dim;
  // every checkpoint is a candidate sample; take `samples` of them evenly spread
  const all = trajectories.flatMap((t) => Array.from(t.rows, (row) => [t.run, row] as const));
  const stride = Math.max(1, all.length / samples);
  const picks = Array.from({ length: Math.ceil(all.length / stride) }, (_, i) => all[Math.floor(i * stride)]);
  let ratio = Infinity;
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
          if (m.distance < near.distance) near = m;
        }
        if (near.length > 0) ratio = Math.min(ratio, near.distance / near.length);
      });
    }
  } finally {
    products.close();
  }
  onProgress?.(picks.length, picks.length);
  return ratio;
}
