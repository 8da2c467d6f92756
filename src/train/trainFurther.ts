/**
 * Further training of zoo checkpoints, the way a user fine-tunes a copy: a run's checkpoint
 * (its last, or any epoch: a fork) trained on for a few more epochs with fresh momentum (an
 * optimizer state is not part of a checkpoint) and a data order of its own, drawn from
 * `dataSeed` instead of the run's seed; optionally with another learning rate or batch size,
 * on a changed task, or with the last layer re-initialised first. Used to make the
 * descendants and forks that identify must attribute (evaluation, tests).
 */
import type { Zoo } from '../store/loadZoo.ts';
import { ZooError } from '../store/manifest.ts';
import { checkpointWeights } from '../core/zoo.ts';
import { runJobs } from '../util/workerPool.ts';
import { continueTraining, type FurtherJob } from './continueTraining.ts';

export { TASK_CHANGES, type FurtherJob, type TaskChange } from './continueTraining.ts';

/**
 * Runs to continue and how (continueTraining.ts's FurtherJob): `from` defaults to the zoo's
 * last epoch, the learning rate and batch size to the zoo's; a checkpoint after each of `epochs`.
 */
export interface TrainFurtherOptions extends Omit<FurtherJob, 'config' | 'seeds' | 'start'> {
  /** Zoo runs to continue. */
  runs: number[];
  /** The run's own learning rate times this (when no learningRate is given). */
  learningRateScale?: number;
  /** Seed of the data order (default: 1,000,003 + the run's seed). */
  dataSeed?: (run: number) => number;
  /**
   * Weights to start from instead of each run's checkpoint (one per run, the zoo's layout):
   * a model that descends from the run, trained on as the run was (fine-tunes of fine-tunes).
   */
  startWeights?: Float32Array[];
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
  if (options.startWeights && options.startWeights.length !== options.runs.length)
    throw new ZooError(
      `startWeights holds ${options.startWeights.length} models for ${options.runs.length} runs`,
    );
  options.runs.forEach((r, i) =>
    start.set(options.startWeights?.[i] ?? checkpointWeights(zoo, r, from), i * P),
  );
  const { runs, dataSeed, learningRateScale, startWeights: _start, ...rest } = options;
  const learningRate = rest.learningRate ?? (learningRateScale ?? 1) * config.learningRate;
  return {
    ...rest,
    learningRate,
    from,
    config,
    seeds: runs.map((r) => dataSeed?.(r) ?? 1_000_003 + zoo.seed[r]),
    start,
  };
}
