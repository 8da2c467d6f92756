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
import { rowDistance } from '../reduce/distances.ts';
import { SimdProducts } from '../reduce/simdProducts.ts';
import { simdThreads } from '../util/threads.ts';
import { nearestSegment, segmentDistance, type Trajectory } from './trajectory.ts';

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

/** What calibration reads of an index: the zoo, its trajectories and the checkpoints' squared norms. */
export interface CalibrationInput {
  zoo: Zoo;
  trajectories: Trajectory[];
  sqNorm: Float64Array;
}

export function calibrate(
  index: CalibrationInput,
  x: Float32Array,
  descendantEpochs: number,
  samples: number,
  onProgress?: (done: number, total: number) => void,
): Calibration {
  const { zoo, trajectories } = index;
  const w = zoo.weights;
  const d = zoo.dim;
  let looRatio = 0;
  let descendantRatio = 0;
  for (const t of trajectories) {
    const m = t.rows.length;
    for (let i = 1; i + 1 < m; i++) {
      const { distance, length } = segmentDistance(
        w,
        t.rows[i] * d,
        w,
        t.rows[i - 1] * d,
        t.rows[i + 1] * d,
        d,
      );
      if (length > 0) looRatio = Math.max(looRatio, distance / length);
    }
    const lastStep = Math.sqrt(t.segmentSq[m - 2]);
    const back = t.rows[Math.max(0, m - 1 - descendantEpochs)];
    if (lastStep > 0)
      descendantRatio = Math.max(
        descendantRatio,
        rowDistance(zoo.weights, t.rows[m - 1], back, zoo.dim) / lastStep,
      );
  }
  const foreignRatio =
    trajectories.length > 1 ? foreignDistanceRatio(index, x, samples, onProgress) : Infinity;
  // the geometric midpoint between the two: as far from accepting another run's checkpoint as
  // from rejecting one of the run's own (with one run, nothing to tell apart: twice looRatio)
  const memberRatio = Number.isFinite(foreignRatio) ? Math.sqrt(looRatio * foreignRatio) : 2 * looRatio;
  return { memberRatio, looRatio, foreignRatio, descendantRatio, descendantEpochs };
}

/**
 * Distance from sampled checkpoints to the nearest other run's trajectory, over that segment's
 * length; the smallest ratio. `x` holds the indexed checkpoints (rows in `at` order). The
 * samples' dot products with every checkpoint come from float32 SIMD products (64 samples a
 * pass, both cores); they choose each run's nearest segment, whose distance is then summed
 * exactly. A near tie between two segments may choose the other one, which a calibration
 * constant can live with (identify's own search stays exact).
 */
function foreignDistanceRatio(
  index: CalibrationInput,
  x: Float32Array,
  samples: number,
  onProgress?: (done: number, total: number) => void,
): number {
  const { zoo, trajectories, sqNorm } = index;
  const { weights: w, dim: d } = zoo;
  // every checkpoint is a candidate sample; take `samples` of them evenly spread
  const all = trajectories.flatMap((t) => Array.from(t.rows, (row) => [t.run, row] as const));
  const stride = Math.max(1, all.length / samples);
  const picks = Array.from({ length: Math.ceil(all.length / stride) }, (_, i) => all[Math.floor(i * stride)]);
  const chunk = 64;
  const products = new SimdProducts(x, x.length / d, d, chunk, simdThreads());
  let ratio = Infinity;
  try {
    for (let c0 = 0; c0 < picks.length; c0 += chunk) {
      onProgress?.(c0, picks.length);
      const batch = picks.slice(c0, c0 + chunk);
      const l = batch.length;
      const bt = new Float64Array(l * d);
      batch.forEach(([, row], c) => bt.set(w.subarray(row * d, (row + 1) * d), c * d));
      const y = products.times(bt, l); // y[i * l + c] = (indexed checkpoint i) . (sample c)
      batch.forEach(([run, row], c) => {
        const qq = sqNorm[row];
        let near = { distance: Infinity, length: 0 };
        for (const t of trajectories) {
          if (t.run === run) continue;
          const i = nearestSegment(
            t,
            Float64Array.from(t.at, (at) => y[at * l + c]),
            qq,
            sqNorm,
          );
          const m = segmentDistance(w, row * d, w, t.rows[i] * d, t.rows[i + 1] * d, d);
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
