/**
 * Zoos recorded during training elsewhere: TensorFlow.js models of an architecture the toolkit
 * does not know (196 -> 32 -> 16 -> 10, biases, ReLU) trained with `model.fit` and the
 * zooRecorder callback on real MNIST; then clustered, identified, plotted, and compared with
 * the same weights imported from safetensors files written from the format's specification.
 */
import { tf } from './support/tf.ts';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { clusterZoo } from '../src/cluster/clusterZoo.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { identify } from '../src/identify/identify.ts';
import { disguisedCopy } from '../src/identify/symmetry.ts';
import { symmetriesOf } from '../src/identify/symmetry.ts';
import { Rng } from '../src/core/rng.ts';
import { forward } from '../src/train/forward.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { findChromium, launchChromium, renderPage } from '../src/plot/browser.ts';
import { plotZoo } from '../src/plot/plotZoo.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';
import { lockPath } from '../src/store/zooLock.ts';
import { tfjsArchitecture } from '../src/store/formats/tfjsNetwork.ts';
import { zooRecorder } from '../src/train/zooRecorder.ts';
import { ROOT, runCliSync, tempDir } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';

const RUNS = 10;
const EPOCHS = 8;

function mlp(seed: number): tf.Sequential {
  const init = (k: number) => tf.initializers.heNormal({ seed: 1000 * seed + k });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [196], units: 32, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(3) }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError', metrics: ['accuracy'] });
  return model;
}

const row = (z: Zoo, run: number, epoch: number) =>
  z.weights.slice((epoch * z.runs + run) * z.dim, (epoch * z.runs + run + 1) * z.dim);

describe('zooRecorder: a tfjs model.fit callback', () => {
  let root: string;
  let dir: string;
  let zoo: Zoo;
  beforeAll(async () => {
    root = tempDir('wsvc-record-');
    dir = join(root, 'zoo', 'mlp');
    const mnist = loadMnist({ trainSize: 300, testSize: 100 });
    const x = tf.tensor2d(mnist.train.images, [300, 196]);
    const y = tf.oneHot(tf.tensor1d(Array.from(mnist.train.labels), 'int32'), 10);
    for (let run = 0; run < RUNS; run++) {
      const model = mlp(run);
      await model.fit(x, y, {
        epochs: EPOCHS,
        batchSize: 30,
        shuffle: false,
        verbose: 0,
        callbacks: [
          zooRecorder({
            zoo: dir,
            run,
            runs: RUNS,
            tags: { lr: '0.1', init: `he-${run}` },
            note: run === 0 ? 'baseline' : undefined,
          }),
        ],
      });
      model.dispose();
    }
    zoo = loadZoo(dir);
  }, 120_000);

  it('records every epoch of every run, with the losses of the logs and the tags', () => {
    expect([zoo.runs, zoo.epochs, zoo.dim]).toEqual([
      RUNS,
      EPOCHS,
      196 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10,
    ]);
    expect(zoo.manifest.architecture.params.map((p) => p.name)).toEqual([
      'layer0.kernel',
      'layer0.bias',
      'layer1.kernel',
      'layer1.bias',
      'layer2.kernel',
      'layer2.bias',
    ]);
    expect(zoo.manifest.origin!.runInfo!['0']).toEqual({
      tags: { lr: '0.1', init: 'he-0' },
      note: 'baseline',
      // as model.compile and model.fit had them
      training: {
        framework: 'tfjs',
        optimizer: { className: 'SGD', config: { learningRate: 0.1 } },
        loss: 'meanSquaredError',
        batchSize: 30,
        samples: 300,
      },
    });
    expect(Number.isNaN(zoo.trainLoss[0])).toBe(true); // epoch 0: before training
    for (let i = RUNS; i < zoo.n; i++) expect(zoo.trainLoss[i]).toBeGreaterThan(0);
    // other logs (tfjs's 'acc') get a metric column of their own
    expect(Object.keys(zoo.metrics)).toEqual(['acc']);
    for (let i = RUNS; i < zoo.n; i++) expect(zoo.metrics.acc[i]).toBeGreaterThanOrEqual(0);
    // training lowers the loss of every run
    for (let r = 0; r < RUNS; r++)
      expect(zoo.trainLoss[EPOCHS * RUNS + r]).toBeLessThan(zoo.trainLoss[RUNS + r]);
    expect(runCliSync('verify', ['--zoo', dir]).code).toBe(0);
  });

  it('gives a zoo whose runs cluster apart and whose held-out epochs are identified', () => {
    expect(clusterZoo(zoo, { svd: 0 }).purityMean).toBe(1);
    expect(clusterZoo(zoo, { svd: 10 }).purityMean).toBe(1);
    const index = ZooIndex.build(zoo, { epochs: (e) => e !== 4 });
    for (let r = 0; r < RUNS; r++) {
      const who = identify(index, row(zoo, r, 4));
      expect(who.run).toBe(r);
      expect(who.verdict).toBe('member');
      expect(Math.abs(who.epoch - 4)).toBeLessThan(1);
    }
  });

  it('stores the network the tfjs model computes', () => {
    const dense = (i: number, n: number, m: number) =>
      ({ kind: 'dense', name: `layer${i}`, in: n, out: m, bias: true, layout: 'tf' }) as const;
    expect(zoo.manifest.network).toEqual({
      format: 1,
      input: [196],
      layers: [
        dense(0, 196, 32),
        { kind: 'activation', fn: 'relu' },
        dense(1, 32, 16),
        { kind: 'activation', fn: 'relu' },
        dense(2, 16, 10),
      ],
    });
    // the network computes what the model does
    const images = loadMnist({ trainSize: 1, testSize: 20 }).test.images;
    const model = mlp(0);
    const w = row(zoo, 3, 4);
    model.setWeights(
      zoo.manifest.architecture.params.map((p) =>
        tf.tensor(w.subarray(p.offset, p.offset + p.size), p.shape),
      ),
    );
    const theirs = tf.tidy(() => (model.predict(tf.tensor2d(images, [20, 196])) as tf.Tensor).dataSync());
    const ours = forward(zoo.manifest.network!, w, images, 20);
    for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - theirs[i])).toBeLessThan(1e-5);
    model.dispose();
  });

  it('verify refuses a manifest whose network does not describe its tensors', () => {
    const copy = join(tempDir(), 'mlp');
    cpSync(dir, copy, { recursive: true });
    const path = join(copy, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.network.layers[2].in = 33;
    writeFileSync(path, JSON.stringify(manifest, null, 2));
    const r = runCliSync('verify', ['--zoo', copy]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('network: layer 2 (dense layer1): it reads 33 inputs, but it receives [32]');
  });

  it('finds run 3 epoch 4 in a copy with its hidden units permuted and rescaled (the same function, checked in tfjs)', () => {
    const sym = symmetriesOf(zoo.manifest.architecture, zoo.manifest.network);
    expect([sym.hidden.length, sym.scale]).toEqual([2, true]);
    const rng = new Rng(24, 5);
    const w = row(zoo, 3, 4);
    const copy = disguisedCopy(sym, w, rng, { permute: true, scale: true });
    const images = loadMnist({ trainSize: 1, testSize: 50 }).test.images;
    const outputs = (weights: Float32Array) => {
      const model = mlp(0);
      model.setWeights(
        zoo.manifest.architecture.params.map((p) =>
          tf.tensor(weights.subarray(p.offset, p.offset + p.size), p.shape),
        ),
      );
      const y = tf.tidy(() => (model.predict(tf.tensor2d(images, [50, 196])) as tf.Tensor).dataSync());
      model.dispose();
      return y;
    };
    const [a, b] = [outputs(w), outputs(copy)];
    expect(Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)).toBeLessThan(1e-5);
    expect(copy.reduce((m, v, i) => Math.max(m, Math.abs(v - w[i])), 0)).toBeGreaterThan(0.05);
    const index = ZooIndex.build(zoo);
    const who = identify(index, copy);
    expect([who.verdict, who.run]).toEqual(['member', 3]);
    expect(Math.abs(who.epoch - 4)).toBeLessThan(0.05);
    expect(who.aligned).toMatch(/^permutation \(\d+ of 48 units moved\), scale$/);
  });

  it('gives the same rows as the same weights imported from safetensors files written from the specification', () => {
    const source = join(root, 'st');
    const arch = zoo.manifest.architecture;
    for (let r = 0; r < RUNS; r++)
      for (let e = 0; e <= EPOCHS; e++) {
        const w = row(zoo, r, e);
        const tensors = arch.params.map((p) => ({
          name: p.name,
          shape: p.shape,
          values: Array.from(w.subarray(p.offset, p.offset + p.size)),
          dtype: 'F32',
        }));
        mkdirSync(join(source, `seed${r}`), { recursive: true });
        writeFileSync(join(source, `seed${r}`, `epoch_${e}.safetensors`), safetensorsBytes(tensors));
      }
    const r = runCliSync('import', [
      source,
      '--name',
      'mlp',
      '--arch',
      arch.name,
      '--out',
      join(root, 'imported'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const imported = loadZoo(join(root, 'imported', 'mlp'));
    expect(imported.manifest.architecture.params.map((p) => [p.name, p.shape, p.offset])).toEqual(
      arch.params.map((p) => [p.name, p.shape, p.offset]),
    );
    expect(imported.sha256).toEqual(zoo.sha256);
    expect(imported.digest).toBe(zoo.digest);
  });

  it('gives the same rows as the same weights imported from TensorFlow.js model folders written from the format', () => {
    // model.json + weights.bin per the tfjs layers format: layer names as tfjs generates them,
    // different in every model instance (dense_Dense4, ...), kernel [in, out], little-endian float32
    const source = join(root, 'tfjs');
    const arch = zoo.manifest.architecture;
    for (let r = 0; r < RUNS; r++)
      for (let e = 0; e <= EPOCHS; e++) {
        const folder = join(source, `run-${r}`, `epoch-${e}`);
        mkdirSync(folder, { recursive: true });
        const w = row(zoo, r, e);
        const weights = arch.params.map((p) => {
          const [layer, part] = p.name.split('.');
          return {
            name: `dense_Dense${3 * r + Number(layer.slice(5)) + 1}/${part}`,
            shape: p.shape,
            dtype: 'float32',
          };
        });
        const bin = Buffer.alloc(4 * arch.size);
        w.forEach((v, j) => bin.writeFloatLE(v, 4 * j));
        writeFileSync(join(folder, 'weights.bin'), bin);
        writeFileSync(
          join(folder, 'model.json'),
          JSON.stringify({
            modelTopology: {},
            format: 'layers-model',
            weightsManifest: [{ paths: ['weights.bin'], weights }],
          }),
        );
      }
    const r = runCliSync('import', [
      source,
      '--name',
      'mlp',
      '--arch',
      arch.name,
      '--out',
      join(root, 'from-tfjs'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toContain('layout {run}/epoch-{epoch}');
    const imported = loadZoo(join(root, 'from-tfjs', 'mlp'));
    expect(imported.manifest.architecture.params.map((p) => [p.name, p.shape])).toEqual(
      arch.params.map((p) => [p.name, p.shape]),
    );
    expect(imported.sha256).toEqual(zoo.sha256);
  });

  it('plots it', async () => {
    const out = join(root, 'plots');
    const result = await plotZoo(dir, { outDir: out, svd: 5, umapEpochs: 20 });
    expect(result.files.map((f) => f.split('/').pop())).toContain('dendrogram.html');
    for (const f of result.files) expect(existsSync(f)).toBe(true);
    // each run's tags and note travel with it: plot hovers, cluster report, identify output
    expect(readFileSync(join(out, 'mlp', 'trajectories-svd.html'), 'utf8')).toContain(
      'run 0 (0; lr=0.1; init=he-0; baseline)',
    );
    const report = JSON.parse(readFileSync(join(out, 'cluster-mlp.json'), 'utf8'));
    expect(report.zoo.origin.runInfo['3']).toMatchObject({ tags: { lr: '0.1', init: 'he-3' } });
    const id = runCliSync('identify', [
      join(dir, 'checkpoints', 'epoch-0005.arrow'),
      '--run',
      '4',
      '--zoo',
      dir,
      '--json',
    ]);
    expect(id.code, id.stderr).toBe(0);
    expect(JSON.parse(id.stdout)).toMatchObject({
      run: 4,
      runLabel: '4',
      runInfo: { tags: { init: 'he-4' } },
    });
    // and the pages render in a real browser: every run drawn, a point per checkpoint
    const chromium = findChromium();
    if (!chromium) return; // the CI installs Chromium; plots.test.ts says so when it is missing
    const browser = await launchChromium(chromium);
    try {
      for (const file of result.files.filter((f) => !f.endsWith('index.html'))) {
        const page = await renderPage(browser, file);
        expect(page.errors, file).toEqual([]);
        expect(page.requests, file).toEqual([]);
        expect(page.figures.length, file).toBeGreaterThan(0);
        if (/trajectories-umap/.test(file))
          expect(page.figures[0].points, file).toEqual(Array(RUNS).fill(EPOCHS + 1));
      }
    } finally {
      await browser.close();
    }
  }, 120_000);
});

describe('ZooWriter', () => {
  const arch = tfjsArchitecture(mlp(0), 'w');
  const weights = (run: number, epoch: number) =>
    Float32Array.from({ length: arch.size }, (_, j) => Math.sin(run * 7.1 + epoch * 0.3 + j));

  it('commits an epoch once every run has it, and continues after being dropped without close', async () => {
    const dir = join(tempDir('wsvc-writer-'), 'z');
    // a process records run 0's epochs 0 and 1, then is killed without close()
    const weightsFile = join(tempDir('wsvc-writer-'), 'weights.json');
    writeFileSync(weightsFile, JSON.stringify([0, 1].map((e) => Array.from(weights(0, e)))));
    const code = `import { ZooWriter } from '${join(ROOT, 'src/store/zooWriter.ts')}';
      const w = await ZooWriter.open(process.env.DIR, JSON.parse(process.env.ARCH), { runs: 2 });
      const { readFileSync } = await import('node:fs');
      for (const [epoch, values] of JSON.parse(readFileSync(process.env.WEIGHTS, 'utf8')).entries())
        await w.append({ run: 0, epoch, weights: values });
      process.kill(process.pid, 'SIGKILL');`;
    const killed = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        DIR: dir,
        ARCH: JSON.stringify(arch),
        WEIGHTS: weightsFile,
      },
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual([]); // run 1 has no epoch yet
    expect(existsSync(lockPath(dir))).toBe(true); // left behind by the killed writer
    // a new writer takes over the stale lock and picks up the staged checkpoints
    const b = await ZooWriter.open(dir, arch, { runs: 2 });
    await b.append({ run: 1, epoch: 0, weights: weights(1, 0) });
    expect(readdirSync(join(dir, 'checkpoints'))).toEqual(['epoch-0000.arrow']);
    await b.append({ run: 1, epoch: 1, weights: weights(1, 1) });
    expect(await b.close()).toEqual({ epochsCompleted: 1, staged: 0 });
    const z = loadZoo(dir);
    expect(Array.from(row(z, 1, 1))).toEqual(Array.from(weights(1, 1)));
    expect(runCliSync('verify', ['--zoo', dir]).code).toBe(0);
  });

  it('refuses checkpoints out of order, of another size, not finite, or of another run count, with clear errors', async () => {
    const dir = join(tempDir('wsvc-writer-'), 'z');
    const w = await ZooWriter.open(dir, arch, { runs: 2 });
    await expect(w.append({ run: 0, epoch: 1, weights: weights(0, 1) })).rejects.toThrow(
      /run 0 is at epoch 0; append its epochs in order from 0 \(got 1\)/,
    );
    await expect(w.append({ run: 2, epoch: 0, weights: weights(0, 0) })).rejects.toThrow(
      /run 2 is not one of the zoo's runs 0-1/,
    );
    await expect(w.append({ run: 0, epoch: 0, weights: new Float32Array(3) })).rejects.toThrow(
      /3 weights, the architecture has/,
    );
    const nan = weights(0, 0);
    nan[5] = NaN;
    await expect(w.append({ run: 0, epoch: 0, weights: nan })).rejects.toThrow(
      /weight 5 is NaN; only finite weights are recorded/,
    );
    await expect(ZooWriter.open(dir, arch, { runs: 2 })).rejects.toThrow(
      new RegExp(
        `^${dir} is being written by pid ${process.pid} \\(started \\d\\d:\\d\\d\\); wait, or close the other writer first`,
      ),
    );
    await w.close();
    expect(existsSync(lockPath(dir))).toBe(false);
    await expect(ZooWriter.open(dir, arch, { runs: 3 })).rejects.toThrow(
      /has 2 runs, the writer was opened with 3/,
    );
    expect(existsSync(lockPath(dir))).toBe(false); // a refused open leaves no lock
  });
});
