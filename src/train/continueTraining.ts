/**
 * One further-training job (trainFurther.ts): models trained on from given weights, with their
 * own data-order seeds, fresh momentum, and the zoo's setup or a changed one. Self-contained,
 * so a worker thread can run it (trainFurtherWorker.ts).
 */
import { toImageSet } from '../data/imageSet.ts';
import { loadMnist, CLASSES, type MnistSplit } from '../data/mnist.ts';
import type { ZooConfig } from '../core/zooConfig.ts';
import { createModel } from './models/factory.ts';
import { LockstepTrainer } from './lockstep.ts';
import { kaimingNormal } from './init.ts';
import { Rng } from '../core/rng.ts';

/**
 * A changed task: `permuted-labels` trains on label (y + 1) mod 10 (every class renamed),
 * `rotated` on the images turned 90 degrees clockwise.
 */
export type TaskChange = 'permuted-labels' | 'rotated';
export const TASK_CHANGES: readonly TaskChange[] = ['permuted-labels', 'rotated'];

/**
 * A task in detail (the named changes are two of them): labels renamed y -> (y + labelShift)
 * mod 10, images turned clockwise by quarter turns, only the images of some classes, or a
 * share of the images drawn from `seed`; in that order, each optional.
 */
export interface TaskSpec {
  labelShift?: number;
  quarterTurns?: number;
  classes?: readonly number[];
  share?: number;
  /** Seed of the share's draw (default 0). */
  seed?: number;
}

const NAMED_TASKS: Record<TaskChange, TaskSpec> = {
  'permuted-labels': { labelShift: 1 },
  rotated: { quarterTurns: 1 },
};

/** A task's spec: a named change's, or the spec itself. */
export const taskSpec = (task: TaskChange | TaskSpec): TaskSpec =>
  typeof task === 'string' ? NAMED_TASKS[task] : task;

export interface FurtherJob {
  /** The epoch the start weights are from (the data order of epoch from + e is drawn per seed). */
  from?: number;
  /** Epochs of further training; a checkpoint is returned after each. */
  epochs: number;
  /** Learning rate and batch size (default: the config's). */
  learningRate?: number;
  batchSize?: number;
  task?: TaskChange | TaskSpec;
  /** Re-initialise the last layer (Kaiming normal, from the data seed) before training. */
  reinitLast?: boolean;
  config: ZooConfig;
  /** Data-order seed per model. */
  seeds: number[];
  /** The models' starting weights, model i at i * P. */
  start: Float64Array;
}

/** Runs one job: checkpoints[e][i] is model i after e + 1 further epochs. */
export function continueTraining(job: FurtherJob): Float32Array[][] {
  const config = {
    ...job.config,
    learningRate: job.learningRate ?? job.config.learningRate,
    batchSize: job.batchSize ?? job.config.batchSize,
  };
  const { seeds, from = 0 } = job;
  const model = createModel(config.arch);
  const P = model.arch.size;
  const weights = Float64Array.from(job.start);
  if (job.reinitLast) {
    const last = model.arch.params[model.arch.params.length - 1];
    const fresh = new Float64Array(P);
    seeds.forEach((seed, i) => {
      kaimingNormal(model.arch, seed, fresh);
      weights.set(fresh.subarray(last.offset, last.offset + last.size), i * P + last.offset);
    });
  }
  const mnist = loadMnist({ trainSize: config.trainSize, testSize: config.testSize });
  const changed = (split: MnistSplit) => (job.task ? changeTask(split, job.task) : split);
  const trainer = new LockstepTrainer(
    model,
    config,
    seeds,
    weights,
    new Float64Array(weights.length),
    toImageSet(changed(mnist.train)),
    toImageSet(changed(mnist.test)),
  );
  const checkpoints: Float32Array[][] = [];
  for (let e = 1; e <= job.epochs; e++) {
    trainer.trainEpoch(from + e);
    checkpoints.push(seeds.map((_, i) => Float32Array.from(weights.subarray(i * P, (i + 1) * P))));
  }
  return checkpoints;
}

/** The split with the task changed (TaskChange or TaskSpec), images of any side. */
export function changeTask(split: MnistSplit, task: TaskChange | TaskSpec): MnistSplit {
  const { labelShift = 0, quarterTurns = 0, classes, share, seed = 0 } = taskSpec(task);
  let out = split;
  if (labelShift % CLASSES) out = { ...out, labels: out.labels.map((y) => (y + labelShift) % CLASSES) };
  for (let t = 0; t < quarterTurns % 4; t++) out = { ...out, images: turnClockwise(out) };
  if (classes) out = pick(out, (i) => classes.includes(split.labels[i]));
  if (share !== undefined) {
    const keep = new Set(
      new Rng(seed, SHARE_STREAM).permutation(out.n).subarray(0, Math.round(share * out.n)),
    );
    out = pick(out, (i) => keep.has(i));
  }
  return out;
}

/** Stream of a task's share draw (core/rng.ts: streams 0 and 1..epochs belong to training). */
const SHARE_STREAM = 0xffff_0001;

function turnClockwise(split: MnistSplit): Float32Array {
  const images = new Float32Array(split.images.length);
  const px = split.images.length / split.n;
  const side = Math.round(Math.sqrt(px));
  for (let i = 0; i < split.n; i++)
    for (let r = 0; r < side; r++)
      for (let c = 0; c < side; c++)
        // clockwise: the new (r, c) is the old (side - 1 - c, r)
        images[i * px + r * side + c] = split.images[i * px + (side - 1 - c) * side + r];
  return images;
}

/** The images i of the split for which keep(i) holds, in order. */
function pick(split: MnistSplit, keep: (i: number) => boolean): MnistSplit {
  const px = split.images.length / split.n;
  const rows = Array.from({ length: split.n }, (_, i) => i).filter(keep);
  const images = new Float32Array(rows.length * px);
  rows.forEach((i, k) => images.set(split.images.subarray(i * px, (i + 1) * px), k * px));
  return { n: rows.length, images, labels: Uint8Array.from(rows, (i) => split.labels[i]) };
}
