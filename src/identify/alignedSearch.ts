/**
 * The search for a query that may be a disguised copy: hidden units permuted (any
 * activation) or rescaled (positively homogeneous ones), which computes the same function
 * from another point of weight space (symmetry.ts). Runs are shortlisted by features that
 * no such change moves (per hidden layer, the units' sorted weight norms, see features()), the query
 * is aligned to each shortlisted run's checkpoint nearest in those features, and the aligned
 * query is measured against that run's trajectory as any query is (trajectory.ts).
 */
import { Rng } from '../core/rng.ts';
import {
  alignTo,
  disguisedCopy,
  normOf,
  scaleUnits,
  unitVectors,
  symmetriesOf,
  type Alignment,
  type HiddenLayer,
  type Symmetries,
} from './symmetry.ts';
import { nearestOnTrajectory, type Candidate, type SearchSpace } from './trajectory.ts';
import type { ZooRow } from '../core/zoo.ts';
import { dot } from '../reduce/distances.ts';
import type { NullSample, NullSampler } from './calibration.ts';

export interface AlignedCandidate extends Candidate {
  alignment: Alignment;
  /** The aligned query, in the zoo's layout. */
  aligned: Float64Array;
  /** The zoo row it was aligned to. */
  reference: number;
}

/** Alignments per shortlisted run: to the nearest checkpoint in features, then to the nearest on the trajectory. */
const REFINEMENTS = 3;

/** Runs aligned to, by default. */
export const ALIGN_SHORTLIST = 3;

/** An aligned query is taken when at most this fraction of the given query's distance from its run. */
export const ALIGNED_GAIN = 0.5;

/**
 * The permutation- (and scale-) invariant features of one checkpoint: per hidden layer, its
 * units' incoming and outgoing weight norms, each sorted. With scale symmetry they are read
 * from the checkpoint's canonical scaling (each unit's incoming weights of norm 1, layer by
 * layer, so a rescaled copy has the same canonical form) and only the outgoing norms count.
 */
function features(sym: Symmetries, w: ArrayLike<number>): Float64Array {
  const x = Float32Array.from(w);
  if (sym.scale)
    for (const layer of sym.hidden) {
      const { into } = unitNorms(layer, x);
      scaleUnits(
        x,
        layer,
        Float64Array.from(into, (v) => (v > 0 ? 1 / v : 1)),
      );
    }
  const out: number[] = [];
  for (const layer of sym.hidden) {
    const { into, outgoing } = unitNorms(layer, x);
    if (!sym.scale) out.push(...into.sort((a, b) => b - a));
    out.push(...outgoing.sort((a, b) => b - a));
  }
  return Float64Array.from(out);
}

function unitNorms(layer: HiddenLayer, w: Float32Array): { into: number[]; outgoing: number[] } {
  const units = Array.from({ length: layer.units }, (_, u) => unitVectors(w, layer, u));
  return { into: units.map((v) => normOf(v.into)), outgoing: units.map((v) => normOf(v.out)) };
}

/**
 * The invariant features of every indexed checkpoint, computed once per index (keyed by its
 * trajectories, which the search space the calibration measures in shares with the index).
 */
const cache = new WeakMap<
  SearchSpace['trajectories'],
  { sym: Symmetries; byRow: Map<number, Float64Array> }
>();

function indexFeatures(space: SearchSpace) {
  let entry = cache.get(space.trajectories);
  if (!entry) {
    const { architecture, network } = space.zoo.manifest;
    const sym = symmetriesOf(architecture, network);
    const byRow = new Map<number, Float64Array>();
    if (sym.hidden.length)
      for (const t of space.trajectories)
        for (const row of t.rows) byRow.set(row, features(sym, space.rows.row(row)));
    entry = { sym, byRow };
    cache.set(space.trajectories, entry);
  }
  return entry;
}

/** Symmetries of the zoo's architecture, with the note saying what is not aligned. */
export const zooSymmetries = (space: SearchSpace): Symmetries => indexFeatures(space).sym;

/**
 * The query aligned to each of the `shortlist` runs nearest in invariant features, measured
 * against their trajectories; nearest first. Empty when the architecture has no known symmetry.
 */
export function alignedCandidates(
  space: SearchSpace,
  query: Float32Array | Float64Array,
  shortlist = ALIGN_SHORTLIST,
  /** A run left out of the search (the calibration's null: a checkpoint of a run not indexed). */
  exclude = -1,
): AlignedCandidate[] {
  const { sym, byRow } = indexFeatures(space);
  if (!sym.hidden.length) return [];
  const f = features(sym, query);
  const nearest = space.trajectories
    .filter((t) => t.run !== exclude)
    .map((t) => {
      let best = { sq: Infinity, row: t.rows[0] };
      for (const row of t.rows) {
        const g = byRow.get(row)!;
        let sq = 0;
        for (let i = 0; i < f.length; i++) sq += (f[i] - g[i]) ** 2;
        if (sq < best.sq) best = { sq, row };
      }
      return { t, ...best };
    });
  nearest.sort((a, b) => a.sq - b.sq);
  const q32 = Float32Array.from(query);
  return nearest
    .slice(0, shortlist)
    .map(({ t, row }) => {
      // align to the checkpoint nearest in features, then again to the one nearest the aligned
      // query (scales taken from a neighbouring epoch would pull it off the trajectory)
      let result: AlignedCandidate | null = null;
      let previous = -1;
      for (let pass = 0; pass < REFINEMENTS && row !== previous; pass++) {
        previous = row;
        const alignment = alignTo(sym, q32, space.rows.row(row));
        const aligned = Float64Array.from(alignment.weights);
        const c = nearestOnTrajectory(space, t, aligned, dot(aligned, 0, aligned, 0, aligned.length));
        if (!result || c.distance < result.distance) result = { ...c, alignment, aligned, reference: row };
        row = t.rows[c.segment + (c.t < 0.5 ? 0 : 1)];
      }
      return result!;
    })
    .sort((a, b) => a.distance - b.distance || a.run - b.run);
}

/** How the output names an alignment: `permutation (14 of 26 units moved), scale`. */
export function describeAlignment(a: Alignment): string {
  return `permutation (${a.moved} of ${a.units} units moved)${a.scaled ? ', scale' : ''}`;
}

/**
 * The p-values' nulls as identify() measures a query (calibration.ts's NullSampler):
 *  - plain: STRANGER_COPIES copies of each sample with its hidden units permuted, measured as
 *    given: a stranger's unit order is as arbitrary relative to every run's as theirs.
 *  - aligned: a sample's log margin among the other runs from its alignment to them, when
 *    identify would take it (at most ALIGNED_GAIN of the plain distance); and the aligned
 *    margin of a permuted (and, where the network allows, rescaled) copy of the sample, as a
 *    disguised stranger's would be. A stranger that aligns well to some run has a far larger
 *    margin among the few aligned runs than plain margins are, so aligned queries are held
 *    against these samples.
 * Copies are drawn from generators seeded by the row, so an index is the same whenever it is
 * built. Without hidden-unit symmetries: nothing (the samples' own plain margins are the null).
 * `align` false (a streamed zoo): the plain copies only.
 */
export function nullSampler(space: SearchSpace, align: boolean): NullSampler {
  const { architecture, network } = space.zoo.manifest;
  const sym = align ? zooSymmetries(space) : symmetriesOf(architecture, network);
  if (!sym.hidden.length) return {};
  const strangerCopies = (row: ZooRow, w: Float32Array) => {
    const rng = new Rng(STRANGER_COPY_SEED, row);
    return Array.from({ length: STRANGER_COPIES }, () =>
      disguisedCopy(sym, w, rng, { permute: true, scale: false }),
    );
  };
  if (!align) return { strangerCopies };
  const alignedMargins = ({ run, row, nearest }: NullSample): number[] => {
    const w = space.rows.row(row);
    const found = alignedCandidates(space, w, ALIGN_SHORTLIST, run);
    const own =
      found.length > 1 && found[0].distance < ALIGNED_GAIN * nearest
        ? [Math.log(found[1].distance / found[0].distance)]
        : [];
    const copy = disguisedCopy(sym, Float32Array.from(w), new Rng(NULL_COPY_SEED, row), {
      permute: true,
      scale: sym.scale,
    });
    const aligned = alignedCandidates(space, copy, ALIGN_SHORTLIST, run);
    return aligned.length > 1 && aligned[0].distance > 0
      ? [...own, Math.log(aligned[1].distance / aligned[0].distance)]
      : own;
  };
  return { strangerCopies, alignedMargins };
}

/** Seeds of the disguised calibration copies (stream: the row). */
const NULL_COPY_SEED = 20261201;
export const STRANGER_COPY_SEED = 20261202;

/** Permuted copies per calibration sample in the plain null. */
export const STRANGER_COPIES = 2;
