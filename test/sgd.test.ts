/**
 * The SGD update over several steps against a reference written here from PyTorch's
 * documented torch.optim.SGD (momentum μ, weight decay λ, dampening 0, no Nesterov):
 *   g ← ∇L(w) + λ w;  v ← μ v + g;  w ← w − η v
 * with the gradient from tfjs autodiff (an independent implementation), over two epochs of a
 * 10-image set in batches of 4 (so every epoch ends with a smaller batch of 2), in the data
 * order the run's seed draws for each epoch.
 */
import { tf } from './support/tf.ts';
import { describe, expect, it } from 'vitest';
import { toImageSet } from '../src/data/imageSet.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { ARCHITECTURES } from '../src/core/architectures.ts';
import { kaimingNormal } from '../src/train/init.ts';
import { createModel } from '../src/train/models/factory.ts';
import { LockstepTrainer } from '../src/train/lockstep.ts';
import { presetConfig } from '../src/core/presets.ts';
import { epochStream, Rng } from '../src/core/rng.ts';
import { tfjsForward } from './support/tfjsReference.ts';

describe.each(['ffnn', 'cnn'] as const)('%s: SGD with momentum and weight decay', (archName) => {
  it('matches the reference over 6 steps with a smaller last batch in each epoch, to 1e-5', () => {
    const arch = ARCHITECTURES[archName];
    const n = 10;
    const config = presetConfig('default', archName, {
      seedCount: 1,
      trainSize: n,
      testSize: 1,
      batchSize: 4,
      learningRate: 0.05,
      momentum: 0.9,
      weightDecay: 0.01,
    });
    const mnist = loadMnist({ trainSize: n, testSize: 1 });
    const seed = 3;
    const w0 = new Float64Array(arch.size);
    kaimingNormal(arch, seed, w0);

    const engine = new LockstepTrainer(
      createModel(archName),
      config,
      [seed],
      Float64Array.from(w0),
      new Float64Array(arch.size),
      toImageSet(mnist.train, true),
      toImageSet(mnist.test, true),
    );
    engine.trainEpoch(1);
    engine.trainEpoch(2);

    const w = Float64Array.from(w0);
    const v = new Float64Array(arch.size);
    const { learningRate: lr, momentum: mu, weightDecay: wd, batchSize } = config;
    const sizes: number[] = [];
    for (const epoch of [1, 2]) {
      const order = new Rng(seed, epochStream(epoch)).permutation(n);
      for (let start = 0; start < n; start += batchSize) {
        const batch = Array.from(order.subarray(start, Math.min(n, start + batchSize)));
        sizes.push(batch.length);
        const x = tf.tensor2d(
          batch.flatMap((i) => Array.from(mnist.train.images.subarray(i * 196, (i + 1) * 196))),
          [batch.length, 196],
        );
        const target = tf
          .oneHot(
            batch.map((i) => mnist.train.labels[i]),
            10,
          )
          .toFloat();
        const params = arch.params.map((p) =>
          tf.tensor(Array.from(w.subarray(p.offset, p.offset + p.size)), p.shape),
        );
        const loss = (...ws: tf.Tensor[]) =>
          tf.mean(tf.square(tf.sub(tfjsForward(archName, ws, x), target))) as tf.Scalar;
        const grads = tf.grads(loss)(params);
        const g = new Float64Array(arch.size);
        arch.params.forEach((p, k) => g.set(grads[k].dataSync(), p.offset));
        for (let j = 0; j < arch.size; j++) {
          v[j] = mu * v[j] + g[j] + wd * w[j];
          w[j] -= lr * v[j];
        }
        tf.dispose([x, target, ...params, ...grads]);
      }
    }
    expect(sizes).toEqual([4, 4, 2, 4, 4, 2]);
    let num = 0;
    let den = 0;
    let moved = 0;
    for (let j = 0; j < arch.size; j++) {
      num += (engine.weights[j] - w[j]) ** 2;
      den += w[j] ** 2;
      moved += (w[j] - w0[j]) ** 2;
    }
    expect(Math.sqrt(moved / den)).toBeGreaterThan(1e-3); // the steps moved the weights (the check is not vacuous)
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
    expect(Math.sqrt(num / moved)).toBeLessThan(1e-3); // and relative to how far they moved
  });
});
