/**
 * What defines a zoo: architecture, seeds, data and the training hyperparameters.
 * Two zoos with equal configs are bit-identical; the manifest stores this object.
 */
import type { ArchName } from './architectures.ts';

export interface ZooConfig {
  arch: ArchName;
  /** Runs use seeds seedStart, seedStart+1, ..., seedStart+seedCount-1; run id i has seed seedStart+i. */
  seedStart: number;
  seedCount: number;
  /** Epochs trained; checkpoints are stored for epochs 0 (initialisation) to `epochs`. */
  epochs: number;
  /** First `trainSize` MNIST training images and first `testSize` test images. */
  trainSize: number;
  testSize: number;
  /** SGD with momentum, weight decay added to the gradient (PyTorch's torch.optim.SGD). */
  learningRate: number;
  momentum: number;
  weightDecay: number;
  batchSize: number;
  /** Fixed by the paper; recorded so that a manifest is self-describing. */
  init: 'kaiming-normal';
  loss: 'mse';
}

export function seedOf(config: ZooConfig, run: number): number {
  return config.seedStart + run;
}

/** Steps per epoch: the last batch may be smaller (PyTorch DataLoader, drop_last=False). */
export function stepsPerEpoch(config: ZooConfig): number {
  return Math.ceil(config.trainSize / config.batchSize);
}
