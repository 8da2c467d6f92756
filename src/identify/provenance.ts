/**
 * Provenance from weights alone: is model B derived from model A (fine-tuned, pruned,
 * converted, its hidden units permuted or rescaled), or trained independently of it? No data
 * and no outputs: the weights of A, of B, and of references, models trained as A was from
 * other seeds (A's zoo's other runs). docs/provenance.md gives the method and why it is valid.
 *
 * The statistic: every member X of S = {A} + references is aligned to B (symmetry.ts: hidden
 * units matched, after every model is brought to a canonical scale and unit order), and
 * compared with B tensor by tensor, z = atanh(correlation of the entries). Each z is
 * standardised against the references' (a reference's against the other references'),
 * turned into evidence (tensorLogP: a normal tail up to its 95th percentile, exponential
 * beyond) and the tensors' evidence summed, Fisher's method, into a score T = -sum log p.
 * Under the null "B was trained independently of A", B is independent of every member of S,
 * and the members are exchangeable (one recipe, seeds drawn alike), so A's T is as likely to
 * rank anywhere among the members' T: its rank gives an exact p-value, and beyond the
 * references' top few an exponential tail extrapolates it (calibration.ts's rankTailPValue).
 * The canonical form makes the statistic the same for B and any permuted copy of it (bit for
 * bit) or rescaled one (to rounding); the rank test makes it valid whatever the layers'
 * scales, the tensors' dependence or how far independently trained models happen to agree.
 *
 * Tensors pair up by position: B may differ from A in the output layer (a new head for
 * another task, of another size), which then carries no evidence; a hidden layer of another
 * shape makes the architectures unrelated.
 */
import type { Architecture, ParamTensor } from '../core/architectures.ts';
import { defineArchitecture } from '../core/architectures.ts';
import { UserError, option } from '../core/errors.ts';
import type { Network } from '../core/network.ts';
import { rankTailPValue } from './calibration.ts';
import { alignTo, permuteUnits, symmetriesOf, type HiddenLayer, type Symmetries } from './symmetry.ts';

/** A model to compare: the layout of its tensors, its weights in that layout, its network where known. */
export interface ModelWeights {
  architecture: Architecture;
  weights: Float32Array;
  network?: Network | null;
}

export interface ProvenanceOptions {
  /**
   * Models trained as A was, from other seeds, and independent of B: A's zoo's other runs
   * (at A's epoch). At least PROVENANCE_DEFAULTS.minReferences.
   */
  references: Float32Array[];
  /** Verdict `derived` below this p-value (default 0.01). */
  alpha?: number;
}

export const PROVENANCE_DEFAULTS = { alpha: 0.01, minReferences: 9 } as const;

export type ProvenanceVerdict = 'derived' | 'independent' | 'unrelated architectures';

export interface TensorEvidence {
  name: string;
  /** atanh of the correlation of A's (aligned) entries with B's. */
  z: number;
  /** That z standardised against the references' (how many of their standard deviations above their mean). */
  standardised: number;
  /** This tensor's evidence as a p-value (tensorLogP: a normal tail, exponential beyond its 95th percentile). */
  p: number;
}

export interface Provenance {
  verdict: ProvenanceVerdict;
  /** The p-value of "B was trained independently of A" (1 for unrelated architectures). */
  p: number;
  /** The smallest p the references resolve exactly, 1 / (references + 1): a smaller p comes from the fitted tail. */
  pFloor: number;
  alpha: number;
  /** The tensors compared, most evidence first. */
  tensors: TensorEvidence[];
  /** Tensors of A that B has in another shape (a replaced head), left out. */
  resized: string[];
  references: number;
  /** B's hidden units A's matched to: how many moved, of how many, and whether they were rescaled. */
  alignment: { moved: number; units: number; scaled: boolean } | null;
  /** Why something was not compared or aligned, or null. */
  note: string | null;
}

export class ProvenanceError extends UserError {}

/**
 * What two architectures share, position by position: the tensors of equal shape, the
 * symmetries of A's network restricted to them, and how each model's weights map into the
 * shared layout; or why they are unrelated.
 */
export interface SharedView {
  architecture: Architecture;
  symmetries: Symmetries;
  /** A's and B's tensors in the shared layout, by index into each architecture's params. */
  fromA: ParamTensor[];
  fromB: ParamTensor[];
  resized: string[];
}

/** The shared view of A's and B's architectures, or the reason they are unrelated. */
export function sharedView(a: ModelWeights, b: Architecture): SharedView | { unrelated: string } {
  const pa = a.architecture.params;
  const pb = b.params;
  if (pa.length !== pb.length) return { unrelated: `A has ${pa.length} tensors, B ${pb.length}` };
  const same = pa.map((t, i) => sameShape(t.shape, pb[i].shape));
  const sym = symmetriesOf(a.architecture, a.network ?? undefined);
  if (sym.hidden.length === 0) return { unrelated: sym.note ?? 'A has no hidden layer to compare' };
  const kept = pa.filter((_, i) => same[i]);
  const architecture = defineArchitecture(
    a.architecture.name,
    a.architecture.summary,
    kept.map((t) => ({ name: t.name, shape: t.shape })),
  );
  // A's flat index -> the shared layout's, or -1
  const map = new Int32Array(a.architecture.size).fill(-1);
  kept.forEach((t, k) => {
    const to = architecture.params[k].offset;
    for (let i = 0; i < t.size; i++) map[t.offset + i] = to + i;
  });
  const hidden: HiddenLayer[] = [];
  for (const layer of sym.hidden) {
    const into = remap(layer.into, map);
    const scaled = remap(layer.scaled, map);
    if (!into || !scaled) {
      const other = pb[pa.indexOf(layer.weight)];
      return {
        unrelated: `hidden layer ${layer.weight.name} ${shapeText(layer.weight.shape)} of A is ${other.name} ${shapeText(other.shape)} in B`,
      };
    }
    const out = remap(layer.out, map) ?? new Int32Array(0);
    hidden.push({ ...layer, into, scaled, out });
  }
  const resizedAt = pa.map((_, i) => i).filter((i) => !same[i]);
  return {
    architecture,
    symmetries: { ...sym, hidden },
    fromA: kept,
    fromB: pb.filter((_, i) => same[i]),
    resized: resizedAt.map((i) => `${pa[i].name} (A ${shapeText(pa[i].shape)}, B ${shapeText(pb[i].shape)})`),
  };
}

const sameShape = (x: number[], y: number[]) => x.length === y.length && x.every((d, i) => d === y[i]);
const shapeText = (s: number[]) => `[${s.join(', ')}]`;

function remap(list: Int32Array, map: Int32Array): Int32Array | null {
  const out = new Int32Array(list.length);
  for (let i = 0; i < list.length; i++) {
    out[i] = map[list[i]];
    if (out[i] < 0) return null;
  }
  return out;
}

/** A model's weights in the shared layout, its hidden units brought to unit incoming norm where the network allows and into canonical order. */
export function inSharedView(view: SharedView, weights: Float32Array, side: 'a' | 'b'): Float32Array {
  const from = side === 'a' ? view.fromA : view.fromB;
  const out = new Float32Array(view.architecture.size);
  from.forEach((t, k) =>
    out.set(weights.subarray(t.offset, t.offset + t.size), view.architecture.params[k].offset),
  );
  return canonicalOrder(view.symmetries, view.symmetries.scale ? canonicalScale(view.symmetries, out) : out);
}

/**
 * Every hidden layer's units sorted by the sum of what they are rescaled by (incoming weights
 * and bias), which no permutation of any layer changes: a permuted copy of a model comes out
 * as the model itself, bit for bit, so everything computed from it is the same.
 */
function canonicalOrder(sym: Symmetries, w: Float32Array): Float32Array {
  for (const layer of sym.hidden) {
    const n = layer.units;
    const per = layer.scaled.length / n;
    const key = Float64Array.from({ length: n }, (_, u) => {
      let s = 0;
      for (let k = 0; k < per; k++) s += w[layer.scaled[u * per + k]];
      return s;
    });
    const order = Int32Array.from({ length: n }, (_, u) => u).sort((a, b) => key[a] - key[b] || a - b);
    permuteUnits(w, layer, order);
  }
  return w;
}

/**
 * Every hidden unit rescaled to unit norm of what it is rescaled by (its incoming weights and
 * bias, or its batch norm's weight and bias), its outgoing weights taking the factor, layer
 * after layer: the function is unchanged (positively homogeneous activations, symmetry.ts),
 * and a rescaled copy of a model comes out as the model itself.
 */
function canonicalScale(sym: Symmetries, w: Float32Array): Float32Array {
  const x = w.slice();
  for (const layer of sym.hidden) {
    const n = layer.units;
    const inPer = layer.scaled.length / n;
    const outPer = layer.out.length / n;
    for (let u = 0; u < n; u++) {
      let sq = 0;
      for (let k = 0; k < inPer; k++) sq += x[layer.scaled[u * inPer + k]] ** 2;
      const c = Math.sqrt(sq);
      if (!(c > 0)) continue;
      for (let k = 0; k < inPer; k++) x[layer.scaled[u * inPer + k]] /= c;
      for (let k = 0; k < outPer; k++) x[layer.out[u * outPer + k]] *= c;
    }
  }
  return x;
}

/** Symmetries for aligning models already at canonical scale: permutation only. */
const permutationOnly = (sym: Symmetries): Symmetries => ({ ...sym, scale: false });

/**
 * Per shared tensor, atanh of the correlation of X (aligned to Y) with Y; both in the shared
 * layout at canonical scale. The alignment's summary comes with it.
 */
export function tensorSimilarity(
  view: SharedView,
  x: Float32Array,
  y: Float32Array,
): { z: Float64Array; moved: number; units: number } {
  const aligned = alignTo(permutationOnly(view.symmetries), x, y);
  const z = Float64Array.from(view.architecture.params, (t) =>
    fisherZ(correlation(aligned.weights, y, t.offset, t.size)),
  );
  return { z, moved: aligned.moved, units: aligned.units };
}

/** Correlations this close to 1 are as strong as evidence gets in float32 weights. */
const MAX_CORRELATION = 1 - 1e-7;
export const fisherZ = (r: number) => Math.atanh(Math.max(-MAX_CORRELATION, Math.min(MAX_CORRELATION, r)));

export function correlation(a: Float32Array, b: Float32Array, offset: number, size: number): number {
  let ma = 0;
  let mb = 0;
  for (let k = offset; k < offset + size; k++) {
    ma += a[k];
    mb += b[k];
  }
  ma /= size;
  mb /= size;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let k = offset; k < offset + size; k++) {
    const x = a[k] - ma;
    const y = b[k] - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * The null of the test for one target B: the references' similarities to B, per tensor, and
 * the scores they get against each other (each against the other references, as A is
 * against all of them), so that A's score ranks among theirs as one more member would.
 */
export interface ReferenceNull {
  tensors: number;
  /** Per tensor: the references' mean and standard deviation of z. */
  mean: Float64Array;
  sd: Float64Array;
  /** The references' scores, ascending, and their standard deviation. */
  scores: Float64Array;
  scoreSd: number;
}

/** The null from the references' z (rows: references, columns: tensors); needs 3 or more references. */
export function referenceNull(refZ: Float64Array[]): ReferenceNull {
  const K = refZ.length;
  const L = refZ[0].length;
  const mean = new Float64Array(L);
  const sd = new Float64Array(L);
  const scores = new Float64Array(K);
  for (let l = 0; l < L; l++) {
    let sum = 0;
    let sq = 0;
    for (const row of refZ) {
      sum += row[l];
      sq += row[l] * row[l];
    }
    mean[l] = sum / K;
    sd[l] = Math.sqrt(Math.max(0, (sq - K * mean[l] * mean[l]) / (K - 1)));
    refZ.forEach((row, k) => {
      const m = K - 1;
      const mk = (sum - row[l]) / m;
      const sk = Math.sqrt(Math.max(0, (sq - row[l] * row[l] - m * mk * mk) / (m - 1)));
      scores[k] -= tensorLogP(sk > 0 ? (row[l] - mk) / sk : 0);
    });
  }
  scores.sort();
  return { tensors: L, mean, sd, scores, scoreSd: deviation(scores) || 1 };
}

/** Where a tensor's tail turns from the normal's to an exponential: the normal's 95th percentile. */
const TAIL_FROM = 1.6448536269514722;
/** The normal tail's slope there (its hazard, phi / Phi-bar): the exponential continues it. */
const TAIL_SLOPE = Math.exp(-0.5 * TAIL_FROM * TAIL_FROM) / Math.sqrt(2 * Math.PI) / 0.05;

/**
 * log p of one tensor's standardised similarity u: the normal tail up to its 95th percentile,
 * beyond it an exponential with the normal's slope there, so that evidence grows linearly in
 * u, not as u^2 / 2: a reference that happens to sit far out (a heavier tail than the
 * normal's, as models trained on other tasks than the references show) cannot pass for a
 * derivation, while a derived model, dozens of deviations out, still is one.
 */
export function tensorLogP(u: number): number {
  return u <= TAIL_FROM ? logNormalTail(u) : logNormalTail(TAIL_FROM) - (u - TAIL_FROM) * TAIL_SLOPE;
}

/**
 * A candidate's p-value against the null: its z standardised by the references' mean and
 * deviation, each tensor's log p (tensorLogP) summed by Fisher's method into a score, ranked
 * among the references' scores (rankTailPValue: exact rank, exponential tail beyond).
 */
export function testAgainst(
  nul: ReferenceNull,
  z: ArrayLike<number>,
  names: string[],
): { p: number; tensors: TensorEvidence[] } {
  let score = 0;
  const tensors = names.map((name, l) => {
    const standardised = nul.sd[l] > 0 ? (z[l] - nul.mean[l]) / nul.sd[l] : 0;
    const logP = tensorLogP(standardised);
    score -= logP;
    return { name, z: z[l], standardised, p: Math.exp(logP) };
  });
  const p = rankTailPValue(nul.scores, score, nul.scoreSd);
  tensors.sort((x, y) => y.standardised - x.standardised);
  return { p, tensors };
}

function deviation(xs: Float64Array): number {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, xs.length - 1));
}

/**
 * log P(Z > x) for a standard normal Z, finite however far out x lies (a derived model's
 * tensors sit dozens of standard deviations out): from erfc's continued fraction for x >= 2,
 * erf's series between 0 and 2, and log(1 - P(Z > -x)) below 0.
 */
export function logNormalTail(x: number): number {
  if (x < 0) return Math.log1p(-Math.exp(logNormalTail(-x)));
  const t = x / Math.SQRT2;
  if (x >= 2) {
    // erfc(t) = exp(-t^2) / sqrt(pi) / (t + 1/2 / (t + 1 / (t + 3/2 / (t + ...))))
    let f = t;
    for (let k = 40; k >= 1; k--) f = t + k / 2 / f;
    return -t * t - Math.log(Math.sqrt(Math.PI) * f) + Math.log(0.5);
  }
  // erf(t) = 2 / sqrt(pi) * sum_k (-1)^k t^(2k+1) / (k! (2k+1)), t < sqrt(2)
  let term = t;
  let sum = t;
  for (let k = 1; k < 40; k++) {
    term *= (-t * t) / k;
    sum += term / (2 * k + 1);
  }
  return Math.log(0.5 * (1 - (2 / Math.sqrt(Math.PI)) * sum));
}

/** Is B derived from A? A's and B's weights, and references trained as A was (see ProvenanceOptions). */
export function provenance(a: ModelWeights, b: ModelWeights, options: ProvenanceOptions): Provenance {
  const alpha = options.alpha ?? PROVENANCE_DEFAULTS.alpha;
  if (!(alpha > 0 && alpha < 1))
    throw new ProvenanceError(`${option('alpha')} must lie between 0 and 1, got ${alpha}`);
  const view = sharedView(a, b.architecture);
  if ('unrelated' in view)
    return {
      verdict: 'unrelated architectures',
      p: 1,
      pFloor: 1,
      alpha,
      tensors: [],
      resized: [],
      references: options.references.length,
      alignment: null,
      note: view.unrelated,
    };
  const k = options.references.length;
  if (k < PROVENANCE_DEFAULTS.minReferences)
    throw new ProvenanceError(
      `${k} reference model(s) given; the test needs at least ${PROVENANCE_DEFAULTS.minReferences} models trained as A was (${option('references')}: A's zoo's other runs)`,
    );
  options.references.forEach((r, i) => {
    if (r.length !== a.architecture.size)
      throw new ProvenanceError(
        `reference ${i} has ${r.length} weights, A's architecture ${a.architecture.size}; references must be models of A's architecture`,
      );
  });
  const target = inSharedView(view, b.weights, 'b');
  const members = [a.weights, ...options.references].map((w) => inSharedView(view, w, 'a'));
  const sims = members.map((x) => tensorSimilarity(view, x, target));
  const names = view.architecture.params.map((t) => t.name);
  const { p, tensors } = testAgainst(referenceNull(sims.slice(1).map((s) => s.z)), sims[0].z, names);
  return {
    verdict: p < alpha ? 'derived' : 'independent',
    p,
    pFloor: 1 / (k + 1),
    alpha,
    tensors,
    resized: view.resized,
    references: k,
    alignment: { moved: sims[0].moved, units: sims[0].units, scaled: view.symmetries.scale },
    note: view.symmetries.note,
  };
}

/**
 * z of model i aligned to model j, per tensor, for rows i in [from, to) and every j > i (the
 * pair's other order is taken as the same): models at canonical scale in the shared layout,
 * model i at i * size of `models`. Row i's values start at ((i - from) * n + j) * tensors.
 */
export function pairSimilarityRows(
  view: SharedView,
  models: Float32Array,
  n: number,
  from: number,
  to: number,
): Float64Array {
  const size = view.architecture.size;
  const L = view.architecture.params.length;
  const out = new Float64Array((to - from) * n * L);
  const at = (i: number) => models.subarray(i * size, (i + 1) * size);
  for (let i = from; i < to; i++)
    for (let j = i + 1; j < n; j++) out.set(tensorSimilarity(view, at(i), at(j)).z, ((i - from) * n + j) * L);
  return out;
}

/** z of every reference aligned to model j, for j in [from, to): at ((j - from) * K + k) * tensors. */
export function referenceSimilarityRows(
  view: SharedView,
  models: Float32Array,
  references: Float32Array,
  from: number,
  to: number,
): Float64Array {
  const size = view.architecture.size;
  const L = view.architecture.params.length;
  const K = references.length / size;
  const out = new Float64Array((to - from) * K * L);
  for (let j = from; j < to; j++) {
    const target = models.subarray(j * size, (j + 1) * size);
    for (let k = 0; k < K; k++)
      out.set(
        tensorSimilarity(view, references.subarray(k * size, (k + 1) * size), target).z,
        ((j - from) * K + k) * L,
      );
  }
  return out;
}
