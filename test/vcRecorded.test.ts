/**
 * The version-control commands on zoos recorded from TensorFlow.js (zooRecorder): a zoo of two
 * MLPs trained with model.fit on real MNIST, and a fine-tune of one of them on permuted labels
 * recorded with its parent reference. Hashes against the Arrow files read by polars, the
 * profile and the change against the models' own weights, the function-space figures against
 * tfjs's predictions, and the parent link through log, show, search, tag and lineage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist } from '../src/data/mnist.ts';
import { checkpointPath } from '../src/store/manifest.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';
import { tfjsArchitecture } from '../src/store/formats/tfjsNetwork.ts';
import { tfjsWeights, zooRecorder } from '../src/train/zooRecorder.ts';
import { runCliSync, tempDir } from './helpers.ts';
import { tf } from './support/tf.ts';

const EPOCHS = 3;
const FINE_TUNE = 2;
const TEST_IMAGES = 200;
let root: string;
let parentLast: Float32Array; // run 1 of tfjs-mlp after its last epoch
let tunedLast: Float32Array; // the fine-tune after its last epoch
let tunedAccuracy: number; // tfjs's accuracy of the fine-tune on the first test images
let tuned: tf.Sequential;

function mlp(seed: number): tf.Sequential {
  const init = (k: number) => tf.initializers.glorotUniform({ seed: 100 * seed + k });
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [196], units: 24, activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.dense({ units: 10, kernelInitializer: init(2) }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.2), loss: 'meanSquaredError' });
  return model;
}

const cli = (command: string, args: string[]) => runCliSync(command, [...args, '--root', root]);
const json = (command: string, args: string[]) => {
  const r = cli(command, [...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
/** The sha256 column of an epoch file, read by polars. */
const shaColumn = (zoo: string, epoch: number): string[] =>
  pl
    .readIPC(readFileSync(checkpointPath(join(root, zoo), epoch)))
    .getColumn('sha256')
    .toArray()
    .map(String);

beforeAll(async () => {
  root = tempDir('wsvc-vc-tfjs-');
  const mnist = loadMnist({ trainSize: 300, testSize: TEST_IMAGES });
  const x = tf.tensor2d(mnist.train.images, [300, 196]);
  const labels = Array.from(mnist.train.labels);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
  const fit = { epochs: EPOCHS, batchSize: 30, shuffle: false, verbose: 0 as const };
  for (let run = 0; run < 2; run++) {
    const model = mlp(run);
    await model.fit(x, y, {
      ...fit,
      callbacks: [zooRecorder({ zoo: join(root, 'tfjs-mlp'), run, runs: 2, tags: { lr: '0.2' } })],
    });
    if (run === 1) tuned = model;
    else model.dispose();
  }
  parentLast = tfjsWeights(tuned);
  // the fine-tune: the same model on labels permuted (k -> 9 - k), recorded with its parent
  const permuted = tf.oneHot(
    tf.tensor1d(
      labels.map((k) => 9 - k),
      'int32',
    ),
    10,
  );
  await tuned.fit(x, permuted, {
    ...fit,
    epochs: FINE_TUNE,
    callbacks: [
      zooRecorder({
        zoo: join(root, 'tfjs-ft'),
        run: 0,
        runs: 1,
        parent: 'tfjs-mlp:1',
        tags: { task: 'labels-permuted' },
      }),
    ],
  });
  tunedLast = tfjsWeights(tuned);
  const predicted = (tuned.predict(tf.tensor2d(mnist.test.images, [TEST_IMAGES, 196])) as tf.Tensor)
    .argMax(1)
    .dataSync();
  tunedAccuracy = predicted.filter((k, i) => k === mnist.test.labels[i]).length / TEST_IMAGES;
}, 180_000);

describe('the VC commands on a tfjs-recorded zoo and its recorded fine-tune', () => {
  it('records the parent: the manifest names it, and the fine-tune starts from its very checkpoint', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'tfjs-ft', 'manifest.json'), 'utf8'));
    const parentSha = shaColumn('tfjs-mlp', EPOCHS)[1];
    expect(manifest.origin.parent).toEqual({
      zoo: 'tfjs-mlp',
      ref: `tfjs-mlp:1@${EPOCHS}`,
      sha256: parentSha,
    });
    expect(shaColumn('tfjs-ft', 0)).toEqual([parentSha]);
  });

  it("log: hashes as the Arrow files' column holds them, newest first, the fork's start marked", () => {
    const entries = json('log', ['tfjs-ft']);
    expect(entries.map((e: { ref: string }) => e.ref)).toEqual(
      Array.from({ length: FINE_TUNE + 1 }, (_, i) => `tfjs-ft:0@${FINE_TUNE - i}`),
    );
    for (const e of entries) expect(e.sha256).toBe(shaColumn('tfjs-ft', e.epoch)[0]);
    expect(entries.at(-1).forkedFrom).toBe(`tfjs-mlp:1@${EPOCHS}`);
    expect(entries[0].runTags).toEqual({ task: 'labels-permuted' });
    expect(entries[0].metrics.train_loss).toBeGreaterThan(0);
    const mlpLog = json('log', ['tfjs-mlp', '--run', '1']);
    for (const e of mlpLog) expect(e.sha256).toBe(shaColumn('tfjs-mlp', e.epoch)[1]);
    const graph = cli('log', ['--graph']);
    expect(graph.code, graph.stderr).toBe(0);
    // the fine-tune in a lane of its own, joined at the checkpoint it starts from
    expect(graph.stdout).toMatch(
      new RegExp(
        `^\\| \\* [0-9a-f]{12}  tfjs-ft:0@1 .*\\n\\|/\\n\\* [0-9a-f]{12}  tfjs-mlp:1@${EPOCHS} `,
        'm',
      ),
    );
  });

  it("show: the profile of the model's own weights, ancestors through the parent zoo", () => {
    const s = json('show', [`tfjs-ft:0@${FINE_TUNE}`, '--ancestors']);
    const kernel = tunedLast.subarray(0, 196 * 24);
    const mean = kernel.reduce((a, v) => a + v, 0) / kernel.length;
    const sd = Math.sqrt(kernel.reduce((a, v) => a + (v - mean) ** 2, 0) / kernel.length);
    expect(s.profile[0]).toMatchObject({ name: 'layer0.kernel', count: 196 * 24 });
    expect(s.profile[0].mean).toBeCloseTo(mean, 7);
    expect(s.profile[0].std).toBeCloseTo(sd, 6);
    expect(s.ancestors).toEqual([
      ...Array.from({ length: FINE_TUNE - 1 }, (_, i) => `tfjs-ft:0@${FINE_TUNE - 1 - i}`),
      `tfjs-ft:0@0 = tfjs-mlp:1@${EPOCHS}`,
      ...Array.from({ length: EPOCHS }, (_, i) => `tfjs-mlp:1@${EPOCHS - 1 - i}`),
    ]);
  });

  it("diff: the change of each tensor and the outputs, as the models' weights and tfjs give them", () => {
    const d = json('diff', [
      `tfjs-mlp:1@${EPOCHS}`,
      `tfjs-ft:0@${FINE_TUNE}`,
      '--no-relation',
      '--test-images',
      String(TEST_IMAGES),
    ]);
    let at = 0;
    for (const t of d.tensors) {
      const size = t.shape.reduce((a: number, b: number) => a * b, 1);
      let sq = 0;
      for (let i = at; i < at + size; i++) sq += (tunedLast[i] - parentLast[i]) ** 2;
      expect(t.l2).toBeCloseTo(Math.sqrt(sq), 5);
      at += size;
    }
    expect(at).toBe(tunedLast.length);
    expect(d.outputs.images).toBe(TEST_IMAGES);
    expect(d.outputs.accuracyB).toBeCloseTo(tunedAccuracy, 10);
    expect(d.outputs.disagreement).toBeGreaterThan(0.5); // labels permuted: most predictions change
    const same = json('diff', [`tfjs-mlp:1@${EPOCHS}`, 'tfjs-ft:0@0', '--no-relation', '--test-images', '0']);
    expect([same.tensors, same.total.l2]).toEqual([[], 0]);
  });

  it('tag, search and lineage: the fine-tune found by its tag, task and aggregate, linked to its parent run', () => {
    const tag = cli('tag', ['tfjs-ft:0', 'permuted-final', '-m', 'fine-tuned on permuted labels']);
    expect(tag.code, tag.stderr).toBe(0);
    expect(json('search', ['tag = "permuted-final"']).map((e: { ref: string }) => e.ref)).toEqual([
      `tfjs-ft:0@${FINE_TUNE}`,
    ]);
    const found = json('search', [
      'tags.task = "labels-permuted" and epoch >= 1 and last(metrics.train_loss) > 0',
    ]);
    expect(found.map((e: { ref: string }) => e.ref).sort()).toEqual(['tfjs-ft:0@1', 'tfjs-ft:0@2']);
    expect(json('search', ['tags.lr = "0.2" and epoch = 0']).length).toBe(2);
    const lineage = json('lineage', ['tfjs-ft:0']);
    expect(lineage.edges).toEqual([{ from: 'tfjs-mlp:1', at: EPOCHS, to: 'tfjs-ft:0', kind: 'recorded' }]);
    expect(lineage.nodes.find((n: { id: string }) => n.id === 'tfjs-ft:0').tags).toEqual([
      `permuted-final@${FINE_TUNE}`,
    ]);
    expect(runCliSync('verify', ['--zoo', join(root, 'tfjs-ft')]).code).toBe(0);
  });

  it('refuses a fork of a recorded zoo, a parent that names nothing (writing nothing), and another parent', async () => {
    const fork = cli('fork', ['tfjs-ft:0', '--name', 'again']);
    expect(fork.code).toBe(2);
    expect(fork.stderr).toMatch(/^error: tfjs-ft was imported or recorded, not trained here: .*\n$/);
    expect(existsSync(join(root, 'again'))).toBe(false);
    const model = mlp(7);
    const x = tf.zeros([30, 196]);
    const y = tf.zeros([30, 10]);
    await expect(
      model.fit(x, y, {
        epochs: 1,
        verbose: 0,
        callbacks: [zooRecorder({ zoo: join(root, 'tfjs-bad'), run: 0, runs: 1, parent: 'tfjs-mlp:5' })],
      }),
    ).rejects.toThrow(/^tfjs-mlp has no run 5 \(runs 0-1\)$/);
    expect(existsSync(join(root, 'tfjs-bad'))).toBe(false);
    await expect(
      ZooWriter.open(join(root, 'tfjs-ft'), tfjsArchitecture(tuned), {
        runs: 1,
        parent: { zoo: 'tfjs-mlp', ref: 'tfjs-mlp:0@3', sha256: shaColumn('tfjs-mlp', EPOCHS)[0] },
      }),
    ).rejects.toThrow(
      /records the parent tfjs-mlp:1@3, the writer was given tfjs-mlp:0@3; choose another folder/,
    );
    model.dispose();
  });
});
