/**
 * Forks of a recorded tfjs zoo, trained in tfjs: the recorder stores each run's training
 * setup (optimizer, loss, batch size, samples) as model.compile and model.fit had it; the
 * model rebuilt from the zoo's network computes what the recorded model computes; one
 * full-batch epoch of further training is one SGD step, checked against a gradient written
 * again here with tfjs autodiff; jobs are deterministic; the evaluation plans forks for such
 * a zoo and says why not for one without a recorded setup.
 */
import { tf } from './support/tf.ts';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../src/data/mnist.ts';
import { evaluationPlan } from '../src/identify/evaluationSets.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { tfjsModelOf, tfjsTrainFurther } from '../src/train/tfjsFurther.ts';
import { zooRecorder } from '../src/train/zooRecorder.ts';
import { tempDir } from './helpers.ts';

const [RUNS, EPOCHS, SAMPLES] = [6, 3, 300];
let root: string;
let dir: string;
let zoo: Zoo;
let lastModel: tf.Sequential;
const mnist = loadMnist({ trainSize: SAMPLES, testSize: 1 });

beforeAll(async () => {
  root = tempDir('wsvc-tfjs-forks-');
  dir = join(root, 'mlp');
  const x = tf.tensor2d(mnist.train.images, [SAMPLES, 196]);
  const y = tf.oneHot(tf.tensor1d(Array.from(mnist.train.labels), 'int32'), 10);
  for (let run = 0; run < RUNS; run++) {
    const init = (k: number) => tf.initializers.heNormal({ seed: 100 * run + k });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [196], units: 12, activation: 'relu', kernelInitializer: init(1) }),
        tf.layers.dense({ units: 10, kernelInitializer: init(2) }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
    await model.fit(x, y, {
      epochs: EPOCHS,
      batchSize: 30,
      verbose: 0,
      callbacks: [zooRecorder({ zoo: dir, run, runs: RUNS })],
    });
    if (run === RUNS - 1) lastModel = model;
    else model.dispose();
  }
  zoo = loadZoo(dir);
}, 120_000);

describe('a recorded tfjs zoo, trained further in tfjs', () => {
  it("records each run's training setup as model.compile and model.fit had it", () => {
    for (let run = 0; run < RUNS; run++)
      expect(zoo.manifest.origin!.runInfo![run].training).toEqual({
        framework: 'tfjs',
        optimizer: { className: 'SGD', config: { learningRate: 0.1 } },
        loss: 'meanSquaredError',
        batchSize: 30,
        samples: SAMPLES,
      });
  });

  it('rebuilds a model from the network that computes what the recorded model computes', () => {
    const w = checkpointWeights(zoo, RUNS - 1, EPOCHS);
    const x = tf.tensor2d(mnist.train.images.subarray(0, 20 * 196), [20, 196]);
    const rebuilt = tfjsModelOf(zoo.manifest.network!, zoo.manifest.architecture, w);
    const [a, b] = [rebuilt, lastModel].map((m) => (m.predict(x) as tf.Tensor).dataSync());
    const diff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    expect(diff).toBeLessThan(1e-6);
    expect(Math.max(...Array.from(b, Math.abs))).toBeGreaterThan(0.1); // not all zero
  });

  it('takes one SGD step on the full batch in one epoch of batch size = samples (tfjs autodiff, written again)', async () => {
    const w = checkpointWeights(zoo, 2, 1);
    const [k0, b0, k1, b1] = zoo.manifest.architecture.params.map((p) =>
      tf.tensor(w.subarray(p.offset, p.offset + p.size), p.shape),
    );
    const x = tf.tensor2d(mnist.train.images, [SAMPLES, 196]);
    const y = tf.oneHot(tf.tensor1d(Array.from(mnist.train.labels), 'int32'), 10).toFloat();
    // the recorded network: relu(x k0 + b0) k1 + b1, mean squared error over every output
    const loss = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.mean(tf.square(tf.sub(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, a), b)), c), d), y)));
    const grads = tf.grads(loss)([k0, b0, k1, b1]);
    const g = new Float32Array(w.length);
    zoo.manifest.architecture.params.forEach((p, i) => g.set(grads[i].dataSync(), p.offset));
    for (const [scale, lr] of [
      [undefined, 0.1],
      [0.3, 0.03],
    ] as const) {
      const [[stepped]] = await tfjsTrainFurther(zoo, {
        runs: [2],
        from: 1,
        epochs: 1,
        batchSize: SAMPLES,
        learningRateScale: scale,
      });
      const expected = w.map((v, j) => v - lr * g[j]);
      const err = Math.max(...Array.from(stepped, (v, j) => Math.abs(v - expected[j])));
      expect(err, `lr ${lr}`).toBeLessThan(1e-5);
      expect(Math.max(...Array.from(g, Math.abs))).toBeGreaterThan(1e-3); // the step moves
    }
  });

  it('gives the same bytes for the same job, other bytes for a changed task or data seed', async () => {
    const job = { runs: [0, 4], from: 2, epochs: 2 };
    const [a, b] = [await tfjsTrainFurther(zoo, job), await tfjsTrainFurther(zoo, job)];
    const bytes = (c: Float32Array[][]) => Buffer.concat(c.flat().map((v) => Buffer.from(v.buffer)));
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(bytes(await tfjsTrainFurther(zoo, { ...job, task: 'rotated' })).equals(bytes(a))).toBe(false);
    expect(bytes(await tfjsTrainFurther(zoo, { ...job, dataSeed: (r) => r + 7 })).equals(bytes(a))).toBe(
      false,
    );
  });

  it('plans descendants and forks for the zoo, and says why not when a run recorded no setup', () => {
    expect(evaluationPlan(zoo).notTrained).toBeNull();
    const bare = join(root, 'bare');
    cpSync(dir, bare, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(bare, 'manifest.json'), 'utf8'));
    delete manifest.origin.runInfo['1'].training;
    writeFileSync(join(bare, 'manifest.json'), JSON.stringify(manifest));
    expect(evaluationPlan(loadZoo(bare)).notTrained).toMatch(
      /^descendants and forks are not trained: the engine trains the built-in networks, and tfjs cannot train \S+ further: run 1 of \S+ records no training setup \(zooRecorder reads it/,
    );
  });
});
