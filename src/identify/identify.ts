/**
 * Identification of one checkpoint against a zoo index (zooIndex.ts): the nearest run
 * trajectories in the full weight space, the position on the best one, and a verdict.
 *
 * The search (trajectory.ts) finds the exact nearest run in the full weight space; the other
 * candidates are the nearest of the runs it measured on the way.
 *
 * Verdict (thresholds from the index's calibration):
 *  - descendant: the nearest point of the best trajectory is its end, reached from beyond
 *    (the query continues the last step), the query is farther from the last checkpoint than
 *    looRatio x (the last step), so it is not just that checkpoint slightly changed, and
 *    within descendantRatio x (the last step) of it;
 *  - member: otherwise, within memberRatio x (length of the nearest segment) of the best
 *    trajectory;
 *  - unknown: neither (also beyond the end but too far for a descendant).
 */
import type { ZooIndex } from './zooIndex.ts';
import { pointDistance, searchRuns, type Candidate } from './trajectory.ts';
import { UserError } from '../core/errors.ts';

export type { Candidate };
export type Verdict = 'member' | 'descendant' | 'unknown';
export const VERDICTS: readonly Verdict[] = ['member', 'descendant', 'unknown'];

export interface Identification {
  verdict: Verdict;
  /** Best run and where on it (for descendants: beyond the last checkpoint, extrapolated along the last step). */
  run: number;
  seed: number;
  epoch: number;
  distance: number;
  /** Distance to the best other run / distance to the best run (Infinity for an exact copy). */
  margin: number;
  /** distance / (memberRatio x nearest segment length): <= 1 is a member. */
  memberScore: number;
  /** Distance to the last checkpoint / (descendantRatio x last step), when the query lies beyond it (else null). */
  descendantScore: number | null;
  candidates: Candidate[];
  /** Runs measured in the full space (the rest were ruled out by their projected bound). */
  runsMeasured: number;
}

export interface IdentifyOptions {
  /** Candidates to report (default 5). */
  top?: number;
}

/** Identifies a checkpoint (flat weights in the zoo's layout) against the index. */
export function identify(
  index: ZooIndex,
  query: Float32Array | Float64Array,
  options: IdentifyOptions = {},
): Identification {
  const { zoo, calibration } = index;
  const d = zoo.dim;
  if (query.length !== d)
    throw new UserError(
      `the checkpoint has ${query.length} weights; the zoo's ${zoo.manifest.architecture.name} models have ${d}`,
    );
  const { candidates, runsMeasured } = searchRuns(index, query, { top: options.top ?? 5 });
  const best = candidates[0];
  const t = index.trajectories.find((tr) => tr.run === best.run)!;
  const last = t.rows.length - 1;
  const memberScore =
    best.distance / Math.max(calibration.memberRatio * best.segmentLength, Number.MIN_VALUE);
  // beyond the end: past the last checkpoint, by more than a checkpoint lies off its own trajectory
  let descendantScore: number | null = null;
  if (best.segment === last - 1 && best.tRaw > 1) {
    const toLast = pointDistance(query, index.rows.row(t.rows[last]), d);
    if (toLast > calibration.looRatio * best.segmentLength)
      descendantScore = toLast / Math.max(calibration.descendantRatio * best.segmentLength, Number.MIN_VALUE);
  }
  const verdict: Verdict =
    descendantScore !== null
      ? descendantScore <= 1
        ? 'descendant'
        : 'unknown'
      : memberScore <= 1
        ? 'member'
        : 'unknown';
  const gap = t.epochs[last] - t.epochs[last - 1];
  return {
    verdict,
    run: best.run,
    seed: best.seed,
    epoch: verdict === 'descendant' ? t.epochs[last] + (best.tRaw - 1) * gap : best.epoch,
    distance: best.distance,
    margin: candidates.length > 1 ? candidates[1].distance / best.distance : Infinity,
    memberScore,
    descendantScore,
    candidates,
    runsMeasured,
  };
}
