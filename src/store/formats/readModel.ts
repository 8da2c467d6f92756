/**
 * One model's flat weights from any of the formats we read: a checkpoint Arrow file (one row,
 * or the row picked by run and epoch), a safetensors file, or a TensorFlow.js model
 * (model.json, or the folder holding it). See safetensors.ts and tfjsModel.ts for layouts.
 */
import { option } from '../../core/errors.ts';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Architecture } from '../../core/architectures.ts';
import { CheckpointFileError, fileZooMeta } from '../checkpointFile.ts';
import { readCheckpointFileWithin } from '../untrustedCheckpoint.ts';
import { readSafetensors } from './safetensors.ts';
import { readTfjsModel } from './tfjsModel.ts';
import { PICKLE, PICKLE_ADVICE } from './pickle.ts';

export type ModelFormat = 'arrow' | 'safetensors' | 'tfjs';
export const MODEL_FORMATS: readonly ModelFormat[] = ['arrow', 'safetensors', 'tfjs'];

export interface ReadModelOptions {
  /** Pick this run's row from a checkpoint file with several. */
  run?: number;
  /** Pick this epoch's row. */
  epoch?: number;
}

/** The file fits the architecture but holds several checkpoints: the user must pick one. */
export class PickCheckpointError extends CheckpointFileError {}

export function modelFormat(path: string): ModelFormat {
  if (!existsSync(path)) throw new CheckpointFileError(`${path} does not exist`);
  if (statSync(path).isDirectory()) {
    if (existsSync(join(path, 'model.json'))) return 'tfjs';
    throw new CheckpointFileError(
      `${path} is a folder without model.json; give a .arrow, .safetensors or model.json file`,
    );
  }
  if (path.endsWith('.bin') && existsSync(join(dirname(path), 'model.json')))
    throw new CheckpointFileError(
      `${path} is a weights file of the TensorFlow.js model ${join(dirname(path), 'model.json')}; give that model.json`,
    );
  if (PICKLE.test(path)) throw new CheckpointFileError(`${path} is a PyTorch pickle. ${PICKLE_ADVICE}`);
  if (path.endsWith('.arrow')) return 'arrow';
  if (path.endsWith('.safetensors')) return 'safetensors';
  if (path.endsWith('.json')) return 'tfjs';
  throw new CheckpointFileError(
    `cannot tell the format of ${path}: use a .arrow checkpoint file, a .safetensors file or a TensorFlow.js model.json`,
  );
}

/** The model's weights in the architecture's flat layout, and what was read. */
export function readModel(
  path: string,
  arch: Architecture,
  options: ReadModelOptions = {},
): { weights: Float32Array; format: ModelFormat; description: string } {
  const model = readAnyFormat(path, arch, options);
  const bad = model.weights.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    const p = arch.params.find((q) => bad >= q.offset && bad < q.offset + q.size)!;
    throw new CheckpointFileError(
      `${model.description}: weight ${bad - p.offset} of ${p.name} is ${model.weights[bad]}; a model with weights that are not finite cannot be placed in weight space`,
    );
  }
  return model;
}

function readAnyFormat(
  path: string,
  arch: Architecture,
  options: ReadModelOptions,
): { weights: Float32Array; format: ModelFormat; description: string } {
  const format = modelFormat(path);
  if (format === 'safetensors') return { weights: readSafetensors(path, arch), format, description: path };
  if (format === 'tfjs') {
    const json = statSync(path).isDirectory() ? join(path, 'model.json') : path;
    return { weights: readTfjsModel(json, arch), format, description: json };
  }
  const { rows, metadata } = readCheckpointFileWithin(path);
  const fileArch = fileZooMeta(metadata, path).config?.arch;
  if ((fileArch && fileArch !== arch.name) || rows.size !== arch.size) {
    throw new CheckpointFileError(
      `${path} holds ${fileArch ?? 'unknown'} checkpoints of ${rows.size} weights; the zoo's ${arch.name} models have ${arch.size}`,
    );
  }
  const picked = Array.from(rows.run.keys()).filter(
    (i) =>
      (options.run === undefined || rows.run[i] === options.run) &&
      (options.epoch === undefined || rows.epoch[i] === options.epoch),
  );
  if (picked.length === 0)
    throw new CheckpointFileError(
      `${path} has no checkpoint with${options.run !== undefined ? ` run ${options.run}` : ''}${options.epoch !== undefined ? ` epoch ${options.epoch}` : ''} (runs ${Math.min(...rows.run)}-${Math.max(...rows.run)}, epochs ${Math.min(...rows.epoch)}-${Math.max(...rows.epoch)})`,
    );
  if (picked.length > 1) {
    const runs = new Set(picked.map((i) => rows.run[i])).size;
    throw new PickCheckpointError(
      `this file holds ${picked.length} checkpoints; pick one with ${runs > 1 ? `${option('run')} R (runs ${Math.min(...rows.run)}-${Math.max(...rows.run)})` : `${option('epoch')} E`}${runs > 1 && picked.length > runs ? ` and ${option('epoch')} E` : ''}: ${path}`,
    );
  }
  const i = picked[0];
  return {
    weights: rows.weights.slice(i * rows.size, (i + 1) * rows.size),
    format,
    description: `${path} (run ${rows.run[i]}, epoch ${rows.epoch[i]})`,
  };
}
