/**
 * The queries identify's evaluation (evaluate.ts) asks about, each with the run it comes from
 * (-1: a seed the index does not hold), the epoch it should be placed at (for a fork: where it
 * branched) and the verdicts that count as right. Every query is made from the zoo the way a
 * user changes a checkpoint: trained further or forked with other settings (trainFurther.ts,
 * on both cores), hidden units permuted or rescaled (symmetry.ts), noise, pruning, float16.
 */
import { inNetworkOrder, networkOf } from '../core/network.ts';
import { Rng } from '../core/rng.ts';
import { checkpointWeights } from '../core/zoo.ts';
import type { Zoo } from '../store/loadZoo.ts';
import { toFloat16 } from '../util/float16.ts';
import { forward } from '../train/forward.ts';
import { trainFurtherJobs, type TrainFurtherOptions } from '../train/trainFurther.ts';
import { tfjsTrainFurtherJobs, tfjsUntrainable } from '../train/tfjsFurther.ts';
import { defaultWorkers } from '../util/threads.ts';
import type { Verdict } from './identify.ts';
import { disguisedCopy, symmetriesOf, type Symmetries } from './symmetry.ts';

export interface Query {
  w: Float32Array;
  /** The run it comes from, or -1. */
  run: number;
  /** Where identify should place it: its epoch, or for a fork the epoch it branched at. */
  epoch?: number;
}

export interface QuerySet {
  set: string;
  group: 'held-out' | 'unknown' | 'descendants' | 'forks' | 'disguised' | 'perturbed';
  /** 'even': against an index of the known runs' even epochs; 'all': of all their epochs. */
  index: 'even' | 'all';
  queries: Query[];
  /** Verdicts that count as right (null: none expected, only the run). */
  expected: Verdict[] | null;
  /**
   * For copies of checkpoints: how far their outputs are from the checkpoints' own, by the
   * network's reference forward pass on the probe images (the largest absolute difference over
   * the set, and the largest absolute output, for scale); absent without a network or probe.
   */
  outputs?: { maxAbsDifference: number; maxAbsOutput: number; images: number };
}

/** Inputs the copies' outputs are compared on: `count` samples in the network's input layout. */
export interface Probe {
  images: Float32Array;
  count: number;
}

export interface EvaluationPlan {
  /** Runs the index holds: the first 80 %. */
  known: number;
  /** Known runs that are forked (evenly spread; default 10). */
  forkRuns: number[];
  /** Epochs forks branch from: 2, 5, 10, 15, 30, 45, those before the zoo's last. */
  forkEpochs: number[];
  /** Epochs of training after the branch that are asked about. */
  forkAfter: number[];
  /**
   * Why descendants and forks are not trained (null: they are): the engine trains the built-in
   * networks, tfjs the recorded tfjs zoos whose runs recorded their training (tfjsFurther.ts).
   */
  notTrained: string | null;
}

export const FORK_SETTINGS: { name: string; options: () => Partial<TrainFurtherOptions> }[] = [
  { name: 'other data order', options: () => ({}) },
  { name: 'lr x 0.3', options: () => ({ learningRateScale: 0.3 }) },
  { name: 'batch 32', options: () => ({ batchSize: 32 }) },
  { name: 'labels permuted', options: () => ({ task: 'permuted-labels' }) },
  { name: 'images rotated 90 degrees', options: () => ({ task: 'rotated' }) },
  { name: 'last layer re-initialised', options: () => ({ reinitLast: true }) },
];

export function evaluationPlan(zoo: Zoo, forkRunCount = 10): EvaluationPlan {
  const known = Math.max(2, Math.round(zoo.runs * 0.8));
  const count = Math.min(forkRunCount, known);
  return {
    known,
    forkRuns: Array.from({ length: count }, (_, i) => Math.floor((i * known) / count)),
    forkEpochs: [2, 5, 10, 15, 30, 45].filter((e) => e < zoo.epochs),
    forkAfter: [1, 3, 10],
    notTrained: zoo.manifest.config ? null : notTrainedHere(zoo, known),
  };
}

function notTrainedHere(zoo: Zoo, known: number): string | null {
  const prefix = 'descendants and forks are not trained: the engine trains the built-in networks';
  if (zoo.manifest.origin?.kind !== 'record')
    return `${prefix}, tfjs the zoos recorded from tfjs, and ${zoo.manifest.name} was imported`;
  const why = tfjsUntrainable(
    zoo,
    Array.from({ length: known }, (_, r) => r),
  );
  return why && `${prefix}, and tfjs cannot train ${zoo.manifest.name} further: ${why}`;
}

/** The checkpoint with its `fraction` of smallest-magnitude weights set to 0 (magnitude pruning). */
export function prunedCopy(w: Float32Array, fraction: number): Float32Array {
  const cut = Float32Array.from(w, Math.abs).sort()[Math.floor(fraction * w.length)];
  return w.map((v) => (Math.abs(v) < cut ? 0 : v));
}

/** Gaussian noise of `fraction` of the checkpoint's RMS weight (drawn once per checkpoint). */
export function noisyCopy(w: Float32Array, fraction: number, rng: Rng): Float32Array {
  const sigma = fraction * Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
  return w.map((v) => v + sigma * rng.nextNormal());
}

export interface EvaluationSetsOptions {
  onProgress?: (msg: string) => void;
  /** Threads the training (descendants, forks) runs on (default: every core). */
  workers?: number;
  /** Images the copies' outputs are compared on (QuerySet.outputs). */
  probe?: Probe;
}

/** Every query set of the evaluation. */
export async function evaluationSets(
  zoo: Zoo,
  plan: EvaluationPlan,
  options: EvaluationSetsOptions = {},
): Promise<QuerySet[]> {
  const { onProgress = () => {}, workers = defaultWorkers(), probe } = options;
  const { known } = plan;
  const row = (r: number, e: number) => checkpointWeights(zoo, r, e);
  const { architecture, network: given } = zoo.manifest;
  const sym = symmetriesOf(architecture, given);
  const rng = new Rng(12345, 7);
  const sets: QuerySet[] = [];
  const network = networkOf(architecture, given);
  const run = (w: Float32Array) =>
    forward(network!, inNetworkOrder(network!, architecture, w), probe!.images, probe!.count);
  // a checkpoint's own outputs, computed once for all the sets copying it
  const own = new WeakMap<Float32Array, Float64Array>();
  const runOwn = (w: Float32Array) => own.get(w) ?? own.set(w, run(w)).get(w)!;
  /** The outputs field of a set of copies: each compared with the checkpoint it was made from. */
  const outputsOf = (pairs: [Float32Array, Float32Array][]): QuerySet['outputs'] => {
    if (!network || !probe) return undefined;
    let [maxAbsDifference, maxAbsOutput] = [0, 0];
    for (const [original, copy] of pairs) {
      const [a, b] = [runOwn(original), run(copy)];
      for (let i = 0; i < a.length; i++) {
        maxAbsDifference = Math.max(maxAbsDifference, Math.abs(a[i] - b[i]));
        maxAbsOutput = Math.max(maxAbsOutput, Math.abs(a[i]));
      }
    }
    return { maxAbsDifference, maxAbsOutput, images: probe.count };
  };
  /** A set of copies of `from`'s checkpoints, each made by `change`, with their outputs compared. */
  const copySet = (
    from: Query[],
    set: Omit<QuerySet, 'queries' | 'outputs'>,
    change: (w: Float32Array) => Float32Array,
  ): QuerySet => {
    const copies = from.map((q) => ({ ...q, w: change(q.w) }));
    return { ...set, queries: copies, outputs: outputsOf(from.map((q, i) => [q.w, copies[i].w])) };
  };

  const odd: Query[] = [];
  for (let r = 0; r < known; r++)
    for (let e = 1; e <= zoo.epochs; e += 2) odd.push({ w: row(r, e), run: r, epoch: e });
  sets.push({
    set: 'held-out (odd epochs)',
    group: 'held-out',
    index: 'even',
    queries: odd,
    expected: ['member', 'descendant'],
  });

  const strangers: Query[] = [];
  for (let r = known; r < zoo.runs; r++)
    for (let e = 0; e <= zoo.epochs; e++) strangers.push({ w: row(r, e), run: -1 });
  const unknown = `unknown seeds (${zoo.runs - known} not indexed)`;
  sets.push({ set: unknown, group: 'unknown', index: 'all', queries: strangers, expected: ['unknown'] });
  const unknownCopies = (name: string, scale: boolean) =>
    sets.push(
      copySet(
        strangers,
        { set: `${unknown}, ${name}`, group: 'unknown', index: 'all', expected: ['unknown'] },
        (w) => disguisedCopy(sym, w, rng, { permute: true, scale }),
      ),
    );
  if (sym.hidden.length) unknownCopies('permuted', false);
  if (sym.hidden.length && sym.scale) unknownCopies('permuted + rescaled', true);

  sets.push(...(plan.notTrained ? [] : await trainedSets(zoo, plan, sym, rng, { onProgress, workers })));
  sets.push(...copiedSets(zoo, plan, sym, rng, copySet));
  return sets;
}

/** Descendants and forks, trained further by the engine (a recorded tfjs zoo: by tfjs). */
async function trainedSets(
  zoo: Zoo,
  plan: EvaluationPlan,
  sym: Symmetries,
  rng: Rng,
  { onProgress, workers }: { onProgress: (msg: string) => void; workers: number },
): Promise<QuerySet[]> {
  const { known, forkRuns, forkEpochs, forkAfter } = plan;
  const sets: QuerySet[] = [];
  // all training at once, so both cores stay busy: descendants (5 epochs from the end), then
  // every fork setting from every branch epoch
  const descendantRuns = Array.from({ length: known }, (_, r) => r);
  const jobs: TrainFurtherOptions[] = [{ runs: descendantRuns, epochs: 5 }];
  const forkJobs = FORK_SETTINGS.flatMap((s) =>
    forkEpochs.map((from) => ({
      setting: s.name,
      from,
      options: { ...s.options(), runs: forkRuns, from, epochs: Math.max(...forkAfter) },
    })),
  );
  jobs.push(...forkJobs.map((j) => j.options));
  onProgress(`training ${known} descendants and ${forkJobs.length} x ${forkRuns.length} forks`);
  const onDone = (done: number) => onProgress(`trained ${done} of ${jobs.length} jobs`);
  const trained = zoo.manifest.config
    ? await trainFurtherJobs(zoo, jobs, workers, onDone)
    : await tfjsTrainFurtherJobs(zoo, jobs, onDone);

  for (const e of [1, 2, 5])
    sets.push({
      set: `descendants, +${e} epoch${e > 1 ? 's' : ''}`,
      group: 'descendants',
      index: 'all',
      queries: trained[0][e - 1].map((w, i) => ({ w, run: descendantRuns[i] })),
      expected: ['descendant'],
    });

  const forksOf = (setting: string, after: number): Query[] =>
    forkJobs.flatMap((job, j) =>
      job.setting === setting
        ? trained[j + 1][after - 1].map((w, i) => ({ w, run: forkRuns[i], epoch: job.from }))
        : [],
    );
  for (const s of FORK_SETTINGS)
    for (const after of forkAfter)
      sets.push({
        set: `fork: ${s.name}, +${after}`,
        group: 'forks',
        index: 'all',
        queries: forksOf(s.name, after),
        expected: ['fork'],
      });
  if (sym.hidden.length)
    for (const after of forkAfter)
      sets.push({
        set: `fork: other data order, +${after}, permuted`,
        group: 'forks',
        index: 'all',
        queries: forksOf(FORK_SETTINGS[0].name, after).map((q) => ({
          ...q,
          w: disguisedCopy(sym, q.w, rng, { permute: true, scale: false }),
        })),
        expected: ['fork'],
      });

  return sets;
}

/**
 * Copies of the known runs' checkpoints, changed as users change a model: disguised (hidden
 * units permuted and, where the network allows, rescaled; the same function), then noise,
 * pruning and float16 on top of a disguise or alone.
 */
function copiedSets(
  zoo: Zoo,
  plan: EvaluationPlan,
  sym: Symmetries,
  rng: Rng,
  copySet: (
    from: Query[],
    set: Omit<QuerySet, 'queries' | 'outputs'>,
    change: (w: Float32Array) => Float32Array,
  ) => QuerySet,
): QuerySet[] {
  const base: Query[] = [];
  for (let r = 0; r < plan.known; r++)
    for (let e = 1; e <= zoo.epochs; e += Math.max(1, Math.floor(zoo.epochs / 5)))
      base.push({ w: checkpointWeights(zoo, r, e), run: r, epoch: e });
  const copies = (
    set: string,
    group: QuerySet['group'],
    expected: Verdict[] | null,
    change: (w: Float32Array) => Float32Array,
  ) => copySet(base, { set, group, index: 'all', expected }, change);
  const disguise = (w: Float32Array) => disguisedCopy(sym, w, rng, { permute: true, scale: sym.scale });
  const named = sym.scale ? 'permuted + rescaled' : 'permuted';
  const prune = (fraction: number) => (w: Float32Array) => prunedCopy(w, fraction);
  const sets: QuerySet[] = [];
  if (sym.hidden.length) {
    sets.push(
      copies('permuted', 'disguised', ['member'], (w) =>
        disguisedCopy(sym, w, rng, { permute: true, scale: false }),
      ),
    );
    if (sym.scale)
      sets.push(
        copies('rescaled (c in [0.5, 2])', 'disguised', ['member'], (w) =>
          disguisedCopy(sym, w, rng, { permute: false, scale: true }),
        ),
        copies('permuted + rescaled', 'disguised', ['member'], disguise),
      );
    sets.push(
      copies(`${named} + 1 % noise`, 'disguised', ['member'], (w) => noisyCopy(disguise(w), 0.01, rng)),
      copies(`${named}, pruned 10 %`, 'disguised', ['member'], (w) => prune(0.1)(disguise(w))),
      copies(`${named}, float16`, 'disguised', ['member'], (w) => disguise(w).map(toFloat16)),
    );
  }
  for (const s of [0.01, 0.05, 0.1])
    sets.push(copies(`noise ${s * 100} % of RMS`, 'perturbed', null, (w) => noisyCopy(w, s, rng)));
  for (const p of [0.1, 0.3, 0.5]) sets.push(copies(`pruned ${p * 100} %`, 'perturbed', null, prune(p)));
  sets.push(copies('float16 rounding', 'perturbed', null, (w) => w.map(toFloat16)));
  return sets;
}
