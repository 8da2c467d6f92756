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
 *  - fork: neither, yet much nearer this run than any other: p-value (calibration.ts's
 *    pValue()) below FORK_ALPHA. It branched from the
 *    run at the nearest point of its trajectory (the last checkpoint when beyond the end) and
 *    has moved `stepsAway` of the run's local step lengths since;
 *  - unknown: none of these.
 */
import type { ZooIndex } from './zooIndex.ts';
import { pointDistance, searchRuns, type Candidate } from './trajectory.ts';
import { UserError } from '../core/errors.ts';
import { ALIGNED_GAIN, alignedCandidates, describeAlignment, zooSymmetries } from './alignedSearch.ts';
import { pValue, pValueFloor } from './calibration.ts';

export type { Candidate };
export type Verdict = 'member' | 'descendant' | 'fork' | 'unknown';
export const VERDICTS: readonly Verdict[] = ['member', 'descendant', 'fork', 'unknown'];

/**
 * A query off every trajectory is a fork of its nearest run when its p-value is below this:
 * the share of strangers called forks when p is calibrated, so it stays well under the 1 %
 * of unknown seeds' checkpoints the evaluation allows (an alpha of 0.01 would spend all of it).
 */
export const FORK_ALPHA = 0.001;

export interface Identification {
  verdict: Verdict;
  /**
   * Best run and where on it (for descendants: beyond the last checkpoint, extrapolated along
   * the last step; for forks: the branch point, the trajectory's point nearest the query).
   */
  run: number;
  seed: number;
  epoch: number;
  distance: number;
  /** Distance to the best other run / distance to the best run (Infinity for an exact copy). */
  margin: number;
  /** distance / (memberRatio x nearest segment length): <= 1 is a member. */
  memberScore: number;
  /** distance / nearest segment length: how far off the trajectory, in the run's local step lengths. */
  stepsAway: number;
  /**
   * p-value of "not from this run" (calibration.ts's pValue: the zoo's own other-run
   * distances); 1 when another run is as near.
   */
  pValue: number;
  /** The smallest p-value the calibration supports (calibration.ts pValueFloor): a smaller pValue reads "p < pValueFloor". */
  pValueFloor: number;
  /** Distance to the last checkpoint / (descendantRatio x last step), when the query lies beyond it (else null). */
  descendantScore: number | null;
  candidates: Candidate[];
  /** Runs measured in the full space (the rest were ruled out by their projected bound). */
  runsMeasured: number;
  /**
   * The alignment that brought the query nearer its run, e.g. `permutation (14 of 26 units
   * moved), scale` (alignedSearch.ts), or null when the query as given was nearest.
   */
  aligned: string | null;
  /** What could not be aligned for this architecture and why, or null. */
  alignmentNote: string | null;
}

export interface IdentifyOptions {
  /** Candidates to report (default 5). */
  top?: number;
  /** Also try the query with its hidden units aligned to the nearest runs (default true; a zoo in memory). */
  align?: boolean;
}

export { ALIGNED_GAIN };

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
  const top = options.top ?? 5;
  const searched = searchRuns(index, query, { top });
  const { runsMeasured } = searched;
  let candidates = searched.candidates;
  let q: Float32Array | Float64Array = query;
  let aligned: string | null = null;
  let alignmentNote: string | null = null;
  const memberScoreOf = (c: Candidate) =>
    c.distance / Math.max(calibration.memberRatio * c.segmentLength, Number.MIN_VALUE);
  const align = (options.align ?? true) && index.rows.inMemory;
  if (align) alignmentNote = zooSymmetries(index).note;
  // a query on a trajectory as given is a member there; alignment is for the rest
  if (align && memberScoreOf(candidates[0]) > 1) {
    const found = alignedCandidates(index, query);
    // the aligned query replaces the given one when it is much nearer its run (a disguised
    // copy moves far; aligning a plain query only shaves its distance); the candidates are
    // then the aligned runs', all measured the same way
    if (found.length && found[0].distance < ALIGNED_GAIN * candidates[0].distance) {
      [q, aligned] = [found[0].aligned, describeAlignment(found[0].alignment)];
      candidates = found.map(({ alignment: _a, aligned: _q, reference: _r, ...c }) => c);
    }
  }
  const best = candidates[0];
  const t = index.trajectories.find((tr) => tr.run === best.run)!;
  const last = t.rows.length - 1;
  const memberScore = memberScoreOf(best);
  const p = pValue(
    calibration,
    candidates.length > 1 ? candidates[1].distance / best.distance : 1,
    index.trajectories.length,
    aligned !== null,
  );
  const forkOr = (otherwise: Verdict): Verdict => (p < FORK_ALPHA ? 'fork' : otherwise);
  // beyond the end: past the last checkpoint, by more than a checkpoint lies off its own trajectory
  let descendantScore: number | null = null;
  if (best.segment === last - 1 && best.tRaw > 1) {
    const toLast = pointDistance(q, index.rows.row(t.rows[last]), d);
    if (toLast > calibration.looRatio * best.segmentLength)
      descendantScore = toLast / Math.max(calibration.descendantRatio * best.segmentLength, Number.MIN_VALUE);
  }
  const verdict: Verdict =
    descendantScore !== null
      ? descendantScore <= 1
        ? 'descendant'
        : forkOr('unknown')
      : memberScore <= 1
        ? 'member'
        : forkOr('unknown');
  const gap = t.epochs[last] - t.epochs[last - 1];
  return {
    verdict,
    run: best.run,
    seed: best.seed,
    epoch: verdict === 'descendant' ? t.epochs[last] + (best.tRaw - 1) * gap : best.epoch,
    distance: best.distance,
    margin: candidates.length > 1 ? candidates[1].distance / best.distance : Infinity,
    memberScore,
    stepsAway: best.distance / Math.max(best.segmentLength, Number.MIN_VALUE),
    pValue: p,
    pValueFloor: pValueFloor(calibration, aligned !== null),
    descendantScore,
    candidates,
    runsMeasured,
    aligned,
    alignmentNote,
  };
}
