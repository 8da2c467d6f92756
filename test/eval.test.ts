/**
 * `weightspace eval`: a checkpoint's accuracy and loss on MNIST from its network's reference
 * forward pass, against the figures the engine recorded while training the same zoo (its
 * own models, on float64 weights), and on zoos whose network was imported.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { networkOf } from '../src/core/network.ts';
import { checkpointWeights, zooRowIndex } from '../src/core/zoo.ts';
import { toImageSet } from '../src/data/imageSet.ts';
import { defaultMnistDir, loadMnist } from '../src/data/mnist.ts';
import { exportModel } from '../src/store/formats/exportModel.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { scoreNetwork } from '../src/train/scoreNetwork.ts';
import { runCliSync, tempDir, tinyConfig } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';

let root: string;
const zoos: Record<'ffnn' | 'cnn', Zoo> = {} as never;

beforeAll(async () => {
  root = tempDir('wsvc-eval-');
  for (const arch of ['ffnn', 'cnn'] as const) {
    const dir = join(root, 'zoo', `${arch}-t`);
    await trainZoo({ dir, config: tinyConfig(arch, { seedCount: 3, epochs: 3, testSize: 400 }) });
    zoos[arch] = loadZoo(dir);
  }
}, 60_000);

describe('eval', () => {
  it.each(['ffnn', 'cnn'] as const)(
    '%s: gives the test accuracy and loss the engine recorded for every checkpoint',
    (arch) => {
      const zoo = zoos[arch];
      const test = toImageSet(loadMnist({ trainSize: 1, testSize: 400 }).test);
      const network = networkOf(zoo.manifest.architecture)!;
      for (let run = 0; run < zoo.runs; run++)
        for (let epoch = 0; epoch <= zoo.epochs; epoch++) {
          const score = scoreNetwork(network, checkpointWeights(zoo, run, epoch), test);
          const row = zooRowIndex(zoo.runs, run, epoch);
          // the engine scored its float64 weights, eval the float32 checkpoint: a tie may fall the other way
          expect(Math.abs(score.accuracy - zoo.testAccuracy[row])).toBeLessThanOrEqual(1 / 400);
          expect(Math.abs(score.mse - zoo.testLoss[row])).toBeLessThan(1e-5 * zoo.testLoss[row]);
        }
    },
  );

  it('prints the scores of a zoo row and, with --json, every figure', () => {
    const text = runCliSync(
      'eval',
      ['--zoo', 'zoo/cnn-t', '--run', '1', '--epoch', '3', '--test-size', '400'],
      {
        cwd: root,
      },
    );
    expect(text.code, text.stderr).toBe(0);
    const row = zooRowIndex(3, 1, 3);
    expect(text.stdout).toContain('checkpoint     zoo/cnn-t run 1, epoch 3');
    expect(text.stdout).toMatch(/accuracy {7}0\.\d{4} \(\d+ of 400\)/);
    const json = JSON.parse(
      runCliSync(
        'eval',
        ['--zoo', 'zoo/cnn-t', '--run', '1', '--epoch', '3', '--test-size', '400', '--json'],
        {
          cwd: root,
        },
      ).stdout,
    );
    expect(json).toMatchObject({ zoo: 'zoo/cnn-t', images: 400 });
    expect(Math.abs(json.accuracy - zoos.cnn.testAccuracy[row])).toBeLessThanOrEqual(1 / 400);
    expect(json.correct).toBe(Math.round(json.accuracy * 400));
    expect(json.crossEntropy).toBeGreaterThan(0);
  });

  it('runs a model file with the network of the zoo under zoo/ it fits', async () => {
    const file = join(root, 'model.safetensors');
    await exportModel(zoos.ffnn, 2, 3, 'safetensors', file);
    const r = runCliSync('eval', [file, '--test-size', '400', '--json'], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.zoo).toBe('zoo/ffnn-t');
    expect(Math.abs(json.accuracy - zoos.ffnn.testAccuracy[zooRowIndex(3, 2, 3)])).toBeLessThanOrEqual(
      1 / 400,
    );
  });

  it('refuses a zoo whose network is not known, one that reads no 14x14 image, and a checkpoint it does not have', async () => {
    const missing = runCliSync('eval', ['--zoo', 'zoo/ffnn-t', '--run', '3', '--epoch', '1'], { cwd: root });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'error: zoo/ffnn-t has runs 0-2 and epochs 0-3; --run 3 --epoch 1 is not one of its checkpoints\n',
    );
    // the FFNN's checkpoints imported under another name: its tensors, no network
    for (let run = 0; run < 3; run++)
      for (let epoch = 0; epoch <= 3; epoch++)
        await exportModel(
          zoos.ffnn,
          run,
          epoch,
          'safetensors',
          join(root, 'runs', `run-${run}`, `epoch-${epoch}.safetensors`),
        );
    expect(runCliSync('import', ['runs', '--name', 'imp'], { cwd: root }).code).toBe(0);
    const unknown = runCliSync('eval', ['--zoo', 'zoo/imp', '--run', '0', '--epoch', '1'], { cwd: root });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe(
      'error: the network of zoo/imp is not known, so its checkpoints cannot be run: import it with --network FILE (docs/formats.md, "Networks")\n',
    );
    // the same tensors read as a 4x7x7 map: they fit, but it is not an MNIST image
    const network = {
      input: [4, 7, 7],
      layers: [
        { kind: 'flatten' },
        { kind: 'dense', name: 'fc1', in: 196, out: 10, bias: false },
        { kind: 'activation', fn: 'sigmoid' },
        { kind: 'dense', name: 'fc2', in: 10, out: 10, bias: false },
        { kind: 'activation', fn: 'sigmoid' },
        { kind: 'dense', name: 'fc3', in: 10, out: 10, bias: false },
      ],
    };
    writeFileSync(join(root, 'map.json'), JSON.stringify(network));
    expect(runCliSync('import', ['runs', '--name', 'imp', '--network', 'map.json'], { cwd: root }).code).toBe(
      0,
    );
    const map = runCliSync('eval', ['--zoo', 'zoo/imp', '--run', '0', '--epoch', '1'], { cwd: root });
    expect(map.code).toBe(2);
    expect(map.stderr).toBe(
      'error: the network reads [4, 7, 7]; MNIST images are 14x14 (196 values) or 28x28 (784), one channel\n',
    );
  });

  it('runs a network that reads MNIST at 28x28: template matching scores as counted here', () => {
    // a 784 -> 10 linear classifier whose rows are the class means of 2,000 training images
    // (28x28, pixels / 255 from the idx bytes read here), saved as a safetensors state_dict
    const raw = readFileSync(join(defaultMnistDir(), 'train-images-idx3-ubyte')).subarray(16);
    const labels = readFileSync(join(defaultMnistDir(), 'train-labels-idx1-ubyte')).subarray(8);
    const means = new Float64Array(7840);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 2000; i++) {
      counts[labels[i]]++;
      for (let p = 0; p < 784; p++) means[labels[i] * 784 + p] += raw[i * 784 + p] / 255;
    }
    const weight = Array.from(means, (v, k) => v / counts[Math.floor(k / 784)]);
    const bias = Array.from(
      { length: 10 },
      (_, c) => -0.5 * weight.slice(c * 784, c * 784 + 784).reduce((a, v) => a + v * v, 0),
    );
    const dir = tempDir('wsvc-eval28-');
    mkdirSync(join(dir, 'runs', 'run-0'), { recursive: true });
    writeFileSync(
      join(dir, 'runs', 'run-0', 'epoch-0.safetensors'),
      safetensorsBytes([
        { name: 'fc.weight', shape: [10, 784], dtype: 'F32', values: weight },
        { name: 'fc.bias', shape: [10], dtype: 'F32', values: bias },
      ]),
    );
    writeFileSync(
      join(dir, 'net.json'),
      JSON.stringify({ input: [784], layers: [{ kind: 'dense', name: 'fc', in: 784, out: 10 }] }),
    );
    expect(
      runCliSync('import', ['runs', '--name', 'templates', '--network', 'net.json'], { cwd: dir }).code,
    ).toBe(0);
    const r = runCliSync(
      'eval',
      ['--zoo', 'zoo/templates', '--run', '0', '--epoch', '0', '--test-size', '500', '--json'],
      { cwd: dir },
    );
    expect(r.code, r.stderr).toBe(0);
    const testRaw = readFileSync(join(defaultMnistDir(), 't10k-images-idx3-ubyte')).subarray(16);
    const testLabels = readFileSync(join(defaultMnistDir(), 't10k-labels-idx1-ubyte')).subarray(8);
    let correct = 0;
    for (let i = 0; i < 500; i++) {
      const scores = Array.from({ length: 10 }, (_, c) => {
        let s = bias[c];
        for (let p = 0; p < 784; p++) s += Math.fround(weight[c * 784 + p]) * (testRaw[i * 784 + p] / 255);
        return s;
      });
      if (scores.indexOf(Math.max(...scores)) === testLabels[i]) correct++;
    }
    expect(correct).toBeGreaterThan(350); // a real classifier, so the count means something
    expect(JSON.parse(r.stdout)).toMatchObject({ images: 500, correct });
  });
});
