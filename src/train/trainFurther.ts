/**
 * Further training of zoo checkpoints: a run's last checkpoint trained on for a few more
 * epochs, the way a user fine-tunes a copy. Same data and hyperparameters as the zoo, fresh
 * momentum (an optimizer state is not part of a checkpoint), and a data order of its own,
 * drawn from `dataSeed` instead of the run's seed. Used to make the descendants that
 * identify must attribute (evaluation, tests).
 */
import { toImageSet } from '../data/imageSet.ts';
import { loadMnist } from '../data/mnist.ts';
import type { Zoo } from '../store/loadZoo.ts';
import { ZooError } from '../store/manifest.ts';
import { createModel } from './models/factory.ts';
import { LockstepTrainer } from './lockstep.ts';
import { checkpointWeights } from '../core/zoo.ts';

export interface TrainFurtherOptions {
  /** Zoo runs to continue from their last checkpoint. */
  runs: number[];
  /** Epochs of further training; a checkpoint is returned after each. */
  epochs: number;
  /** Seed of the data order (default: 1,000,003 + the run's seed). */
  dataSeed?: (run: number) => number;
}

/** checkpoints[e][i]: run runs[i] after e + 1 further epochs (float32, the zoo's layout). */
export function trainFurther(zoo: Zoo, options: TrainFurtherOptions): Float32Array[][] {
  const config = zoo.manifest.config;
  if (!config)
    throw new ZooError(
      `${zoo.manifest.name} was imported, not trained here: there is no training setup to continue`,
    );
  const P = zoo.dim;
  const mnist = loadMnist({ trainSize: config.trainSize, testSize: config.testSize });
  const seeds = options.runs.map((r) => options.dataSeed?.(r) ?? 1_000_003 + zoo.seed[r]);
  const weights = new Float64Array(options.runs.length * P);
  options.runs.forEach((r, i) => weights.set(checkpointWeights(zoo, r, zoo.epochs), i * P));
  const trainer = new LockstepTrainer(
    createModel(config.arch),
    config,
    seeds,
    weights,
    new Float64Array(weights.length),
    toImageSet(mnist.train),
    toImageSet(mnist.test),
  );
  const checkpoints: Float32Array[][] = [];
  for (let e = 1; e <= options.epochs; e++) {
    trainer.trainEpoch(zoo.epochs + e);
    checkpoints.push(options.runs.map((_, i) => Float32Array.from(weights.subarray(i * P, (i + 1) * P))));
  }
  return checkpoints;
}
