/**
 * The models the provenance bench (provenance.ts) asks about, made the way users make them,
 * for three networks: the built-in FFNN and CNN, trained by the engine, and a dense
 * 196-32-16-10 ReLU network with biases trained in TensorFlow.js (model.fit, SGD, as
 * scripts/tfjsZoo.ts records one). Per network:
 *
 * - a source zoo trained on MNIST: sources (the A's), other runs as independent targets, and
 *   references (the null's models, trained as the sources were);
 * - derived targets (Model DNA's setting): each source fine-tuned on another task (labels
 *   renamed, images turned, a 5-class subset with a new head cut to 5 outputs) with its own
 *   data order and another learning rate or batch, kept after 1, 3, 10 and 30 epochs;
 * - independent targets: models trained from scratch on those tasks from other seeds;
 * - trees (MoTHer's setting): 5 trees of a root (a zoo run), 4 children and 16 grandchildren,
 *   each edge a fine-tune of 1 to 5 epochs on a task of its own (labels renamed and images
 *   turned, no two nodes of a tree alike) on a random share of the images, at a tenth to the
 *   whole of the network's learning rate and half to twice its batch;
 * - for the FFNN, 50 such trees (1,050 models), for the timing at scale.
 *
 * Every model is seeded, so a set is the same bytes every run; sets are cached in the
 * system's temporary folder (weightspace-provenance-bench/) and reused.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { architecture as builtIn, type Architecture } from '../src/core/architectures.ts';
import { keepOutputs, networkArchitecture, networkOf, type Network } from '../src/core/network.ts';
import { presetConfig } from '../src/core/presets.ts';
import { Rng } from '../src/core/rng.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import type { TaskSpec } from '../src/train/continueTraining.ts';
import { kaimingNormal } from '../src/train/init.ts';
import { trainFurtherJobs, type TrainFurtherOptions } from '../src/train/trainFurther.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { defaultWorkers } from '../src/util/threads.ts';
import { runJobs } from '../src/util/workerPool.ts';
import type { TfjsJob } from './tfjsTrainWorker.ts';

export interface BenchModel {
  architecture: Architecture;
  network: Network;
  weights: Float32Array;
}

export interface TreeNode {
  tree: number;
  /** Index of the parent node, -1 for a root. */
  parent: number;
  model: BenchModel;
  /** How the edge into it was trained. */
  edge: string;
}

export interface Arm {
  name: 'ffnn' | 'cnn' | 'tfjs-mlp';
  trainedBy: string;
  architecture: Architecture;
  network: Network;
  sources: BenchModel[];
  references: Float32Array[];
  /** derived[i][e]: source i fine-tuned for LENGTHS[e] epochs. */
  derived: BenchModel[][];
  settings: string[];
  /** Trained from scratch on source i's task, from another seed. */
  taskTrained: BenchModel[];
  /** Other runs of the source zoo. */
  zooRuns: BenchModel[];
  trees: TreeNode[];
  /** References for the trees (zoo runs no tree holds). */
  treeReferences: Float32Array[];
  /** 50 trees (FFNN only): 1,050 models. */
  bigTrees?: TreeNode[];
  /** The source zoo on disk (engine networks), for the CLI's timing. */
  zooDir?: string;
}

export const LENGTHS = [1, 3, 10, 30];
const CACHE = join(tmpdir(), 'weightspace-provenance-bench');
const VERSION = 'v2';

/** A task per source: six settings in turn. */
function sourceSetting(
  i: number,
  rng: Rng,
): { task: TaskSpec; classes: number[] | null; lrScale: number; batch?: number; name: string } {
  const shift = 1 + (i % 9);
  const turns = 1 + (i % 3);
  const classes = Array.from(rng.permutation(10).subarray(0, 5)).sort((a, b) => a - b);
  switch (i % 6) {
    case 0:
      return { task: { labelShift: shift }, classes: null, lrScale: 1, name: `labels renamed (+${shift})` };
    case 1:
      return {
        task: { quarterTurns: turns },
        classes: null,
        lrScale: 0.5,
        name: `images turned ${90 * turns}°, lr x0.5`,
      };
    case 2:
      return { task: { classes }, classes, lrScale: 1, batch: 16, name: `5 classes, new head, batch 16` };
    case 3:
      return {
        task: { labelShift: shift },
        classes: null,
        lrScale: 1,
        batch: 16,
        name: `labels renamed (+${shift}), batch 16`,
      };
    case 4:
      return {
        task: { quarterTurns: turns },
        classes: null,
        lrScale: 2,
        name: `images turned ${90 * turns}°, lr x2`,
      };
    default:
      return { task: { classes }, classes, lrScale: 0.5, name: `5 classes, new head, lr x0.5` };
  }
}

/**
 * Tree edges: each node of a tree a task of its own, a share of the images, a tenth to the
 * whole of the network's learning rate, half to twice its batch.
 */
function treeEdges(trees: number, rng: Rng, baseBatch: number) {
  return Array.from({ length: trees }, () => {
    const combos = Array.from(rng.permutation(39), (c) => c + 1); // (labelShift, quarterTurns) other than (0, 0)
    return Array.from({ length: 20 }, () => {
      const c = combos.pop()!;
      const task: TaskSpec = {
        labelShift: c % 10,
        quarterTurns: Math.floor(c / 10),
        share: 0.5 + 0.5 * rng.nextFloat(),
        seed: rng.nextInt(1_000_000),
      };
      const lrScale = [0.1, 0.3, 1][rng.nextInt(3)];
      const batch = Math.max(1, Math.round(baseBatch * [0.5, 1, 2][rng.nextInt(3)]));
      const epochs = 1 + rng.nextInt(5);
      return {
        task,
        lrScale,
        batch,
        epochs,
        name: `labels +${task.labelShift}, turned ${90 * task.quarterTurns!}°, ${Math.round(100 * task.share!)} % of images, lr x${lrScale}, batch ${batch}, ${epochs} epoch(s)`,
      };
    });
  });
}

type Edge = ReturnType<typeof treeEdges>[number][number];

/**
 * Trees level by level: children of each root, then grandchildren of each child, every edge
 * trained by `fineTune` (one call per level, so the work spreads over the cores).
 */
async function growTrees(
  roots: BenchModel[],
  edges: Edge[][],
  fineTune: (jobs: { start: BenchModel; edge: Edge; seed: number }[]) => Promise<BenchModel[]>,
): Promise<TreeNode[]> {
  const nodes: TreeNode[] = roots.map((model, tree) => ({
    tree,
    parent: -1,
    model,
    edge: 'root: a zoo run',
  }));
  const childOf = (t: number, c: number) => ({ t, edge: edges[t][c] });
  const level1 = roots.flatMap((_, t) => [0, 1, 2, 3].map((c) => childOf(t, c)));
  const children = await fineTune(
    level1.map((x, k) => ({ start: roots[x.t], edge: x.edge, seed: 60_000 + k })),
  );
  const childIndex = children.map(
    (model, k) =>
      nodes.push({ tree: level1[k].t, parent: level1[k].t, model, edge: level1[k].edge.name }) - 1,
  );
  const level2 = childIndex.flatMap((ci, k) =>
    [0, 1, 2, 3].map((g) => ({ ci, t: level1[k].t, edge: edges[level1[k].t][4 + 4 * (k % 4) + g] })),
  );
  const grand = await fineTune(
    level2.map((x, k) => ({ start: nodes[x.ci].model, edge: x.edge, seed: 70_000 + k })),
  );
  grand.forEach((model, k) =>
    nodes.push({ tree: level2[k].t, parent: level2[k].ci, model, edge: level2[k].edge.name }),
  );
  return nodes;
}

// ---- engine networks ----------------------------------------------------------------

const ENGINE = { runs: 150, epochs: 10, trainSize: 10000, testSize: 1000, sources: 30 } as const;

async function engineArm(
  name: 'ffnn' | 'cnn',
  log: (m: string) => void,
  withBigTrees: boolean,
): Promise<Arm> {
  const arch = builtIn(name);
  const network = networkOf(arch)!;
  const dir = join(CACHE, `${VERSION}-zoo-${name}`);
  const config = presetConfig('default', name, {
    seedCount: ENGINE.runs,
    epochs: ENGINE.epochs,
    trainSize: ENGINE.trainSize,
    testSize: ENGINE.testSize,
  });
  log(`${name}: source zoo, ${ENGINE.runs} runs x ${ENGINE.epochs} epochs`);
  await trainZoo({ dir, config });
  const zoo = loadZoo(dir);
  const last = (r: number) => checkpointWeights(zoo, r, zoo.epochs).slice();
  const model = (weights: Float32Array): BenchModel => ({ architecture: arch, network, weights });
  const S = ENGINE.sources;
  const rng = new Rng(20261207, 1);
  const settings = Array.from({ length: S }, (_, i) => sourceSetting(i, rng));
  const cut = (w: Float32Array, classes: number[] | null): BenchModel =>
    classes ? { ...keepOutputs(network, arch, w, classes) } : model(w);

  log(`${name}: ${S} fine-tunes of 30 epochs on other tasks`);
  const derivedRuns = await trainFurtherJobs(
    zoo,
    settings.map((s, i): TrainFurtherOptions => ({
      runs: [i],
      epochs: LENGTHS.at(-1)!,
      task: s.task,
      reinitLast: s.classes !== null,
      learningRateScale: s.lrScale,
      ...(s.batch && { batchSize: s.batch }),
      dataSeed: () => 900_000 + i,
    })),
    defaultWorkers(),
  );
  const derived = derivedRuns.map((epochs, i) =>
    LENGTHS.map((e) => cut(epochs[e - 1][0], settings[i].classes)),
  );

  log(`${name}: ${S} models trained from scratch on those tasks`);
  const taskRuns = await trainFurtherJobs(
    zoo,
    settings.map((s, i): TrainFurtherOptions => {
      const init = new Float64Array(arch.size);
      kaimingNormal(arch, 800_000 + i, init);
      return {
        runs: [0],
        from: 0,
        epochs: ENGINE.epochs,
        task: s.task,
        startWeights: [Float32Array.from(init)],
        dataSeed: () => 810_000 + i,
      };
    }),
    defaultWorkers(),
  );
  const taskTrained = taskRuns.map((epochs, i) => cut(epochs.at(-1)![0], settings[i].classes));

  const edges = treeEdges(withBigTrees ? 50 : 5, new Rng(20261207, 2), config.batchSize);
  const fineTune = async (jobs: { start: BenchModel; edge: Edge; seed: number }[]) => {
    const out = await trainFurtherJobs(
      zoo,
      jobs.map((j) => ({
        runs: [0],
        epochs: j.edge.epochs,
        task: j.edge.task,
        learningRateScale: j.edge.lrScale,
        batchSize: j.edge.batch,
        startWeights: [j.start.weights],
        dataSeed: () => j.seed,
      })),
      defaultWorkers(),
    );
    return out.map((epochs) => model(epochs.at(-1)![0]));
  };
  log(`${name}: 5 trees of 21 models`);
  const treeRoots = [60, 61, 62, 63, 64];
  const trees = await growTrees(
    treeRoots.map((r) => model(last(r))),
    edges.slice(0, 5),
    fineTune,
  );
  let bigTrees: TreeNode[] | undefined;
  if (withBigTrees) {
    log(`${name}: 50 trees of 21 models (1,050) for the timing at scale`);
    bigTrees = await growTrees(
      Array.from({ length: 50 }, (_, t) => model(last(t))),
      edges,
      fineTune,
    );
  }
  return {
    name,
    trainedBy: 'the engine (lockstep SGD)',
    architecture: arch,
    network,
    sources: Array.from({ length: S }, (_, i) => model(last(i))),
    references: Array.from({ length: ENGINE.runs - 60 }, (_, k) => last(60 + k)),
    derived,
    settings: settings.map((s) => s.name),
    taskTrained,
    zooRuns: Array.from({ length: S }, (_, i) => model(last(S + i))),
    trees,
    treeReferences: Array.from({ length: ENGINE.runs - 65 }, (_, k) => last(65 + k)),
    bigTrees,
    zooDir: dir,
  };
}

// ---- TensorFlow.js ------------------------------------------------------------------

/** The dense network scripts/tfjsZoo.ts records, in TensorFlow's layout. */
export const TFJS_NETWORK: Network = {
  format: 1,
  input: [196],
  layers: [
    { kind: 'dense', name: 'dense1', in: 196, out: 32, bias: true, layout: 'tf' },
    { kind: 'activation', fn: 'relu' },
    { kind: 'dense', name: 'dense2', in: 32, out: 16, bias: true, layout: 'tf' },
    { kind: 'activation', fn: 'relu' },
    { kind: 'dense', name: 'dense3', in: 16, out: 10, bias: true, layout: 'tf' },
  ],
};
const TFJS = { runs: 80, epochs: 10, trainSize: 2000, sources: 20, learningRate: 0.1, batch: 32 } as const;

async function tfjsArm(log: (m: string) => void): Promise<Arm> {
  const network = TFJS_NETWORK;
  const arch = networkArchitecture('tfjs-mlp', 'dense 196-32-16-10, biases, ReLU (TensorFlow.js)', network);
  const model = (weights: Float32Array): BenchModel => ({ architecture: arch, network, weights });
  const train = async (jobs: Omit<TfjsJob, 'network' | 'trainSize'>[], what: string) => {
    log(`tfjs-mlp: ${what} (${jobs.length} models, TensorFlow.js on ${defaultWorkers()} threads)`);
    return runJobs<TfjsJob, Float32Array[]>(
      new URL('./tfjsTrainWorker.ts', import.meta.url),
      jobs.map((j) => ({ ...j, network, trainSize: TFJS.trainSize })),
      defaultWorkers(),
    );
  };
  const base = { learningRate: TFJS.learningRate, batchSize: TFJS.batch };
  const zoo = await train(
    Array.from({ length: TFJS.runs }, (_, r) => ({
      ...base,
      start: null,
      initSeed: 1000 * r,
      epochs: TFJS.epochs,
      dataSeed: 5000 + r,
    })),
    `source zoo, ${TFJS.runs} runs x ${TFJS.epochs} epochs`,
  );
  const last = (r: number) => zoo[r].at(-1)!;
  const S = TFJS.sources;
  const rng = new Rng(20261207, 3);
  const settings = Array.from({ length: S }, (_, i) => sourceSetting(i, rng));
  const cut = (w: Float32Array, classes: number[] | null): BenchModel =>
    classes ? keepOutputs(network, arch, w, classes) : model(w);
  const derivedRuns = await train(
    settings.map((s, i) => ({
      start: last(i),
      initSeed: 0,
      epochs: LENGTHS.at(-1)!,
      task: s.task,
      reinitLast: s.classes !== null,
      learningRate: TFJS.learningRate * s.lrScale,
      batchSize: s.batch ?? TFJS.batch,
      dataSeed: 900_000 + i,
    })),
    'fine-tunes of 30 epochs on other tasks',
  );
  const derived = derivedRuns.map((epochs, i) => LENGTHS.map((e) => cut(epochs[e - 1], settings[i].classes)));
  const taskRuns = await train(
    settings.map((s, i) => ({
      ...base,
      start: null,
      initSeed: 800_000 + i,
      epochs: TFJS.epochs,
      task: s.task,
      dataSeed: 810_000 + i,
    })),
    'trained from scratch on those tasks',
  );
  const taskTrained = taskRuns.map((epochs, i) => cut(epochs.at(-1)!, settings[i].classes));
  const fineTune = async (jobs: { start: BenchModel; edge: Edge; seed: number }[]) =>
    (
      await train(
        jobs.map((j) => ({
          start: j.start.weights,
          initSeed: 0,
          epochs: j.edge.epochs,
          task: j.edge.task,
          learningRate: TFJS.learningRate * j.edge.lrScale,
          batchSize: j.edge.batch,
          dataSeed: j.seed,
        })),
        'tree edges',
      )
    ).map((epochs) => model(epochs.at(-1)!));
  const roots = [40, 41, 42, 43, 44];
  const trees = await growTrees(
    roots.map((r) => model(last(r))),
    treeEdges(5, new Rng(20261207, 4), TFJS.batch),
    fineTune,
  );
  return {
    name: 'tfjs-mlp',
    trainedBy: 'TensorFlow.js (model.fit, SGD, mean squared error)',
    architecture: arch,
    network,
    sources: Array.from({ length: S }, (_, i) => model(last(i))),
    references: Array.from({ length: TFJS.runs - 40 }, (_, k) => last(40 + k)),
    derived,
    settings: settings.map((s) => s.name),
    taskTrained,
    zooRuns: Array.from({ length: S }, (_, i) => model(last(S + i))),
    trees,
    treeReferences: Array.from({ length: TFJS.runs - 45 }, (_, k) => last(45 + k)),
  };
}

// ---- cache --------------------------------------------------------------------------

const f32 = (w: Float32Array) => Buffer.from(w.buffer, w.byteOffset, w.byteLength).toString('base64');
const unf32 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

function save(path: string, arm: Arm): void {
  writeFileSync(
    path,
    JSON.stringify(arm, (_, v) => (v instanceof Float32Array ? { f32: f32(v) } : v)),
  );
}

function load(path: string): Arm {
  return JSON.parse(readFileSync(path, 'utf8'), (_, v) =>
    v && typeof v === 'object' && typeof v.f32 === 'string' ? unf32(v.f32) : v,
  ) as Arm;
}

/** The arm's models: from the cache, else made (minutes) and cached. */
export async function benchArm(
  name: Arm['name'],
  log: (m: string) => void,
  options: { bigTrees?: boolean } = {},
): Promise<Arm> {
  mkdirSync(CACHE, { recursive: true });
  const path = join(CACHE, `${VERSION}-${name}${options.bigTrees ? '-big' : ''}.json`);
  if (existsSync(path)) {
    log(`${name}: models from ${path}`);
    return load(path);
  }
  const arm =
    name === 'tfjs-mlp' ? await tfjsArm(log) : await engineArm(name, log, options.bigTrees ?? false);
  save(path, arm);
  return arm;
}
