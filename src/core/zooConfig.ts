/**
 * What defines a zoo: architecture, seeds, data and the training hyperparameters.
 * Two zoos with equal configs are bit-identical; the manifest stores this object.
 */
import type { ArchName } from './architectures.ts';
import { UserError } from './errors.ts';

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

export class ZooConfigError extends UserError {}

/** Valid range of each integer field: the validator and the CLI's options read it here. */
export const CONFIG_RANGES = {
  seedStart: [0, 0xffffffff],
  seedCount: [1, 100000],
  epochs: [0, 100000],
  trainSize: [1, 60000],
  testSize: [1, 10000],
  batchSize: [1, 60000],
} as const satisfies Partial<Record<keyof ZooConfig, readonly [number, number]>>;

/** Throws a ZooConfigError naming the first invalid field and its valid range. */
export function validateZooConfig(config: ZooConfig): void {
  const int = (name: keyof typeof CONFIG_RANGES) => {
    const [min, max] = CONFIG_RANGES[name];
    const v = config[name];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new ZooConfigError(`${name} must be an integer from ${min} to ${max}, got ${v}`);
    }
  };
  const positive = (name: keyof ZooConfig, allowZero: boolean) => {
    const v = config[name] as number;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
      throw new ZooConfigError(
        `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${v}`,
      );
    }
  };
  if (config.arch !== 'ffnn' && config.arch !== 'cnn')
    throw new ZooConfigError(`unknown architecture '${config.arch}' (choose ffnn or cnn)`);
  int('seedStart');
  int('seedCount');
  if (config.seedStart + config.seedCount - 1 > 0xffffffff)
    throw new ZooConfigError('seeds must stay below 2^32');
  int('epochs');
  int('trainSize');
  int('testSize');
  int('batchSize');
  positive('learningRate', false);
  positive('weightDecay', true);
  positive('momentum', true);
  if (config.momentum >= 1) throw new ZooConfigError(`momentum must be below 1, got ${config.momentum}`);
}
