/**
 * `fork`: a new zoo whose run starts from a checkpoint of another and trains on with the
 * engine (train/trainFurther.ts: fresh momentum, a data order of its own, optionally another
 * learning rate, batch size or task). Its epoch 0 is the checkpoint itself, and its manifest
 * records the parent (zoo, reference, SHA-256): the recorded form of W&B's `fork_from`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { option, UserError } from '../core/errors.ts';
import { inNetworkOrder, networkOf } from '../core/network.ts';
import { loadMnist } from '../data/mnist.ts';
import type { Catalog } from '../store/catalog.ts';
import { loadZoo } from '../store/loadZoo.ts';
import { describeRef, resolveCheckpoint } from '../store/refs.ts';
import { ZooWriter } from '../store/zooWriter.ts';
import { changeTask, TASK_CHANGES, type TaskChange } from '../train/continueTraining.ts';
import { scoreNetwork } from '../train/scoreNetwork.ts';
import { trainFurther } from '../train/trainFurther.ts';

export interface ForkOptions {
  /** The new zoo's folder name under the catalog's root. */
  name: string;
  /** Epochs to train (default 5). */
  epochs?: number;
  /** Learning rate and batch size (default: the parent zoo's). */
  learningRate?: number;
  batchSize?: number;
  /** Seed of the data order (default: 1,000,003 + the run's seed, as trainFurther). */
  dataSeed?: number;
  /** Train on a changed task (labels permuted, images rotated). */
  task?: TaskChange;
  onEpoch?: (epoch: number, epochs: number) => void;
}

export const FORK_DEFAULTS = { epochs: 5 } as const;

export interface ForkResult {
  dir: string;
  /** The parent's reference and SHA-256. */
  parent: { zoo: string; ref: string; sha256: string };
  epochs: number;
  /** The fork's last checkpoint's reference. */
  last: string;
}

/** Trains a fork of the checkpoint `ref` into `<root>/<name>`. */
export async function forkCheckpoint(
  catalog: Catalog,
  ref: string,
  options: ForkOptions,
): Promise<ForkResult> {
  const c = resolveCheckpoint(catalog, ref);
  const epochs = options.epochs ?? FORK_DEFAULTS.epochs;
  if (!Number.isInteger(epochs) || epochs < 1)
    throw new UserError(`${option('epochs')} must be a whole number of 1 or more, got ${epochs}`);
  if (options.task !== undefined && !TASK_CHANGES.includes(options.task))
    throw new UserError(`${option('task')} must be one of ${TASK_CHANGES.join(', ')}, got '${options.task}'`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.name))
    throw new UserError(`${option('name')} '${options.name}' is not a folder name (letters, digits, . _ -)`);
  const config = c.zoo.manifest.config;
  if (!config)
    throw new UserError(
      `${c.zoo.name} was imported or recorded, not trained here: fork trains the built-in networks (train it further where it was trained, and record that run with its parent)`,
    );
  const dir = join(catalog.root, options.name);
  if (existsSync(dir)) throw new UserError(`${dir} exists; choose another ${option('name')} for the fork`);
  const zoo = loadZoo(c.zoo.dir);
  const [start] = [zoo.weights.subarray(c.row * zoo.dim, (c.row + 1) * zoo.dim)];
  const trained = trainFurther(zoo, {
    runs: [c.run],
    from: c.epoch,
    epochs,
    learningRate: options.learningRate,
    batchSize: options.batchSize,
    task: options.task,
    ...(options.dataSeed !== undefined && { dataSeed: () => options.dataSeed! }),
  });
  const arch = zoo.manifest.architecture;
  const net = networkOf(arch)!;
  const { test } = loadMnist({ trainSize: 1, testSize: config.testSize });
  const testSet = options.task ? changeTask(test, options.task) : test;
  const score = (w: Float32Array) => scoreNetwork(net, inNetworkOrder(net, arch, w), testSet);
  const parent = { zoo: c.zoo.name, ref: describeRef(c), sha256: c.sha256 };
  const batch = options.batchSize ?? config.batchSize;
  const stepsPerEpoch = Math.ceil(config.trainSize / batch);
  const tags: Record<string, string> = {
    forked_from: parent.ref,
    lr: String(options.learningRate ?? config.learningRate),
    batch: String(batch),
    ...(options.task && { task: options.task }),
    ...(options.dataSeed !== undefined && { data_seed: String(options.dataSeed) }),
  };
  const writer = await ZooWriter.open(dir, arch, {
    runs: 1,
    name: options.name,
    runInfo: { 0: { tags, note: `fork of ${parent.ref} (${parent.sha256.slice(0, 12)})` } },
    parent,
    source: `fork of ${parent.ref}, trained further by the engine (npm run fork)`,
  });
  const step0 = zoo.step[c.row];
  const first = score(Float32Array.from(start));
  await writer.append({
    run: 0,
    epoch: 0,
    step: step0,
    weights: start,
    metrics: { test_loss: first.mse, test_accuracy: first.accuracy },
  });
  for (let e = 1; e <= epochs; e++) {
    const w = trained[e - 1][0];
    const s = score(w);
    await writer.append({
      run: 0,
      epoch: e,
      step: step0 + e * stepsPerEpoch,
      weights: w,
      metrics: { test_loss: s.mse, test_accuracy: s.accuracy },
    });
    options.onEpoch?.(e, epochs);
  }
  await writer.close();
  return { dir, parent, epochs, last: `${options.name}:0@${epochs}` };
}
