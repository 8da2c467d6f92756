/**
 * Identification on real (tiny) zoos: each verdict, the exact search against brute force,
 * each input format (export then identify), the tfjs model against our engine, and errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from './support/tf.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { identify } from '../src/identify/identify.ts';
import { lowerBounds, segmentDistance } from '../src/identify/trajectory.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { toImageSet } from '../src/data/imageSet.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { CNN, FFNN, type ArchName } from '../src/core/architectures.ts';
import { createModel } from '../src/train/models/factory.ts';
import { trainFurther } from '../src/train/trainFurther.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { exportModel } from '../src/store/formats/exportModel.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { readModel } from '../src/store/formats/readModel.ts';
import { toSafetensors } from '../src/store/formats/safetensors.ts';
import { tfjsFileHandler } from '../src/store/formats/tfjsModel.ts';
import { loadSavedIndex, saveIndex, runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';

let root: string;
let zoo: Zoo;
let strangers: Zoo;
let index: ZooIndex;
const row = (z: Zoo, run: number, epoch: number) =>
  z.weights.slice((epoch * z.runs + run) * z.dim, (epoch * z.runs + run + 1) * z.dim);

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
    const between = identify(
      index,
      a.map((v, j) => 0.7 * v + 0.3 * b[j]),
    );
    expect([between.verdict, between.run]).toEqual(['member', 4]);
    expect(between.epoch).toBeCloseTo(3.3, 3);
  });

  it('keeps zoo rows and index rows apart by type (tsc checks the line marked below)', () => {
    const t = index.trajectories[1];
    expect(index.rows.row(t.rows[0])).toEqual(checkpointWeights(zoo, t.run, t.epochs[0]));
    const mixedUp = () =>
      // @ts-expect-error an index row is not a zoo row: tsc refuses this call
      index.rows.row(t.at[0]);
    expect(typeof mixedUp).toBe('function');
  });

  it('calls checkpoints of seeds outside the zoo unknown', () => {
    for (let r = 0; r < strangers.runs; r++)
      for (let e = 0; e <= strangers.epochs; e++)
        expect(identify(index, row(strangers, r, e)).verdict).toBe('unknown');
  });

  it('calls a run trained further from its last checkpoint a descendant of that run', () => {
    const [one] = trainFurther(zoo, { runs: [1, 3], epochs: 1 });
    one.forEach((w, i) => {
      const id = identify(index, w);
      expect([id.verdict, id.run]).toEqual(['descendant', [1, 3][i]]);
      expect(id.epoch).toBeGreaterThan(zoo.epochs);
    });
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
          for (let s = 0; s + 1 < t.rows.length; s++)
            exact = Math.min(
              exact,
              segmentDistance(
                query,
                0,
                zoo.weights,
                t.rows[s] * zoo.dim,
                zoo.weights,
                t.rows[s + 1] * zoo.dim,
                zoo.dim,
              ).distance,
            );
          expect(bounds[i]).toBeLessThanOrEqual(exact);
          if (exact > 0.05) expect(bounds[i]).toBeGreaterThan(0); // not vacuous (how tight: npm run bench, runs measured)
        });
      }
    }
  });

  it('saves the index next to the zoo and loads it back; a zoo trained further makes it stale', () => {
    saveIndex(join(root, 'ffnn'), index);
    const loaded = loadSavedIndex(join(root, 'ffnn'), zoo)!;
    expect(loaded.calibration).toEqual(index.calibration);
    expect(identify(loaded, row(zoo, 5, 6))).toEqual(identify(index, row(zoo, 5, 6)));
    const older = { ...zoo, manifest: { ...zoo.manifest, epochsCompleted: zoo.epochs - 1 } };
    expect(loadSavedIndex(join(root, 'ffnn'), older)).toBeNull();
  });
});

describe('export and input formats', () => {
  it.each(['arrow', 'safetensors', 'tfjs'] as const)(
    'round trips %s: the same weights, and identify names the run and epoch',
    async (format) => {
      const out = join(root, 'exports', `ffnn-3-6.${format}`);
      await exportModel(zoo, 3, 6, format, out);
      const { weights } = readModel(out, FFNN);
      expect(weights).toEqual(row(zoo, 3, 6));
      const r = runCliSync('identify', [out, '--zoo', join(root, 'ffnn'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout);
      expect([result.verdict, result.run, result.epoch]).toEqual(['member', 3, 6]);
    },
  );

  it('writes a tfjs model that tf.loadLayersModel loads and that predicts what our engine predicts on MNIST test images', async () => {
    const cnn = loadZoo(join(root, 'cnn'));
    const test = toImageSet(loadMnist({ trainSize: 1, testSize: 200 }).test);
    const images = test.images;
    for (const [z, arch, shape] of [
      [zoo, FFNN, [test.n, 196]],
      [cnn, CNN, [test.n, 14, 14, 1]],
    ] as const) {
      const dir = join(root, 'exports', `${arch.name}-tfjs`);
      await exportModel(z, 1, 2, 'tfjs', dir);
      const model = await tf.loadLayersModel(tfjsFileHandler(join(dir, 'model.json')));
      const theirs = (model.predict(tf.tensor(images, [...shape])) as tf.Tensor).dataSync();
      const kernel = createModel(arch.name as ArchName);
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
    // nothing written: the zoos and their indexes as before
    const zoos = ['ffnn', 'cnn'].map((z) => join(root, z));
    const before = zoos.map((z) => treeFingerprint(z));
    const r = runCliSync('identify', args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(zoos.map((z) => treeFingerprint(z))).toEqual(before);
    return r.stderr;
  };
  const tensors = (names: [string, number[]][]) =>
    names.map(([name, shape]) => ({
      name,
      shape,
      values: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    }));

  it('names a missing tensor, a wrong shape and an extra tensor', () => {
    const dir = join(root, 'bad');
    mkdirSync(dir, { recursive: true });
    const cases: [string, [string, number[]][], RegExp][] = [
      [
        'missing',
        [
          ['fc1.weight', [10, 196]],
          ['fc2.weight', [10, 10]],
        ],
        /no tensor 'fc3.weight'/,
      ],
      [
        'shape',
        [
          ['fc1.weight', [10, 196]],
          ['fc2.weight', [10, 10]],
          ['fc3.weight', [10, 9]],
        ],
        /'fc3.weight' has shape \[10,9\].*needs \[10,10\]/,
      ],
      [
        'extra',
        [
          ['fc1.weight', [10, 196]],
          ['fc2.weight', [10, 10]],
          ['fc3.weight', [10, 10]],
          ['fc3.bias', [10]],
        ],
        /lacks: fc3.bias/,
      ],
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
    expect(
      fail([join(root, 'ffnn', 'checkpoints', 'epoch-0003.arrow'), '--zoo', join(root, 'ffnn')]),
    ).toMatch(/holds 6 checkpoints; pick one with --run/);
    expect(fail([join(root, 'ffnn', 'manifest.json'), '--zoo', join(root, 'ffnn')])).toMatch(
      /has no valid weightsManifest/,
    );
    writeFileSync(join(root, 'weights.txt'), 'x');
    expect(fail([join(root, 'weights.txt'), '--zoo', join(root, 'ffnn')])).toMatch(/cannot tell the format/);
    expect(fail([join(root, 'nothing.safetensors'), '--zoo', join(root, 'ffnn')])).toMatch(/does not exist/);
    expect(fail(['--zoo', join(root, 'ffnn')])).toMatch(/give one checkpoint/);
  });
});

/**
 * The exact search against brute force on a zoo of 60 runs (enough that the bounds prune most
 * runs): the distance from the query to every segment of every run, written here from the
 * formula (closest point a + t (b - a), t = clamp((q - a).(b - a) / |b - a|^2, 0, 1)) in
 * plain float64 loops, sorted; identify must report the same top 5 runs, epochs and distances,
 * and the same margin.
 */
describe('identify against a brute-force scan', () => {
  it('gives the exact top 5 and margin on 60 runs, with most runs pruned', async () => {
    const dir = join(tempDir(), 'ffnn-60');
    await trainZoo({ dir, config: tinyConfig('ffnn', { seedCount: 60, epochs: 4, trainSize: 300 }) });
    const big = loadZoo(dir);
    const space = ZooIndex.build(big);
    const d = big.dim;
    const at = (run: number, epoch: number) => (epoch * big.runs + run) * d;
    let measured = 0;
    for (let q = 0; q < 12; q++) {
      const run = (q * 7) % big.runs;
      const query = Float64Array.from(
        big.weights.subarray(at(run, 1 + (q % 3)), at(run, 1 + (q % 3)) + d),
        (v, j) => v + 0.02 * Math.sin(5 * j + q) * (1 + (q % 4)),
      );
      const reference = Array.from({ length: big.runs }, (_, r) => {
        let best = { run: r, distance: Infinity, epoch: NaN };
        for (let e = 0; e < big.epochs; e++) {
          const [a, b] = [at(r, e), at(r, e + 1)];
          let vv = 0;
          let qv = 0;
          for (let j = 0; j < d; j++) {
            const v = big.weights[b + j] - big.weights[a + j];
            vv += v * v;
            qv += (query[j] - big.weights[a + j]) * v;
          }
          const t = Math.min(1, Math.max(0, qv / vv));
          let ss = 0;
          for (let j = 0; j < d; j++)
            ss += (query[j] - big.weights[a + j] - t * (big.weights[b + j] - big.weights[a + j])) ** 2;
          if (Math.sqrt(ss) < best.distance) best = { run: r, distance: Math.sqrt(ss), epoch: e + t };
        }
        return best;
      }).sort((x, y) => x.distance - y.distance || x.run - y.run);
      const id = identify(space, query);
      measured += id.runsMeasured;
      expect(id.candidates.map((c) => c.run)).toEqual(reference.slice(0, 5).map((c) => c.run));
      id.candidates.forEach((c, i) => {
        expect(c.distance).toBeCloseTo(reference[i].distance, 9);
        expect(c.epoch).toBeCloseTo(reference[i].epoch, 6);
      });
      expect(id.margin).toBeCloseTo(reference[1].distance / reference[0].distance, 9);
    }
    expect(measured / 12).toBeLessThan(big.runs / 2); // the bounds did prune: this is the search, not a scan
    space.close();
  });
});
