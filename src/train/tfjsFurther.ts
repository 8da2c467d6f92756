/**
 * Further training of a recorded tfjs zoo's checkpoints in TensorFlow.js, the framework that
 * trained them: the same jobs as trainFurther.ts (a run's checkpoint trained on with another
 * data order, learning rate, batch size, task, or a re-initialised last layer), with the
 * optimizer, loss and batch size each run's recorder read from `model.compile` and
 * `model.fit` (RecordedTraining in the manifest), on the first `samples` MNIST training
 * images at the network's input size. The model is rebuilt from the zoo's network (its
 * layers in TensorFlow's layout). A fresh optimizer, as in trainFurther.ts: its state is not
 * part of a checkpoint. The data order of every epoch is drawn from the run's data seed and
 * fed unshuffled, and tfjs's CPU kernels are deterministic, so a job gives the same bytes
 * every time.
 */
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from '../core/architectures.ts';
import { layerTensors, type Layer, type Network } from '../core/network.ts';
import { Rng } from '../core/rng.ts';
import { checkpointWeights } from '../core/zoo.ts';
import { CLASSES, loadMnist, type MnistSplit } from '../data/mnist.ts';
import type { Zoo } from '../store/loadZoo.ts';
import { ZooError, type RecordedTraining } from '../store/manifest.ts';
import { changeTask, type TaskChange, type TaskSpec } from './continueTraining.ts';
import { mnistSide } from './scoreNetwork.ts';
import type { TrainFurtherOptions } from './trainFurther.ts';

tf.env().set('PROD', true);

/**
 * Why the zoo's runs cannot be trained further in tfjs, or null when they can: every run
 * recorded its training, and the network is one tfjs builds (TensorFlow's layout) on MNIST.
 */
export function tfjsUntrainable(zoo: Zoo, runs: number[]): string | null {
  const { network, origin, name } = zoo.manifest;
  if (!network) return `${name} records no network to rebuild its models from`;
  const missing = runs.filter((r) => origin?.runInfo?.[r]?.training?.framework !== 'tfjs');
  if (missing.length)
    return `run ${missing[0]} of ${name} records no training setup (zooRecorder reads it from model.compile and model.fit)`;
  try {
    mnistSide(network);
    network.layers.forEach(tfjsLayers);
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

/** checkpoints[e][i]: run runs[i] after e + 1 further epochs (float32, the zoo's layout). */
export async function tfjsTrainFurther(zoo: Zoo, options: TrainFurtherOptions): Promise<Float32Array[][]> {
  const why = tfjsUntrainable(zoo, options.runs);
  if (why) throw new ZooError(`cannot train ${zoo.manifest.name} further in tfjs: ${why}`);
  const perRun: Float32Array[][] = [];
  for (const [i, run] of options.runs.entries()) perRun.push(await trainRun(zoo, run, i, options));
  return Array.from({ length: options.epochs }, (_, e) => perRun.map((epochs) => epochs[e]));
}

/** Several jobs, one after another (tfjs trains on this thread), reporting each one done. */
export async function tfjsTrainFurtherJobs(
  zoo: Zoo,
  list: TrainFurtherOptions[],
  onDone?: (done: number) => void,
): Promise<Float32Array[][][]> {
  const results: Float32Array[][][] = [];
  for (const options of list) {
    results.push(await tfjsTrainFurther(zoo, options));
    onDone?.(results.length);
  }
  return results;
}

/**
 * The first `samples` MNIST training images at `side`, with the task changed: read once per
 * process for each kind a job asks for (every run of a zoo usually shares one), not per run.
 */
const splits = new Map<string, MnistSplit>();
function trainingSplit(samples: number, side: 14 | 28, task: TaskChange | TaskSpec | undefined): MnistSplit {
  const key = `${samples}/${side}/${JSON.stringify(task ?? null)}`;
  let split = splits.get(key);
  if (!split) {
    const train = loadMnist({ trainSize: samples, testSize: 1, side }).train;
    split = task ? changeTask(train, task) : train;
    splits.set(key, split);
  }
  return split;
}

async function trainRun(
  zoo: Zoo,
  run: number,
  at: number,
  options: TrainFurtherOptions,
): Promise<Float32Array[]> {
  const { architecture: arch, network, origin } = zoo.manifest;
  const net = network!;
  const training = origin!.runInfo![run].training!;
  const seed = options.dataSeed?.(run) ?? 1_000_003 + zoo.seed[run];
  const given = options.startWeights?.[at];
  const weights = (given ?? checkpointWeights(zoo, run, options.from ?? zoo.epochs)).slice();
  if (options.reinitLast) reinitLast(net, arch, weights, new Rng(seed, 1));
  const split = trainingSplit(training.samples, mnistSide(net), options.task);
  const n = split.n;
  const model = tfjsModelOf(net, arch, weights);
  model.compile({ optimizer: optimizerOf(training, options), loss: training.loss });
  const images = tf.tensor(split.images, [n, ...tfjsInputShape(net)]);
  const labels =
    training.loss === 'sparseCategoricalCrossentropy'
      ? tf.tensor2d(Float32Array.from(split.labels), [n, 1])
      : tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(split.labels), 'int32'), CLASSES).toFloat());
  try {
    return await fitEpochs(model, images, labels, {
      epochs: options.epochs,
      batchSize: options.batchSize ?? training.batchSize,
      rng: new Rng(seed, 2),
      weights: () => zooLayout(net, arch, model),
    });
  } finally {
    tf.dispose([images, labels]);
    model.dispose();
  }
}

/**
 * model.fit one epoch at a time, each epoch's order drawn from `rng` and fed unshuffled (tfjs
 * shuffles with Math.random), the weights read after every epoch.
 */
export async function fitEpochs(
  model: tf.LayersModel,
  images: tf.Tensor,
  labels: tf.Tensor,
  o: { epochs: number; batchSize: number; rng: Rng; weights: () => Float32Array },
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let e = 0; e < o.epochs; e++) {
    const order = tf.tensor1d(Int32Array.from(o.rng.permutation(images.shape[0])), 'int32');
    const [x, y] = [images.gather(order), labels.gather(order)];
    await model.fit(x, y, { epochs: 1, batchSize: o.batchSize, shuffle: false, verbose: 0 });
    tf.dispose([order, x, y]);
    out.push(o.weights());
  }
  return out;
}

function optimizerOf(training: RecordedTraining, options: TrainFurtherOptions): tf.Optimizer {
  const { className, config } = training.optimizer;
  const lr = options.learningRate ?? (options.learningRateScale ?? 1) * (config.learningRate as number);
  switch (className) {
    case 'SGD':
      return tf.train.sgd(lr);
    case 'Momentum':
      return tf.train.momentum(lr, config.momentum as number, config.useNesterov as boolean);
    case 'Adam':
      return tf.train.adam(lr, config.beta1 as number, config.beta2 as number, config.epsilon as number);
    default:
      throw new ZooError(`optimizer ${className} is not one tfjsTrainFurther rebuilds (SGD, Momentum, Adam)`);
  }
}

/** One sample's input as tfjs reads it: a vector, or a map channels last. */
const tfjsInputShape = (net: Network): number[] =>
  net.input.length === 3 ? [net.input[1], net.input[2], net.input[0]] : net.input;

/** The tfjs layers of one network layer (TensorFlow's layout; a padded conv gets a zero-padding layer first). */
function tfjsLayers(layer: Layer): tf.layers.Layer[] {
  const tfLayout = (l: { layout: string; name: string }) => {
    if (l.layout !== 'tf')
      throw new ZooError(`layer ${l.name} is in PyTorch's layout; tfjs trains networks in TensorFlow's`);
  };
  switch (layer.kind) {
    case 'dense':
      tfLayout(layer);
      return [tf.layers.dense({ name: layer.name, units: layer.out, useBias: layer.bias })];
    case 'conv2d':
      tfLayout(layer);
      return [
        ...(layer.padding ? [tf.layers.zeroPadding2d({ padding: layer.padding })] : []),
        tf.layers.conv2d({
          name: layer.name,
          filters: layer.out,
          kernelSize: layer.kernel,
          strides: layer.stride,
          padding: 'valid',
          useBias: layer.bias,
        }),
      ];
    case 'maxpool':
      return [tf.layers.maxPooling2d({ poolSize: layer.size, strides: layer.stride })];
    case 'avgpool':
      return [tf.layers.averagePooling2d({ poolSize: layer.size, strides: layer.stride })];
    case 'global-avgpool':
      return [tf.layers.globalAveragePooling2d({})];
    case 'flatten':
      if (layer.order !== 'channel-last')
        throw new ZooError("a channel-major flatten is PyTorch's; tfjs flattens channels last");
      return [tf.layers.flatten()];
    case 'batchnorm':
      tfLayout(layer);
      return [tf.layers.batchNormalization({ name: layer.name, epsilon: layer.eps })];
    case 'layernorm':
      tfLayout(layer);
      return [tf.layers.layerNormalization({ name: layer.name, epsilon: layer.eps })];
    case 'dropout':
      return [];
    case 'activation':
      switch (layer.fn) {
        case 'relu':
          return [tf.layers.reLU()];
        case 'leaky-relu':
          return [tf.layers.leakyReLU({ alpha: layer.slope ?? 0.3 })];
        case 'identity':
          return [];
        case 'gelu':
          throw new ZooError('tfjs has no gelu layer to train with');
        default:
          return [tf.layers.activation({ activation: layer.fn })];
      }
  }
}

/** A tfjs model of the network holding the zoo-layout weights, its tensors found by name. */
export function tfjsModelOf(net: Network, arch: Architecture, weights: Float32Array): tf.LayersModel {
  const model = tf.sequential();
  const input = tf.layers.inputLayer({ inputShape: tfjsInputShape(net) });
  model.add(input);
  for (const layer of net.layers) for (const l of tfjsLayers(layer)) model.add(l);
  const byName = new Map(arch.params.map((p) => [p.name, p]));
  model.setWeights(
    net.layers.flatMap((layer) =>
      'name' in layer
        ? layerTensors(layer).map((t) => {
            const p = byName.get(t.name)!;
            return tf.tensor(weights.subarray(p.offset, p.offset + p.size), t.shape);
          })
        : [],
    ),
  );
  return model;
}

/** The model's weights back in the zoo's layout. */
export function zooLayout(net: Network, arch: Architecture, model: tf.LayersModel): Float32Array {
  const out = new Float32Array(arch.size);
  const byName = new Map(arch.params.map((p) => [p.name, p]));
  const tensors = net.layers.flatMap((layer) => ('name' in layer ? layerTensors(layer) : []));
  model
    .getWeights()
    .forEach((w, i) => out.set(w.dataSync() as Float32Array, byName.get(tensors[i].name)!.offset));
  return out;
}

/** He-normal kernel and zero bias for the last layer with weights, as tfjs's heNormal draws them (std sqrt(2 / fan in)). */
function reinitLast(net: Network, arch: Architecture, weights: Float32Array, rng: Rng): void {
  const last = [...net.layers].reverse().find((l) => l.kind === 'dense' || l.kind === 'conv2d');
  if (!last || (last.kind !== 'dense' && last.kind !== 'conv2d')) return;
  const fanIn = last.kind === 'dense' ? last.in : last.in * last.kernel[0] * last.kernel[1];
  const byName = new Map(arch.params.map((p) => [p.name, p]));
  layerTensors(last).forEach((t, i) => {
    const p = byName.get(t.name)!;
    for (let j = p.offset; j < p.offset + p.size; j++)
      weights[j] = i === 0 ? Math.sqrt(2 / fanIn) * rng.nextNormal() : 0;
  });
}
