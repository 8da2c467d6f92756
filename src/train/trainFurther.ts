/**
 * Further training of zoo checkpoints, the way a user fine-tunes a copy: a run's checkpoint
 * (its last, or any epoch: a fork) trained on for a few more epochs with fresh momentum (an
 * optimizer state is not part of a checkpoint) and a data order of its own, drawn from
 * `dataSeed` instead of the run's seed; optionally with another learning rate or batch size,
 * on a changed task, or with the last layer re-initialised first. Used to make the
 * descendants and forks that identify must attribute (evaluation, tests).
 */
import { toImageSet } from '../data/imageSet.ts';
import { loadMnist, SIDE, CLASSES, type MnistSplit } from '../data/mnist.ts';
import type { Zoo } from '../store/loadZoo.ts';
import { ZooError } from '../store/manifest.ts';
import { createModel } from './models/factory.ts';
import { LockstepTrainer } from './lockstep.ts';
import { kaimingNormal } from './init.ts';
import { checkpointWeights } from '../core/zoo.ts';
import type { ZooConfig } from '../core/zooConfig.ts';
import { runJobs } from '../util/workerPool.ts';

/**
 * A changed task: `permuted-labels` trains on label (y + 1) mod 10 (every class renamed),
 * `rotated` on the images turned 90 degrees clockwise.
 */
export type TaskChange = 'permuted-labels' | 'rotated';
export const TASK_CHANGES: readonly TaskChange[] = ['permuted-labels', 'rotated'];

export interface TrainFurtherOptions {
  /** Zoo runs to continue. */
  runs: number[];
  /** Epochs of further training; a checkpoint is returned after each. */
  epochs: number;
  /** The epoch to continue from (default: the zoo's last). */
  from?: number;
  /** Seed of the data order (default: 1,000,003 + the run's seed). */
  dataSeed?: (run: number) => number;
  /** Learning rate and batch size (default: the zoo's). */
  learningRate?: number;
  batchSize?: number;
  task?: TaskChange;
  /** Re-initialise the last layer (Kaiming normal, from the data seed) before training. */
  reinitLast?: boolean;
}

/** One further-training job, self-contained so a worker thread can run it (trainFurtherJobs). */
export interface FurtherJob extends Omit<TrainFurtherOptions, 'runs' | 'dataSeed'> {
  config: ZooConfig;
  /** Data-order seed per model. */
  seeds: number[];
  /** The models' starting weights, model i at i * P. */
  start: Float64Array;
}

/** checkpoints[e][i]: run runs[i] after e + 1 further epochs (float32, the zoo's layout). */
export function trainFurther(zoo: Zoo, options: TrainFurtherOptions): Float32Array[][] {
  return continueTraining(furtherJob(zoo, options));
}

/** Several trainFurther calls on up to `workers` threads; results in the order given. */
export function trainFurtherJobs(
  zoo: Zoo,
  list: TrainFurtherOptions[],
  workers: number,
  onDone?: (done: number) => void,
): Promise<Float32Array[][][]> {
  let done = 0;
  return runJobs<FurtherJob, Float32Array[][]>(
    new URL('./trainFurtherWorker.ts', import.meta.url),
    list.map((options) => furtherJob(zoo, options)),
    workers,
    () => onDone?.(++done),
  );
}

function furtherJob(zoo: Zoo, options: TrainFurtherOptions): FurtherJob {
  const config = zoo.manifest.config;
  if (!config)
    throw new ZooError(
      `${zoo.manifest.name} was imported, not trained here: there is no training setup to continue`,
    );
  const from = options.from ?? zoo.epochs;
  if (!Number.isInteger(from) || from < 0 || from > zoo.epochs)
    throw new ZooError(
      `cannot continue from epoch ${from}: ${zoo.manifest.name} has epochs 0 to ${zoo.epochs}`,
    );
  const P = zoo.dim;
  const start = new Float64Array(options.runs.length * P);
  options.runs.forEach((r, i) => start.set(checkpointWeights(zoo, r, from), i * P));
  const { runs, dataSeed, ...rest } = options;
  return { ...rest, from, config, seeds: runs.map((r) => dataSeed?.(r) ?? 1_000_003 + zoo.seed[r]), start };
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

function changeTask(split: MnistSplit, task: TaskChange): MnistSplit {
  if (task === 'permuted-labels') return { ...split, labels: split.labels.map((y) => (y + 1) % CLASSES) };
  const images = new Float32Array(split.images.length);
  const px = SIDE * SIDE;
  for (let i = 0; i < split.n; i++)
    for (let r = 0; r < SIDE; r++)
      for (let c = 0; c < SIDE; c++)
        // clockwise: the new (r, c) is the old (SIDE - 1 - c, r)
        images[i * px + r * SIDE + c] = split.images[i * px + (SIDE - 1 - c) * SIDE + r];
  return { ...split, images };
}
