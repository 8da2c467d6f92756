/**
 * The engine's loss and gradients against @tensorflow/tfjs autodiff (an independent
 * implementation), for both architectures, on random weights and real and random batches:
 * the JavaScript models and the WebAssembly kernels that train them.
 */
import { tf } from './support/tf.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { toImageSet, type ImageSet } from '../src/data/imageSet.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { ARCHITECTURES } from '../src/core/architectures.ts';
import { kaimingNormal } from '../src/train/init.ts';
import { createModel } from '../src/train/models/factory.ts';
import { Rng } from '../src/core/rng.ts';
import { tfjsForward } from './support/tfjsReference.ts';

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function randomImages(n: number, seed: number): ImageSet {
  const rng = new Rng(seed, 7);
  const images = new Float32Array(n * 196).map(() => (rng.nextFloat() < 0.5 ? 0 : rng.nextFloat()));
  const labels = new Uint8Array(n).map(() => rng.nextInt(10));
  return toImageSet({ n, images, labels });
}

let mnistBatch: ImageSet;
beforeAll(() => {
  mnistBatch = toImageSet(loadMnist({ trainSize: 64, testSize: 1 }).train);
});

describe.each(['ffnn', 'cnn'] as const)('%s gradients equal tfjs autodiff', (archName) => {
  const arch = ARCHITECTURES[archName];
  const cases = [
    {
      name: 'real MNIST batch',
      set: () => mnistBatch,
      seed: 11,
      batch: [3, 17, 42, 0, 63, 8, 21, 9, 30, 50, 1, 2],
    },
    {
      name: 'random dense batch',
      set: () => randomImages(12, 5),
      seed: 12,
      batch: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    },
    {
      name: 'random weights x10, batch of 4',
      set: () => randomImages(4, 6),
      seed: 13,
      batch: [0, 1, 2, 3],
      gain: 10,
    },
  ];
  it.each(cases)('$name', ({ set: getSet, seed, batch, gain }) => {
    const set = getSet();
    const w = new Float64Array(arch.size);
    kaimingNormal(arch, seed, w);
    if (gain) for (let i = 0; i < w.length; i++) w[i] *= gain;

    const model = createModel(archName);
    const grad = new Float64Array(arch.size);
    const scale = 2 / (batch.length * 10);
    let sse = 0;
    for (const s of batch) sse += model.accumulateGradient(w, 0, grad, set, s, scale);
    const engineLoss = sse / (batch.length * 10);

    const x = tf.tensor2d(
      batch.flatMap((s) => Array.from(set.images.subarray(s * 196, (s + 1) * 196))),
      [batch.length, 196],
    );
    const target = tf
      .oneHot(
        Array.from(batch, (s) => set.labels[s]),
        10,
      )
      .toFloat();
    const ws = arch.params.map((p) =>
      tf.tensor(Array.from(w.subarray(p.offset, p.offset + p.size)), p.shape),
    );
    const lossFn = (...vars: tf.Tensor[]) =>
      tf.mean(tf.square(tf.sub(tfjsForward(archName, vars, x), target))) as tf.Scalar;
    const { value, grads } = tf.valueAndGrads(lossFn)(ws);

    expect(Math.abs(engineLoss - value.dataSync()[0]) / value.dataSync()[0]).toBeLessThan(1e-4);
    // the training steps' kernel: one step with lr 0, momentum 0 and no weight decay leaves
    // the batch's gradient in the momentum buffer
    const kernel = model.createStepKernel(set, 1);
    const kernelGrad = new Float64Array(arch.size);
    kernel.load(0, w, new Float64Array(arch.size), 0);
    const rest = Array.from({ length: set.n }, (_, i) => i).filter((i) => !batch.includes(i));
    kernel.setOrder(0, Int32Array.from([...batch, ...rest]));
    const kernelSse = kernel.steps(0, 0, 1, batch.length, 0, 0, 0);
    kernel.store(0, Float64Array.from(w), kernelGrad, 0);
    expect(
      Math.abs(kernelSse / (batch.length * 10) - value.dataSync()[0]) / value.dataSync()[0],
    ).toBeLessThan(1e-4);
    arch.params.forEach((p, i) => {
      const kernelErr = relativeError(kernelGrad.subarray(p.offset, p.offset + p.size), grads[i].dataSync());
      expect(kernelErr, `${p.name} relative error of the step kernel`).toBeLessThan(1e-4);
      const ours = grad.subarray(p.offset, p.offset + p.size);
      // the float64 JavaScript model, written independently of the kernel, checks it more
      // tightly than float32 tfjs can (the CNN kernel's float32 convolutions agree to about 1e-7)
      expect(
        relativeError(kernelGrad.subarray(p.offset, p.offset + p.size), ours),
        `${p.name} step kernel against the JavaScript model`,
      ).toBeLessThan(1e-5);
      const theirs = grads[i].dataSync();
      const err = relativeError(ours, theirs);
      expect(err, `${p.name} relative error`).toBeLessThan(1e-4);
      expect(
        Math.max(...Array.from(theirs, Math.abs)),
        `${p.name} gradient is not trivially zero`,
      ).toBeGreaterThan(1e-8);
    });
    tf.dispose([x, target, value, ...ws, ...grads]);
  });
});

describe('the CNN step kernel on weights that have shrunk', () => {
  // Table 1's CNN settings decay the weights towards zero (1e-19 by epoch 30), where float32
  // products are subnormal: inexact and slow, so such steps run the kernel's float64 path
  it.each([1e-19, 1e-12])('weights x %s: gradients equal the float64 JavaScript model to 1e-12', (gain) => {
    const arch = ARCHITECTURES.cnn;
    const w = new Float64Array(arch.size);
    kaimingNormal(arch, 11, w);
    for (let i = 0; i < w.length; i++) w[i] *= gain;
    const batch = [3, 17, 42, 0];
    const model = createModel('cnn');
    const grad = new Float64Array(arch.size);
    for (const s of batch) model.accumulateGradient(w, 0, grad, mnistBatch, s, 2 / (batch.length * 10));
    const kernel = model.createStepKernel(mnistBatch, 1);
    kernel.load(0, w, new Float64Array(arch.size), 0);
    const rest = Array.from({ length: mnistBatch.n }, (_, i) => i).filter((i) => !batch.includes(i));
    kernel.setOrder(0, Int32Array.from([...batch, ...rest]));
    kernel.steps(0, 0, 1, batch.length, 0, 0, 0);
    const kernelGrad = new Float64Array(arch.size);
    kernel.store(0, Float64Array.from(w), kernelGrad, 0);
    for (const p of arch.params) {
      const ours = grad.subarray(p.offset, p.offset + p.size);
      expect(Math.max(...Array.from(ours, Math.abs)), `${p.name} gradient is not zero`).toBeGreaterThan(0);
      expect(relativeError(kernelGrad.subarray(p.offset, p.offset + p.size), ours), p.name).toBeLessThan(
        1e-12,
      );
    }
  });
});

describe('engine predictions equal tfjs forward pass', () => {
  it.each(['ffnn', 'cnn'] as const)('%s on real MNIST', (archName) => {
    const arch = ARCHITECTURES[archName];
    const w = new Float64Array(arch.size);
    kaimingNormal(arch, 3, w);
    const model = createModel(archName);
    const out = new Float64Array(10);
    const x = tf.tensor2d(mnistBatch.images, [mnistBatch.n, 196]);
    const ws = arch.params.map((p) =>
      tf.tensor(Array.from(w.subarray(p.offset, p.offset + p.size)), p.shape),
    );
    const y = tfjsForward(archName, ws, x).arraySync();
    for (let s = 0; s < mnistBatch.n; s++) {
      model.predict(w, 0, mnistBatch, s, out);
      expect(relativeError(out, y[s])).toBeLessThan(1e-5);
    }
    tf.dispose([x, ...ws]);
  });
});
