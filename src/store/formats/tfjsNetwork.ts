/**
 * The architecture and network of a TensorFlow.js layers model: from a live model (the
 * recorder, train/zooRecorder.ts) or from a model folder's model.json topology (import).
 * Tensors are named by the position of their layer among those with weights, and the weight
 * (`layer0.kernel`), as an import of tfjs model folders names them (tfjsModel.ts).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { defineArchitecture, type Architecture } from '../../core/architectures.ts';
import {
  NetworkError,
  networkProblem,
  type ActivationFn,
  type Layer,
  type Network,
} from '../../core/network.ts';

/**
 * The architecture of a tfjs model: its weights in `model.weights` order, named by the position of
 * the layer among those with weights, and the weight (`layer0.kernel`, `layer0.bias`, ...) rather than by tfjs's generated
 * layer names, which differ from one model instance to the next.
 */
export function tfjsArchitecture(model: tf.LayersModel, name?: string): Architecture {
  const tensors = model.layers
    .filter((layer) => layer.weights.length)
    .flatMap((layer, i) =>
      layer.weights.map((w) => ({
        name: `layer${i}.${w.originalName.split('/').pop()}`,
        shape: w.shape as number[],
        dtype: w.dtype,
      })),
    );
  const classes = model.layers.filter((l) => l.weights.length).map((l) => l.getClassName());
  return defineArchitecture(
    name ?? `tfjs-${classes.join('-')}`,
    `tfjs model: ${classes.join(', ')}`,
    tensors,
  );
}

/** Keras activation names and ours; 'linear' is none. */
const ACTIVATIONS: Record<string, ActivationFn | null> = {
  linear: null,
  relu: 'relu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softmax: 'softmax',
};

/**
 * The network of a tfjs model whose layers form a chain of the kinds core/network.ts
 * describes (Keras classes Dense, Conv2D, MaxPooling2D, AveragePooling2D,
 * GlobalAveragePooling2D, Flatten, BatchNormalization, LayerNormalization over a vector,
 * Dropout, Activation, ReLU, LeakyReLU; channels last, as tfjs computes), in TensorFlow's
 * layout, its layers named as tfjsArchitecture names their tensors; or null with the reason.
 */
export function tfjsNetwork(model: tf.LayersModel): { network: Network | null; note: string | null } {
  const layers: Layer[] = [];
  let weighted = 0;
  try {
    for (const [i, layer] of model.layers.entries()) {
      const refuse = (why: string): never => {
        throw new NetworkError(`layer ${i} (${layer.getClassName()}): ${why}`);
      };
      const c = layer.getConfig() as Record<string, unknown>;
      const input = layer.input;
      const inShape = (Array.isArray(input) ? refuse('it has several inputs') : input.shape) as number[];
      const name = layer.weights.length ? `layer${weighted++}` : '';
      const activation = (a: unknown) => {
        const fn = ACTIVATIONS[String(a ?? 'linear')];
        if (fn === undefined) refuse(`activation '${a}' is not one a network describes`);
        if (fn) layers.push({ kind: 'activation', fn });
      };
      const pair = (v: unknown) => (Array.isArray(v) ? v : [v, v]) as [number, number];
      switch (layer.getClassName()) {
        case 'InputLayer':
        case 'Dropout':
          break;
        case 'Dense':
          if (inShape.length !== 2) refuse('it reads more than a vector');
          layers.push({
            kind: 'dense',
            name,
            in: inShape[1],
            out: c.units as number,
            bias: c.useBias !== false,
            layout: 'tf',
          });
          activation(c.activation);
          break;
        case 'Conv2D': {
          const [kh, kw] = pair(c.kernelSize);
          const [sy, sx] = pair(c.strides ?? 1);
          const [dy, dx] = pair(c.dilationRate ?? 1);
          if (sy !== sx || dy !== 1 || dx !== 1) refuse('unequal strides or dilation');
          if (c.dataFormat === 'channelsFirst') refuse('channels first');
          let padding = 0;
          if (c.padding === 'same') {
            // TensorFlow pads (out - 1) * stride + k - n in all, the odd one at the end
            const total = (n: number, k: number) => Math.max((Math.ceil(n / sy) - 1) * sy + k - n, 0);
            const [th, tw] = [total(inShape[1], kh), total(inShape[2], kw)];
            if (th !== tw || th % 2) refuse("'same' padding is uneven here");
            padding = th / 2;
          }
          layers.push({
            kind: 'conv2d',
            name,
            in: inShape[3],
            out: c.filters as number,
            kernel: [kh, kw],
            stride: sy,
            padding,
            bias: c.useBias !== false,
            layout: 'tf',
          });
          activation(c.activation);
          break;
        }
        case 'MaxPooling2D':
        case 'AveragePooling2D': {
          const [p, q] = pair(c.poolSize);
          const [sy, sx] = pair(c.strides ?? c.poolSize);
          if (p !== q || sy !== sx || c.padding === 'same')
            refuse('a non-square window, unequal strides or padding');
          layers.push({
            kind: layer.getClassName() === 'MaxPooling2D' ? 'maxpool' : 'avgpool',
            size: p,
            stride: sy,
          });
          break;
        }
        case 'GlobalAveragePooling2D':
          layers.push({ kind: 'global-avgpool' });
          break;
        case 'Flatten':
          layers.push({ kind: 'flatten', order: 'channel-last' });
          break;
        case 'BatchNormalization':
          if (c.center === false || c.scale === false) refuse('without its beta or gamma');
          layers.push({
            kind: 'batchnorm',
            name,
            channels: inShape[inShape.length - 1],
            eps: c.epsilon as number,
            layout: 'tf',
          });
          break;
        case 'LayerNormalization':
          if (inShape.length !== 2) refuse('over a map rather than a vector');
          layers.push({ kind: 'layernorm', name, size: inShape[1], eps: c.epsilon as number, layout: 'tf' });
          break;
        case 'Activation':
          activation(c.activation);
          break;
        case 'ReLU':
          if (c.maxValue != null) refuse('a capped ReLU is not positively homogeneous');
          layers.push({ kind: 'activation', fn: 'relu' });
          break;
        case 'LeakyReLU':
          layers.push({ kind: 'activation', fn: 'leaky-relu', slope: (c.alpha as number) ?? 0.3 });
          break;
        default:
          refuse('not a layer a network describes');
      }
    }
    const input = (model.inputs[0].shape as (number | null)[]).slice(1) as number[];
    const network: Network = {
      format: 1,
      input: input.length === 3 ? [input[2], input[0], input[1]] : input,
      layers,
    };
    const problem = networkProblem(network, tfjsArchitecture(model));
    if (problem) throw new NetworkError(problem);
    return { network, note: null };
  } catch (err) {
    if (!(err instanceof NetworkError)) throw err;
    return { network: null, note: `the network is not known: ${err.message}` };
  }
}

/**
 * The network of a model folder's model.json (its `modelTopology`, built into a model
 * without weights), or null with the reason.
 */
export async function tfjsFolderNetwork(
  modelJsonPath: string,
): Promise<{ network: Network | null; note: string | null }> {
  let topology: unknown;
  try {
    topology = (JSON.parse(readFileSync(modelJsonPath, 'utf8')) as { modelTopology?: unknown }).modelTopology;
  } catch (err) {
    return {
      network: null,
      note: `the network is not known: ${modelJsonPath} is not JSON (${(err as Error).message})`,
    };
  }
  if (typeof topology !== 'object' || topology === null)
    return { network: null, note: `the network is not known: ${modelJsonPath} has no modelTopology` };
  let model: tf.LayersModel;
  try {
    model = await tf.models.modelFromJSON({ modelTopology: topology as tf.io.ModelJSON['modelTopology'] });
  } catch (err) {
    return {
      network: null,
      note: `the network is not known: tfjs cannot build ${modelJsonPath}'s topology (${(err as Error).message})`,
    };
  }
  try {
    return tfjsNetwork(model);
  } finally {
    model.dispose();
  }
}
