/**
 * One model's flat weights from any of the formats we read: a checkpoint Arrow file (one row,
 * or the row picked by run and epoch), a safetensors file, or a TensorFlow.js model
 * (model.json, or the folder holding it). See safetensors.ts and tfjsModel.ts for layouts.
 */
import { option } from '../../core/errors.ts';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ARCH_NAMES, architecture, defineArchitecture, type Architecture } from '../../core/architectures.ts';
import { networkOf, networkProblem, type Network } from '../../core/network.ts';
import { weightsSha256 } from '../sha256.ts';
import { tfjsFolderNetwork } from './tfjsNetwork.ts';
import { CheckpointFileError, fileZooMeta } from '../checkpointFile.ts';
import { readCheckpointFileWithin } from '../untrustedCheckpoint.ts';
import { flattenTensors, parseSafetensors, readSafetensors } from './safetensors.ts';
import { readTfjsModel, readTfjsTensors } from './tfjsModel.ts';
import { PICKLE, PICKLE_ADVICE } from './pickle.ts';
import { readNpy } from './npy.ts';

/** What export writes; readModel also reads a .npy of the flat weights (`npy`). */
export type ModelFormat = 'arrow' | 'safetensors' | 'tfjs';
export const MODEL_FORMATS: readonly ModelFormat[] = ['arrow', 'safetensors', 'tfjs'];
export type ReadFormat = ModelFormat | 'npy';

export interface ReadModelOptions {
  /** Pick this run's row from a checkpoint file with several. */
  run?: number;
  /** Pick this epoch's row. */
  epoch?: number;
}

/** The file fits the architecture but holds several checkpoints: the user must pick one. */
export class PickCheckpointError extends CheckpointFileError {}

export function modelFormat(path: string): ReadFormat {
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
  if (path.endsWith('.npy')) return 'npy';
  if (path.endsWith('.json')) return 'tfjs';
  throw new CheckpointFileError(
    `cannot tell the format of ${path}: use a .arrow checkpoint file, a .safetensors file, a TensorFlow.js model.json or a .npy of the flat weights`,
  );
}

/** The model's weights in the architecture's flat layout, and what was read. */
export function readModel(
  path: string,
  arch: Architecture,
  options: ReadModelOptions = {},
): { weights: Float32Array; format: ReadFormat; description: string } {
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
): { weights: Float32Array; format: ReadFormat; description: string } {
  const format = modelFormat(path);
  if (format === 'safetensors') return { weights: readSafetensors(path, arch), format, description: path };
  if (format === 'npy') return { weights: readFlatNpy(path, arch), format, description: path };
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

/** A model file read with the architecture its own tensors define (no zoo to read it by). */
export interface ModelFile {
  architecture: Architecture;
  weights: Float32Array;
  /** The network, where the file describes it (a tfjs model.json's topology), else null. */
  network: Network | null;
  format: ReadFormat;
  description: string;
  /** SHA-256 of the weights (float32, little-endian, in the architecture's order), as zoos hash checkpoints. */
  sha256: string;
}

/**
 * Any model file, its architecture taken from itself: a safetensors file's tensors in file
 * order; a tfjs model's weights (named as an import names them, `layer0.kernel`) and network;
 * a checkpoint Arrow file's zoo architecture (one row, or the row picked by run and epoch).
 */
export async function readModelFile(path: string, options: ReadModelOptions = {}): Promise<ModelFile> {
  const format = modelFormat(path);
  if (format === 'npy')
    throw new CheckpointFileError(
      `${path} is a .npy: flat weights name no tensors, so their architecture is a zoo's; give them where a zoo is named (identify --zoo, eval --zoo) or as safetensors`,
    );
  const name = basename(path).replace(/\.(safetensors|arrow|json)$/, '');
  if (format === 'arrow') {
    const meta = fileZooMeta(readCheckpointFileWithin(path).metadata, path);
    const arch = (meta.architecture as Architecture | undefined)?.params
      ? (meta.architecture as Architecture)
      : meta.config?.arch
        ? architecture(meta.config.arch)
        : null;
    if (!arch) throw new CheckpointFileError(`${path} does not say which architecture its checkpoints have`);
    const model = readModel(path, arch, options);
    return { ...model, architecture: arch, network: networkOf(arch), sha256: weightsSha256(model.weights) };
  }
  const json = format === 'tfjs' && statSync(path).isDirectory() ? join(path, 'model.json') : path;
  const content =
    format === 'tfjs'
      ? readTfjsTensors(json, 'skip')
      : parseSafetensors(readFileSync(path), path, { otherDtypes: 'skip' });
  if (!content.tensors.size) throw new CheckpointFileError(`${path} holds no floating-point tensors`);
  const listed = [...content.tensors].map(([tensor, t]) => ({ name: tensor, shape: t.shape }));
  // the tensors of a built-in architecture, names and shapes, are that architecture (an export of ours)
  const builtIn = ARCH_NAMES.map(architecture).find(
    (a) =>
      a.params.length === listed.length &&
      a.params.every((p, i) => p.name === listed[i].name && p.shape.join() === listed[i].shape.join()),
  );
  const arch =
    builtIn ??
    defineArchitecture(
      name,
      `${content.tensors.size} tensors read from ${format}`,
      listed.map((t) => ({ ...t, dtype: content.dtypes.get(t.name) })),
    );
  const weights = flattenTensors(arch, content.tensors, path);
  const bad = weights.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new CheckpointFileError(
      `${path}: weight ${bad} is ${weights[bad]}; only finite weights can be compared`,
    );
  const network = format === 'tfjs' ? (await tfjsFolderNetwork(json)).network : networkOf(arch);
  return {
    architecture: arch,
    weights,
    network: network && networkProblem(network, arch) === null ? network : null,
    format,
    description: json,
    sha256: weightsSha256(weights),
  };
}

/**
 * A .npy of one model's weights: arch.size float values in the architecture's flat order
 * (its tensors one after another, each in its own layout), shaped (size,) or (1, size), as
 * `np.save(path, np.concatenate([t.ravel() for t in tensors]))` writes them.
 */
function readFlatNpy(path: string, arch: Architecture): Float32Array {
  let npy: { data: Float64Array; shape: number[] };
  try {
    npy = readNpy(path);
  } catch (err) {
    throw new CheckpointFileError((err as Error).message);
  }
  const { data, shape } = npy;
  const flat = shape.length === 1 || (shape.length === 2 && shape[0] === 1);
  if (!flat || data.length !== arch.size)
    throw new CheckpointFileError(
      `${path} holds an array of shape (${shape.join(', ')}); a model as .npy is its ${arch.size} weights in one row, the ${arch.name} tensors (${arch.params.map((p) => p.name).join(', ')}) one after another`,
    );
  return Float32Array.from(data);
}
