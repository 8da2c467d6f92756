/**
 * Worker thread: trains a contiguous group of runs in lockstep. Weights and momentum live
 * in SharedArrayBuffers owned by the main thread, so results need no copying; the main
 * thread only reads them between epochs, while this worker waits for its next message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ImageSet } from '../data/imageSet.ts';
import { createKernel } from './kernel.ts';
import { LockstepTrainer } from './lockstep.ts';
import type { ZooConfig } from './zooConfig.ts';

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

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'progress'; epoch: number; steps: number }
  | { type: 'epoch'; epoch: number; trainLoss: Float64Array; testLoss: Float64Array; testAccuracy: Float64Array };

const data = workerData as ZooWorkerData;
const trainer = new LockstepTrainer(createKernel(data.config.arch), data.config, data.seeds, data.weights, data.momentum, data.train, data.test);
const port = parentPort!;

port.on('message', ({ epoch }: EpochRequest) => {
  const trainLoss =
    epoch === 0
      ? new Float64Array(data.seeds.length).fill(NaN)
      : trainer.trainEpoch(epoch, (steps) => port.postMessage({ type: 'progress', epoch, steps } satisfies WorkerReply), data.progressEvery);
  const { loss, accuracy } = trainer.evaluate();
  port.postMessage({ type: 'epoch', epoch, trainLoss, testLoss: loss, testAccuracy: accuracy } satisfies WorkerReply);
});
port.postMessage({ type: 'ready' } satisfies WorkerReply);
