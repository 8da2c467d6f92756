/**
 * Named zoo configs. `paper` is Table 1 of Schürholt & Borth exactly. Table 1's CNN settings
 * do not learn (weight decay 0.1 shrinks the weights to zero before lr 3e-4 gets anywhere;
 * see docs/zoo.md, "Presets"), so `tuned` keeps the CNN architecture and changes only its
 * learning rate and weight decay, and the default zoo uses models that learn.
 */
import type { ArchName } from './architectures.ts';
import type { ZooConfig } from './zooConfig.ts';
import { UserError } from './errors.ts';

type Hyper = Pick<ZooConfig, 'learningRate' | 'momentum' | 'weightDecay' | 'batchSize'>;

/** Table 1 hyperparameters. */
export const PAPER_HYPER: Record<ArchName, Hyper> = {
  ffnn: { learningRate: 0.03, momentum: 0.9, weightDecay: 3e-4, batchSize: 4 },
  cnn: { learningRate: 3e-4, momentum: 0.9, weightDecay: 0.1, batchSize: 12 },
};

/** Hyperparameters whose models learn: Table 1 for the FFNN, a measured fix for the CNN. */
export const TUNED_HYPER: Record<ArchName, Hyper> = {
  ffnn: PAPER_HYPER.ffnn,
  cnn: { learningRate: 0.03, momentum: 0.9, weightDecay: 3e-4, batchSize: 12 },
};

type Scale = Pick<ZooConfig, 'seedStart' | 'seedCount' | 'epochs' | 'trainSize' | 'testSize'>;

/** The paper's zoo: 250 seeds x 50 epochs on all of MNIST. */
export const PAPER_SCALE: Scale = {
  seedStart: 0,
  seedCount: 250,
  epochs: 50,
  trainSize: 60000,
  testSize: 10000,
};
/** A zoo small enough to build in a few minutes on 2 cores. */
export const DEFAULT_SCALE: Scale = {
  seedStart: 0,
  seedCount: 50,
  epochs: 20,
  trainSize: 10000,
  testSize: 2000,
};

export interface Preset {
  description: string;
  scale: Scale;
  hyper: Record<ArchName, Hyper>;
}

export const PRESETS = {
  default: {
    description: '50 seeds x 20 epochs on 10k/2k MNIST images, models that learn (FFNN Table 1, CNN tuned)',
    scale: DEFAULT_SCALE,
    hyper: TUNED_HYPER,
  },
  paper: {
    description: "the paper's zoos exactly: 250 seeds x 50 epochs, all of MNIST, Table 1 hyperparameters",
    scale: PAPER_SCALE,
    hyper: PAPER_HYPER,
  },
  'paper-tuned': {
    description: "the paper's scale with the CNN hyperparameters that learn",
    scale: PAPER_SCALE,
    hyper: TUNED_HYPER,
  },
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function presetConfig(
  preset: PresetName,
  arch: ArchName,
  overrides: Partial<ZooConfig> = {},
): ZooConfig {
  const p: Preset = PRESETS[preset];
  if (!p) throw new UserError(`unknown preset '${preset}' (choose one of: ${PRESET_NAMES.join(', ')})`);
  const config: ZooConfig = { arch, ...p.scale, ...p.hyper[arch], init: 'kaiming-normal', loss: 'mse' };
  for (const [k, v] of Object.entries(overrides))
    if (v !== undefined) (config as unknown as Record<string, unknown>)[k] = v;
  return config;
}
