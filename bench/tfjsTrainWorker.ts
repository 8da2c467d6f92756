/**
 * Worker thread of the provenance bench (provenanceSets.ts): trains one TensorFlow.js model
 * with model.fit (SGD, mean squared error on one-hot labels, as scripts/tfjsZoo.ts), from He
 * normal weights or given ones, on a task (continueTraining.ts's TaskSpec), with a data order
 * drawn from its seed and fed unshuffled; the weights after every epoch, in the network's
 * flat layout.
 */
import * as tf from '@tensorflow/tfjs';
import { layerTensors, networkArchitecture, type Network } from '../src/core/network.ts';
import { Rng } from '../src/core/rng.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { changeTask, type TaskSpec } from '../src/train/continueTraining.ts';
import { fitEpochs, tfjsModelOf, zooLayout } from '../src/train/tfjsFurther.ts';
import { serveJobs } from '../src/util/workerPool.ts';

export interface TfjsJob {
  network: Network;
  trainSize: number;
  /** Weights to start from, or null: He normal kernels (std sqrt(2 / fan in)) from initSeed, zero biases. */
  start: Float32Array | null;
  initSeed: number;
  epochs: number;
  task?: TaskSpec;
  /** The last dense layer drawn afresh (He normal, zero bias) before training: a new head. */
  reinitLast?: boolean;
  learningRate: number;
  batchSize: number;
  dataSeed: number;
}

tf.env().set('PROD', true);

function heNormal(net: Network, weights: Float32Array, rng: Rng, only?: string): void {
  const arch = networkArchitecture('m', '', net);
  const byName = new Map(arch.params.map((p) => [p.name, p]));
  for (const layer of net.layers) {
    if (layer.kind !== 'dense' || (only && layer.name !== only)) continue;
    const [kernel, bias] = layerTensors(layer).map((t) => byName.get(t.name)!);
    for (let i = 0; i < kernel.size; i++)
      weights[kernel.offset + i] = Math.sqrt(2 / layer.in) * rng.nextNormal();
    if (bias) weights.fill(0, bias.offset, bias.offset + bias.size);
  }
}

async function train(job: TfjsJob): Promise<Float32Array[]> {
  const net = job.network;
  const arch = networkArchitecture('m', '', net);
  const weights = job.start ? job.start.slice() : new Float32Array(arch.size);
  if (!job.start) heNormal(net, weights, new Rng(job.initSeed, 0));
  if (job.reinitLast) {
    const last = [...net.layers].reverse().find((l) => l.kind === 'dense')!;
    heNormal(net, weights, new Rng(job.dataSeed, 1), 'name' in last ? last.name : undefined);
  }
  const raw = loadMnist({ trainSize: job.trainSize, testSize: 1 }).train;
  const split = job.task ? changeTask(raw, job.task) : raw;
  const model = tfjsModelOf(net, arch, weights);
  model.compile({ optimizer: tf.train.sgd(job.learningRate), loss: 'meanSquaredError' });
  const images = tf.tensor2d(split.images, [split.n, 196]);
  const labels = tf.oneHot(tf.tensor1d(Int32Array.from(split.labels), 'int32'), 10).toFloat();
  try {
    return await fitEpochs(model, images, labels, {
      epochs: job.epochs,
      batchSize: job.batchSize,
      rng: new Rng(job.dataSeed, 2),
      weights: () => zooLayout(net, arch, model),
    });
  } finally {
    tf.dispose([images, labels]);
    model.dispose();
  }
}

serveJobs<TfjsJob, Float32Array[]>(train);
