/**
 * Records a zoo of TensorFlow.js models trained with model.fit, as a user of the library
 * would (the zooRecorder callback): a dense 196-32-16-10 network with biases and ReLU on
 * MNIST 14x14, one run per seed, a checkpoint per epoch. The zoo the README's identify
 * evaluation calls "tfjs-recorded".
 *
 *   npx tsx scripts/tfjsZoo.ts --out zoo/tfjs-mlp --runs 50 --epochs 10 --train-size 2000
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { loadMnist } from '../src/data/mnist.ts';
import { zooRecorder } from '../src/train/zooRecorder.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'zoo/tfjs-mlp' },
    runs: { type: 'string', default: '50' },
    epochs: { type: 'string', default: '10' },
    'train-size': { type: 'string', default: '2000' },
  },
});
const [runs, epochs, trainSize] = [values.runs, values.epochs, values['train-size']].map(Number);
tf.env().set('PROD', true);
const mnist = loadMnist({ trainSize, testSize: 1000 });
const x = tf.tensor2d(mnist.train.images, [trainSize, 196]);
const y = tf.oneHot(tf.tensor1d(Array.from(mnist.train.labels), 'int32'), 10);
const tx = tf.tensor2d(mnist.test.images, [1000, 196]);
const ty = tf.oneHot(tf.tensor1d(Array.from(mnist.test.labels), 'int32'), 10);
for (let run = 0; run < runs; run++) {
  const init = (k: number) => tf.initializers.heNormal({ seed: 1000 * run + k });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [196], units: 32, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(3) }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError', metrics: ['accuracy'] });
  await model.fit(x, y, {
    epochs,
    batchSize: 32,
    verbose: 0,
    validationData: [tx, ty],
    callbacks: [zooRecorder({ zoo: values.out!, run, runs, tags: { lr: '0.1', init: `he-${run}` } })],
  });
  const [, accuracy] = model.evaluate(tx, ty) as tf.Scalar[];
  process.stdout.write(`run ${run}: test accuracy ${(await accuracy.data())[0].toFixed(3)}\n`);
  model.dispose();
}
