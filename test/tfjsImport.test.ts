/**
 * TensorFlow.js model folders (model.json + weights.bin, as tfjs's own `model.save` writes
 * them) of a CNN with biases, imported without --network: the network comes from each
 * folder's topology, equals the one the recorder derives from the live model, and runs the
 * checkpoints as tfjs does (outputs and accuracy from tfjs's own predict).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inNetworkOrder } from '../src/core/network.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { tfjsNetwork } from '../src/store/formats/tfjsNetwork.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { forward } from '../src/train/forward.ts';
import { runCliSync, tempDir } from './helpers.ts';
import { tf } from './support/tf.ts';

const RUNS = 3;
const EPOCHS = 2;
let root: string;
let zoo: Zoo;
const models: tf.LayersModel[][] = [];

function cnn(seed: number): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: 100 * seed + s });
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [14, 14, 1],
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(1),
      biasInitializer: 'ones',
    }),
  );
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 10, kernelInitializer: init(3), biasInitializer: 'zeros' }));
  return model;
}

/** A model folder as tfjs's own model.save writes it: model.json (topology + weights manifest) and weights.bin. */
async function saveFolder(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

beforeAll(async () => {
  root = tempDir('wsvc-tfjs-import-');
  for (let run = 0; run < RUNS; run++) {
    models.push([]);
    for (let epoch = 0; epoch <= EPOCHS; epoch++) {
      const model = cnn(run);
      // each epoch a step away from the last, as training would move it
      model.setWeights(
        model
          .getWeights()
          .map((w) =>
            tf.add(w, tf.mul(0.05 * epoch, tf.randomNormal(w.shape, 0, 1, 'float32', 7 * run + epoch))),
          ),
      );
      models[run].push(model);
      const dir = join(root, 'runs', `run-${run}`, `epoch-${epoch}`);
      mkdirSync(dir, { recursive: true });
      await saveFolder(model, dir);
    }
  }
  const r = runCliSync('import', ['runs', '--name', 'tfjs-cnn'], { cwd: root });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr + r.stdout).toContain('network known');
  zoo = loadZoo(join(root, 'zoo', 'tfjs-cnn'));
}, 60_000);

describe('import of tfjs model folders', () => {
  it("reads the network from the folders' topology, as the recorder does from the model", () => {
    expect(zoo.manifest.network).toEqual(tfjsNetwork(models[0][0]).network);
    expect(zoo.manifest.network!.layers.map((l) => l.kind)).toEqual([
      'conv2d',
      'activation',
      'maxpool',
      'conv2d',
      'activation',
      'flatten',
      'dense',
    ]);
  });

  it("computes tfjs's outputs, so eval gives tfjs's accuracy", () => {
    const { test } = loadMnist({ trainSize: 1, testSize: 100 });
    const network = zoo.manifest.network!;
    for (let run = 0; run < RUNS; run++) {
      const theirs = (
        models[run][EPOCHS].predict(tf.tensor(test.images, [100, 14, 14, 1])) as tf.Tensor
      ).dataSync();
      const w = inNetworkOrder(network, zoo.manifest.architecture, checkpointWeights(zoo, run, EPOCHS));
      const ours = forward(network, w, test.images, 100);
      const scale = Math.max(...Array.from(theirs, Math.abs));
      expect(Array.from(ours).reduce((m, v, i) => Math.max(m, Math.abs(v - theirs[i])), 0)).toBeLessThan(
        1e-5 * scale,
      );
      let correct = 0;
      for (let s = 0; s < 100; s++) {
        const y = Array.from(theirs.subarray(s * 10, s * 10 + 10));
        if (y.indexOf(Math.max(...y)) === test.labels[s]) correct++;
      }
      const r = runCliSync('eval', [
        '--zoo',
        join(root, 'zoo', 'tfjs-cnn'),
        '--run',
        String(run),
        '--epoch',
        String(EPOCHS),
        '--test-size',
        '100',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).correct).toBe(correct);
    }
  });

  it('imports a model with a layer no network describes, without a network and saying why', async () => {
    const dir = tempDir('wsvc-tfjs-elu-');
    const model = tf.sequential();
    model.add(tf.layers.dense({ inputShape: [196], units: 8 }));
    model.add(tf.layers.elu());
    model.add(tf.layers.dense({ units: 10 }));
    for (let epoch = 0; epoch < 2; epoch++) {
      const folder = join(dir, 'runs', 'run-0', `epoch-${epoch}`);
      mkdirSync(folder, { recursive: true });
      await saveFolder(model, folder);
    }
    const r = runCliSync('import', ['runs', '--name', 'elu'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^note: the network is not known: layer 1 \(ELU\): not a layer a network describes$/m,
    );
    expect(loadZoo(join(dir, 'zoo', 'elu')).manifest.network).toBeUndefined();
    const run = runCliSync('eval', ['--zoo', 'zoo/elu', '--run', '0', '--epoch', '1'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: the network of zoo\/elu is not known, so its checkpoints cannot be run/,
    );
  });
});
