/**
 * Identification on real (tiny) zoos: each verdict, the exact search against brute force,
 * each input format (export then identify), the tfjs model against our engine, and errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { identify } from '../src/analysis/identify.ts';
import { lowerBounds, segmentDistance } from '../src/analysis/trajectory.ts';
import { ZooIndex } from '../src/analysis/zooIndex.ts';
import { toImageSet } from '../src/data/imageSet.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { CNN, FFNN } from '../src/nn/architectures.ts';
import { createKernel } from '../src/nn/kernel.ts';
import { trainFurther } from '../src/nn/trainFurther.ts';
import { trainZoo } from '../src/nn/trainZoo.ts';
import { exportModel } from '../src/store/exportModel.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { readModel } from '../src/store/readModel.ts';
import { toSafetensors } from '../src/store/safetensors.ts';
import { tfjsFileHandler } from '../src/store/tfjsModel.ts';
import { runCliSync, tempDir, tinyConfig } from './helpers.ts';

let root: string;
let zoo: Zoo;
let strangers: Zoo;
let index: ZooIndex;
const row = (z: Zoo, run: number, epoch: number) => z.weights.slice((epoch * z.runs + run) * z.dim, (epoch * z.runs + run + 1) * z.dim);

beforeAll(async () => {
  root = tempDir();
  const config = tinyConfig('ffnn', { seedCount: 6, epochs: 8, trainSize: 1000 });
  await trainZoo({ dir: join(root, 'ffnn'), config });
  await trainZoo({ dir: join(root, 'strangers'), config: { ...config, seedStart: 500, seedCount: 2 } });
  await trainZoo({ dir: join(root, 'cnn'), config: tinyConfig('cnn') });
  zoo = loadZoo(join(root, 'ffnn'));
  strangers = loadZoo(join(root, 'strangers'));
  index = ZooIndex.build(zoo, { components: 10 });
}, 120_000);

describe('identify', () => {
  it('calls a zoo checkpoint a member of its run, at its epoch, and a point between two checkpoints a member at the fractional epoch', () => {
    const exact = identify(index, row(zoo, 2, 5));
    expect([exact.verdict, exact.run, exact.distance]).toEqual(['member', 2, 0]);
    expect(exact.epoch).toBeCloseTo(5, 9);
    const [a, b] = [row(zoo, 4, 3), row(zoo, 4, 4)];
    const between = identify(index, a.map((v, j) => 0.7 * v + 0.3 * b[j]));
    expect([between.verdict, between.run]).toEqual(['member', 4]);
    expect(between.epoch).toBeCloseTo(3.3, 3);
  });

  it('calls checkpoints of seeds outside the zoo unknown', () => {
    for (let r = 0; r < strangers.runs; r++) for (let e = 0; e <= strangers.epochs; e++) expect(identify(index, row(strangers, r, e)).verdict).toBe('unknown');
  });

  it('calls a run trained further from its last checkpoint a descendant of that run', () => {
    const [one] = trainFurther(zoo, { runs: [1, 3], epochs: 1 });
    one.forEach((w, i) => {
      const id = identify(index, w);
      expect([id.verdict, id.run]).toEqual(['descendant', [1, 3][i]]);
      expect(id.epoch).toBeGreaterThan(zoo.epochs);
    });
  });

  it('finds the same nearest runs and distances as a brute-force scan of every segment', () => {
    for (let q = 0; q < 6; q++) {
      const base = q < 3 ? row(zoo, q, 2 * q + 1) : row(strangers, q % 2, q);
      const query = base.map((v, j) => v + 0.05 * Math.sin(7 * j + q)); // off every trajectory
      const perRun = Array.from({ length: zoo.runs }, (_, r) => {
        let distance = Infinity;
        for (let e = 0; e < zoo.epochs; e++) {
          distance = Math.min(distance, segmentDistance(query, 0, zoo.weights, (e * zoo.runs + r) * zoo.dim, ((e + 1) * zoo.runs + r) * zoo.dim, zoo.dim).distance);
        }
        return { run: r, distance };
      }).sort((a, b) => a.distance - b.distance);
      const id = identify(index, query);
      expect(id.run).toBe(perRun[0].run);
      expect(id.distance).toBeCloseTo(perRun[0].distance, 9);
      // with top 2, the search may stop early, yet the runner-up (and so the margin) is exact
      const two = identify(index, query, { top: 2 });
      expect(two.candidates.map((c) => c.run)).toEqual([perRun[0].run, perRun[1].run]);
      expect(two.margin).toBeCloseTo(perRun[1].distance / perRun[0].distance, 9);
    }
  });

  it('bounds every run from below: projected distance less its rounding, against brute force', () => {
    // 10 components (most of each distance outside the subspace) and the default (all of it inside)
    for (const space of [index, ZooIndex.build(zoo)]) {
      for (let q = 0; q < 8; q++) {
        const base = q < 4 ? row(zoo, q % zoo.runs, q + 1) : row(strangers, q % 2, q);
        // on a trajectory (noise 0) and off it: a bound must hold where it is tightest too
        const query = base.map((v, j) => v + (q % 2) * 0.02 * Math.sin(3 * j + q));
        const bounds = lowerBounds(space, Float64Array.from(query));
        space.trajectories.forEach((t, i) => {
          let exact = Infinity;
          for (let s = 0; s + 1 < t.rows.length; s++) exact = Math.min(exact, segmentDistance(query, 0, zoo.weights, t.rows[s] * zoo.dim, t.rows[s + 1] * zoo.dim, zoo.dim).distance);
          expect(bounds[i]).toBeLessThanOrEqual(exact);
          if (exact > 0.05) expect(bounds[i]).toBeGreaterThan(0); // not vacuous (how tight: npm run bench, runs measured)
        });
      }
    }
  });

  it('saves the index next to the zoo and loads it back; a zoo trained further makes it stale', () => {
    index.save(join(root, 'ffnn'));
    const loaded = ZooIndex.load(join(root, 'ffnn'), zoo)!;
    expect(loaded.calibration).toEqual(index.calibration);
    expect(identify(loaded, row(zoo, 5, 6))).toEqual(identify(index, row(zoo, 5, 6)));
    const older = { ...zoo, manifest: { ...zoo.manifest, epochsCompleted: zoo.epochs - 1 } };
    expect(ZooIndex.load(join(root, 'ffnn'), older)).toBeNull();
  });
});

describe('export and input formats', () => {
  it.each(['arrow', 'safetensors', 'tfjs'] as const)('round trips %s: the same weights, and identify names the run and epoch', async (format) => {
    const out = join(root, 'exports', `ffnn-3-6.${format}`);
    await exportModel(zoo, 3, 6, format, out);
    const { weights } = readModel(out, FFNN);
    expect(weights).toEqual(row(zoo, 3, 6));
    const r = runCliSync('src/cli/identify.ts', [out, '--zoo', join(root, 'ffnn'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect([result.verdict, result.run, result.epoch]).toEqual(['member', 3, 6]);
  });

  it('writes a tfjs model that tf.loadLayersModel loads and that predicts what our engine predicts on MNIST test images', async () => {
    const cnn = loadZoo(join(root, 'cnn'));
    const test = toImageSet(loadMnist({ trainSize: 1, testSize: 200 }).test);
    const images = test.images;
    for (const [z, arch, shape] of [[zoo, FFNN, [test.n, 196]], [cnn, CNN, [test.n, 14, 14, 1]]] as const) {
      const dir = join(root, 'exports', `${arch.name}-tfjs`);
      await exportModel(z, 1, 2, 'tfjs', dir);
      const model = await tf.loadLayersModel(tfjsFileHandler(join(dir, 'model.json')));
      const theirs = (model.predict(tf.tensor(images, [...shape])) as tf.Tensor).dataSync();
      const kernel = createKernel(arch.name);
      const w = Float64Array.from(row(z, 1, 2));
      const out = new Float64Array(10);
      for (let s = 0; s < test.n; s++) {
        kernel.predict(w, 0, test, s, out);
        for (let c = 0; c < 10; c++) expect(theirs[s * 10 + c]).toBeCloseTo(out[c], 5);
      }
    }
  });
});

describe('identify: bad input', () => {
  const fail = (args: string[]) => {
    const r = runCliSync('src/cli/identify.ts', args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    return r.stderr;
  };
  const tensors = (names: [string, number[]][]) => names.map(([name, shape]) => ({ name, shape, values: new Float32Array(shape.reduce((a, b) => a * b, 1)) }));

  it('names a missing tensor, a wrong shape and an extra tensor', () => {
    const dir = join(root, 'bad');
    mkdirSync(dir, { recursive: true });
    const cases: [string, [string, number[]][], RegExp][] = [
      ['missing', [['fc1.weight', [10, 196]], ['fc2.weight', [10, 10]]], /no tensor 'fc3.weight'/],
      ['shape', [['fc1.weight', [10, 196]], ['fc2.weight', [10, 10]], ['fc3.weight', [10, 9]]], /'fc3.weight' has shape \[10,9\].*needs \[10,10\]/],
      ['extra', [['fc1.weight', [10, 196]], ['fc2.weight', [10, 10]], ['fc3.weight', [10, 10]], ['fc3.bias', [10]]], /lacks: fc3.bias/],
    ];
    for (const [name, list, message] of cases) {
      writeFileSync(join(dir, `${name}.safetensors`), toSafetensors(tensors(list)));
      expect(fail([join(dir, `${name}.safetensors`), '--zoo', join(root, 'ffnn')])).toMatch(message);
    }
  });

  it('refuses a checkpoint of the other architecture, a file of several checkpoints without --run, unknown formats and missing files', async () => {
    const cnnFile = join(root, 'exports', 'cnn.safetensors');
    await exportModel(loadZoo(join(root, 'cnn')), 0, 1, 'safetensors', cnnFile);
    expect(fail([cnnFile, '--zoo', join(root, 'ffnn')])).toMatch(/no tensor 'fc1.weight'/);
    expect(fail([join(root, 'ffnn', 'checkpoints', 'epoch-0003.arrow'), '--zoo', join(root, 'ffnn')])).toMatch(/holds 6 checkpoints; pick one with --run/);
    expect(fail([join(root, 'ffnn', 'manifest.json'), '--zoo', join(root, 'ffnn')])).toMatch(/no weightsManifest/);
    writeFileSync(join(root, 'weights.txt'), 'x');
    expect(fail([join(root, 'weights.txt'), '--zoo', join(root, 'ffnn')])).toMatch(/cannot tell the format/);
    expect(fail([join(root, 'nothing.safetensors'), '--zoo', join(root, 'ffnn')])).toMatch(/does not exist/);
    expect(fail(['--zoo', join(root, 'ffnn')])).toMatch(/give one checkpoint/);
  });
});
