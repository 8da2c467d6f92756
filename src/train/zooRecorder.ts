/**
 * A TensorFlow.js callback that records a model's weights into a zoo while `model.fit`
 * trains it: the initial weights as epoch 0, then one checkpoint every epoch (or every N
 * batches), with the logs' metrics. Each run of a zoo is one model trained with its own
 * recorder (`run`); all write through a ZooWriter, so an epoch enters the zoo once every run
 * has reached it.
 *
 *   await model.fit(x, y, { epochs: 8, callbacks: [zooRecorder({ zoo: 'zoo/my-mlp', run: 3, runs: 10 })] });
 */
import * as tf from '@tensorflow/tfjs';
import { defineArchitecture, type Architecture } from '../core/architectures.ts';
import type { RunInfo } from '../store/manifest.ts';
import {
  NetworkError,
  networkProblem,
  type ActivationFn,
  type Layer,
  type Network,
} from '../core/network.ts';
import { ZooWriter } from '../store/zooWriter.ts';

export interface ZooRecorderOptions {
  /** The zoo folder (created by the first recorder). */
  zoo: string;
  /** This model's run id, 0..runs-1. */
  run: number;
  /** How many runs the zoo will have. */
  runs: number;
  /** 'epoch' (default), or a number of batches between checkpoints. */
  every?: 'epoch' | number;
  /** The architecture's name (default 'tfjs-' and the layer classes, e.g. tfjs-Dense-Dense-Dense). */
  architecture?: string;
  tags?: RunInfo['tags'];
  note?: string;
}

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

/** The model's weights as one flat vector, in tfjsArchitecture's order. */
export function tfjsWeights(model: tf.LayersModel): Float32Array {
  const parts = model.layers.flatMap((layer) => layer.getWeights().map((t) => t.dataSync() as Float32Array));
  const flat = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    flat.set(p, at);
    at += p.length;
  }
  return flat;
}

class ZooRecorder extends tf.Callback {
  private writer: ZooWriter | null = null;
  private epoch = 0;
  private batches = 0;

  constructor(private readonly options: ZooRecorderOptions) {
    super();
    const every = options.every ?? 'epoch';
    if (every !== 'epoch' && !(Number.isInteger(every) && every > 0))
      throw new RangeError(`every must be 'epoch' or a positive number of batches, got ${every}`);
  }

  private async record(logs?: tf.Logs): Promise<void> {
    const { zoo, run, runs, architecture, tags, note } = this.options;
    this.writer ??= await ZooWriter.open(zoo, tfjsArchitecture(this.model, architecture), {
      runs,
      network: tfjsNetwork(this.model).network ?? undefined,
      ...((tags || note) && { runInfo: { [run]: { ...(tags && { tags }), ...(note && { note }) } } }),
    });
    // tfjs may hand over a metric as a scalar tensor rather than a number
    const value = (v: unknown) => (v instanceof tf.Tensor ? (v.dataSync()[0] as number) : v);
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(logs ?? {}))
      if (typeof value(v) === 'number') metrics[k] = value(v) as number;
    await this.writer.append({
      run,
      epoch: this.epoch++,
      step: this.batches,
      weights: tfjsWeights(this.model),
      metrics,
    });
  }

  override async onTrainBegin(): Promise<void> {
    if (this.epoch === 0) await this.record();
  }

  override async onBatchEnd(_batch: number, logs?: tf.Logs): Promise<void> {
    this.batches++;
    const every = this.options.every ?? 'epoch';
    if (every !== 'epoch' && this.batches % every === 0) await this.record(logs);
  }

  override async onEpochEnd(_epoch: number, logs?: tf.Logs): Promise<void> {
    if ((this.options.every ?? 'epoch') === 'epoch') await this.record(logs);
  }

  override async onTrainEnd(): Promise<void> {
    await this.writer?.close();
  }
}

/** A `model.fit` callback that records checkpoints of run `run` into the zoo `zoo`. */
export function zooRecorder(options: ZooRecorderOptions): tf.Callback {
  return new ZooRecorder(options);
}
