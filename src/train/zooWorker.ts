/**
 * Worker thread: trains a contiguous group of runs in lockstep. Weights and momentum live
 * in SharedArrayBuffers owned by the main thread, so results need no copying; the main
 * thread only reads them between epochs, while this worker waits for its next message.
 */
import { workerData } from 'node:worker_threads';
import { serveJobs } from '../util/workerPool.ts';
import type { ImageSet } from '../data/imageSet.ts';
import { createModel } from './models/factory.ts';
import { LockstepTrainer } from './lockstep.ts';
import type { ZooConfig } from '../core/zooConfig.ts';

export interface ZooWorkerData {
  config: ZooConfig;
  seeds: number[];
  /** This worker's slices of the shared state (views on SharedArrayBuffers). */
  weights: Float64Array;
  momentum: Float64Array;
  train: ImageSet;
  test: ImageSet;
  progressEvery: number;
}

/** Main -> worker: train epoch `epoch` (0: only evaluate the initial weights). */
export interface EpochRequest {
  epoch: number;
}

/** Worker -> main, after an epoch: this worker's runs' metrics. */
export interface EpochReply {
  trainLoss: Float64Array;
  testLoss: Float64Array;
  testAccuracy: Float64Array;
}

/** Worker -> main while training: optimiser steps done in this epoch. */
export type StepsDone = number;

const data = workerData as ZooWorkerData;
const trainer = new LockstepTrainer(
  createModel(data.config.arch),
  data.config,
  data.seeds,
  data.weights,
  data.momentum,
  data.train,
  data.test,
);

serveJobs<EpochRequest, EpochReply, StepsDone>(({ epoch }, progress) => {
  const trainLoss =
    epoch === 0
      ? new Float64Array(data.seeds.length).fill(NaN)
      : trainer.trainEpoch(epoch, progress, data.progressEvery);
  const { loss, accuracy } = trainer.evaluate();
  return { trainLoss, testLoss: loss, testAccuracy: accuracy };
});
