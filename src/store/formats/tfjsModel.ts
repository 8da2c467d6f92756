/**
 * TensorFlow.js layers models (model.json + weights.bin) of the two architectures. Layers are
 * named after the index map's tensors (`fc1`, `conv1`, ...), so the weight `fc1/kernel` is
 * the tensor `fc1.weight`, in TensorFlow's layout: dense kernels [in, out] (PyTorch's
 * [out, in] transposed), conv kernels [kh, kw, in, out] (PyTorch's [out, in, kh, kw]
 * permuted). Inputs: the FFNN takes [batch, 196], the CNN [batch, 14, 14, 1] (NHWC), pixels
 * / 255 of the 2x2-pooled images, as in training. No biases, as in the paper.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Architecture, ParamTensor } from '../../core/architectures.ts';
import { writeFileAtomic } from '../atomicWrite.ts';
import { CheckpointFileError } from '../checkpointFile.ts';
import type { SafetensorsContent } from './safetensors.ts';

// production mode: no banner recommending tfjs-node (which cannot be installed offline) on each CLI run
tf.env().set('PROD', true);

/** A tfjs model of the architecture, holding the given flat weights. */
export function tfjsModel(arch: Architecture, weights: Float32Array): tf.LayersModel {
  const model = tf.sequential();
  if (arch.name === 'ffnn') {
    model.add(
      tf.layers.dense({ name: 'fc1', inputShape: [196], units: 10, useBias: false, activation: 'sigmoid' }),
    );
    model.add(tf.layers.dense({ name: 'fc2', units: 10, useBias: false, activation: 'sigmoid' }));
    model.add(tf.layers.dense({ name: 'fc3', units: 10, useBias: false }));
  } else {
    const conv = (name: string, filters: number) =>
      tf.layers.conv2d({ name, filters, kernelSize: 3, strides: 2, padding: 'valid', useBias: false });
    model.add(tf.layers.zeroPadding2d({ name: 'pad1', inputShape: [14, 14, 1], padding: 1 }));
    model.add(conv('conv1', 16));
    model.add(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }));
    model.add(tf.layers.leakyReLU({ name: 'act1', alpha: 0.01 }));
    model.add(tf.layers.zeroPadding2d({ name: 'pad2', padding: 1 }));
    model.add(conv('conv2', 8));
    model.add(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }));
    model.add(tf.layers.leakyReLU({ name: 'act2', alpha: 0.01 }));
    model.add(tf.layers.flatten({ name: 'flatten' }));
    model.add(tf.layers.dense({ name: 'fc', units: 10, useBias: false }));
  }
  model.setWeights(
    arch.params.map((p) =>
      tf.tidy(() => tf.transpose(tf.tensor(weights.subarray(p.offset, p.offset + p.size), p.shape), toTf(p))),
    ),
  );
  return model;
}

/** Axis order from PyTorch's layout to TensorFlow's (dense: [out, in] -> [in, out]; conv: [out, in, kh, kw] -> [kh, kw, in, out]). */
const toTf = (p: ParamTensor) => (p.shape.length === 2 ? [1, 0] : [2, 3, 1, 0]);
const fromTf = (p: ParamTensor) => (p.shape.length === 2 ? [1, 0] : [3, 2, 0, 1]);

/** Writes model.json and weights.bin into `dir`. */
export async function writeTfjsModel(dir: string, arch: Architecture, weights: Float32Array): Promise<void> {
  const model = tfjsModel(arch, weights);
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      writeFileAtomic(join(dir, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      writeFileAtomic(join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
}

interface ModelJson {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** model.json and its weight files as tfjs model artifacts (for tf.loadLayersModel via tfjsFileHandler). */
function readArtifacts(modelJsonPath: string): {
  json: ModelJson;
  specs: tf.io.WeightsManifestEntry[];
  data: Uint8Array;
} {
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(modelJsonPath, 'utf8'));
  } catch (err) {
    throw new CheckpointFileError(
      `cannot read ${modelJsonPath} as a TensorFlow.js model.json (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const groups = (json as ModelJson | null)?.weightsManifest;
  const validSpec = (w: tf.io.WeightsManifestEntry) =>
    typeof w?.name === 'string' &&
    typeof w.dtype === 'string' &&
    Array.isArray(w.shape) &&
    w.shape.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (
    !Array.isArray(groups) ||
    !groups.every(
      (g) =>
        Array.isArray(g?.paths) &&
        g.paths.every((p) => typeof p === 'string') &&
        Array.isArray(g.weights) &&
        g.weights.every(validSpec),
    )
  ) {
    throw new CheckpointFileError(
      `${modelJsonPath} has no valid weightsManifest (groups of paths and weights with name, dtype and shape); not a TensorFlow.js layers model?`,
    );
  }
  const specs = groups.flatMap((g) => g.weights);
  const names = specs.map((w) => w.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice)
    throw new CheckpointFileError(`${modelJsonPath}: weight '${twice}' appears twice in the weightsManifest`);
  const parts = groups.flatMap((g) =>
    g.paths.map((p) => {
      if (isAbsolute(p) || normalize(p).startsWith('..'))
        throw new CheckpointFileError(
          `${modelJsonPath} names weight file ${p} outside its folder; weight files must sit beside model.json`,
        );
      try {
        return readFileSync(join(dirname(modelJsonPath), p));
      } catch (err) {
        throw new CheckpointFileError(
          `${modelJsonPath} names weight file ${p}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`,
        );
      }
    }),
  );
  return { json, specs, data: Buffer.concat(parts) };
}

/** An IOHandler reading model.json + weight files from disk: `tf.loadLayersModel(tfjsFileHandler(path))`. */
export function tfjsFileHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const { json, specs, data } = readArtifacts(modelJsonPath);
      const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
      return {
        modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
        weightSpecs: specs,
        weightData,
      };
    },
  };
}

/** The flat weights (index-map layout) of a tfjs model whose weights are named as we write them. */
export function readTfjsModel(modelJsonPath: string, arch: Architecture): Float32Array {
  const { specs, data } = readArtifacts(modelJsonPath);
  const byName = new Map<string, { shape: number[]; values: Float32Array }>();
  let at = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.dtype !== 'float32' || spec.quantization)
      throw new CheckpointFileError(
        `${modelJsonPath}: weight '${spec.name}' is ${spec.quantization ? 'quantized' : spec.dtype}; only float32 weights are read`,
      );
    if (at + 4 * count > data.length)
      throw new CheckpointFileError(`${modelJsonPath}: the weight files end inside weight '${spec.name}'`);
    byName.set(spec.name, {
      shape: spec.shape,
      values: new Float32Array(data.buffer.slice(data.byteOffset + at, data.byteOffset + at + 4 * count)),
    });
    at += 4 * count;
  }
  if (at !== data.length)
    throw new CheckpointFileError(
      `${modelJsonPath}: its weight files hold ${data.length} bytes, the weightsManifest describes ${at}`,
    );
  const flat = new Float32Array(arch.size);
  const expected = arch.params.map((p) => `${p.name.split('.')[0]}/kernel`);
  arch.params.forEach((p, i) => {
    const w = byName.get(expected[i]);
    if (!w)
      throw new CheckpointFileError(
        `${modelJsonPath} has no weight '${expected[i]}' (the ${arch.name} architecture needs ${expected.join(', ')})`,
      );
    const tfShape = toTf(p).map((axis) => p.shape[axis]);
    if (w.shape.join(',') !== tfShape.join(','))
      throw new CheckpointFileError(
        `${modelJsonPath}: weight '${expected[i]}' has shape [${w.shape}], the ${arch.name} architecture needs [${tfShape}]`,
      );
    flat.set(
      tf.tidy(() => tf.transpose(tf.tensor(w.values, w.shape), fromTf(p)).dataSync() as Float32Array),
      p.offset,
    );
  });
  const extra = [...byName.keys()].filter((name) => !expected.includes(name));
  if (extra.length)
    throw new CheckpointFileError(
      `${modelJsonPath} has weight(s) the ${arch.name} architecture lacks: ${extra.join(', ')} (a different model?)`,
    );
  return flat;
}

/**
 * The weights of any tfjs layers model, as an import reads them: float32 weights named by the
 * position of their layer among those with weights and the weight's last name part
 * (`layer0.kernel`, as tfjsArchitecture names a recorded model's; tfjs's generated layer
 * names differ between model instances), in weightsManifest order; other dtypes skipped or
 * refused. `bytes`: model.json and its weight files, for the import's change check.
 */
export function readTfjsTensors(
  modelJsonPath: string,
  otherDtypes: 'refuse' | 'skip',
): SafetensorsContent & { bytes: Uint8Array } {
  const { specs, data } = readArtifacts(modelJsonPath);
  const tensors: SafetensorsContent['tensors'] = new Map();
  const dtypes = new Map<string, string>();
  const skipped: SafetensorsContent['skipped'] = [];
  const layers: string[] = [];
  const width: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
  let at = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (spec.quantization)
      throw new CheckpointFileError(
        `${modelJsonPath}: weight '${spec.name}' is quantized; only float32 weights are read`,
      );
    const bytes = count * (width[spec.dtype] ?? NaN);
    if (!(at + bytes <= data.length))
      throw new CheckpointFileError(`${modelJsonPath}: the weight files end inside weight '${spec.name}'`);
    const slash = spec.name.lastIndexOf('/');
    const layer = slash < 0 ? spec.name : spec.name.slice(0, slash);
    if (spec.dtype !== 'float32') {
      if (otherDtypes === 'refuse')
        throw new CheckpointFileError(
          `${modelJsonPath}: weight '${spec.name}' is ${spec.dtype}; only float32 weights are read`,
        );
      skipped.push({ name: spec.name, dtype: spec.dtype, shape: spec.shape });
    } else {
      if (!layers.includes(layer)) layers.push(layer);
      const name = `layer${layers.indexOf(layer)}.${spec.name.slice(slash + 1)}`;
      const values = new Float32Array(data.buffer.slice(data.byteOffset + at, data.byteOffset + at + bytes));
      tensors.set(name, { shape: spec.shape, values });
      dtypes.set(name, 'F32');
    }
    at += bytes;
  }
  if (at !== data.length)
    throw new CheckpointFileError(
      `${modelJsonPath}: its weight files hold ${data.length} bytes, the weightsManifest describes ${at}`,
    );
  return {
    tensors,
    dtypes,
    metadata: {},
    skipped,
    bytes: Buffer.concat([readFileSync(modelJsonPath), data]),
  };
}
