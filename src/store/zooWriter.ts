/**
 * A zoo written checkpoint by checkpoint from any training loop (`ZooWriter`), e.g. by the
 * TensorFlow.js recorder (train/zooRecorder.ts). Each appended checkpoint is first staged as a
 * one-row checkpoint file of its own (written atomically), so it is on disk whole or not at
 * all; once every run has staged epoch e, the epoch is committed like any other: its
 * checkpoint file, then the manifest (zooCommit.ts), and its staged files are removed. A
 * writer can be opened again later (another run, another process): it picks up what is
 * staged and committed.
 */
import { lockZoo, type ZooLock } from './zooLock.ts';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Architecture } from '../core/architectures.ts';
import { networkProblem, type Network } from '../core/network.ts';
import { UserError } from '../core/errors.ts';
import {
  checkpointRows,
  COLUMN_METRICS,
  concatCheckpointRows,
  isColumnMetric,
  readCheckpointFile,
  writeCheckpointFile,
  ZOO_METADATA_KEY,
} from './checkpointFile.ts';
import { TEMP_SUFFIX } from './atomicWrite.ts';
import {
  manifestTime,
  CHECKPOINT_DIR,
  MANIFEST_FILE,
  readManifest,
  softwareVersions,
  ZOO_FORMAT,
  type ParentLink,
  type RunInfo,
  writeManifest,
  type ZooManifest,
  type ZooOrigin,
} from './manifest.ts';
import { stagedCheckpoint, stagedName, STAGING_DIR } from './zooLayout.ts';
import { commitCheckpoints, committedRowSha256, settleUncommitted } from './zooCommit.ts';

export class ZooWriterError extends UserError {}

export interface ZooWriterOptions {
  /** How many runs the zoo has; an epoch is committed once all of them have it. */
  runs: number;
  /** The zoo's name (default: the folder's name). */
  name?: string;
  /** Per run: tags and a note, stored in the manifest (e.g. { tags: { lr: '0.03' }, note: 'baseline' }). */
  runInfo?: Record<number, RunInfo>;
  /** The computation the weights define (core/network.ts), stored in the manifest; it must describe the architecture's tensors. */
  network?: Network;
  /** The checkpoint the runs start from, in another zoo (a fork, a fine-tune), recorded in the manifest. */
  parent?: ParentLink;
  /** How the checkpoints came to be, for the manifest (default: recorded during training). */
  source?: string;
}

export interface CheckpointRecord {
  run: number;
  /** 0 for the initial weights, then 1, 2, ... in order for each run. */
  epoch: number;
  /** Optimiser steps so far (default: the epoch). */
  step?: number;
  /** The flat weights, laid out by the architecture's index map. */
  weights: ArrayLike<number>;
  /** Numeric metrics; train_loss / loss, test_loss / val_loss and test_accuracy / val_acc fill the zoo's metric columns. */
  metrics?: Record<string, number>;
}

export class ZooWriter {
  /** Next epoch each run may append. */
  private readonly next: number[];

  private constructor(
    readonly dir: string,
    private readonly manifest: ZooManifest,
    private readonly lock: ZooLock,
  ) {
    const runs = manifest.origin!.runs;
    this.next = new Array(runs).fill(manifest.epochsCompleted + 1);
    for (const name of readdirSync(this.stagingDir)) {
      const staged = stagedCheckpoint(name);
      if (staged) this.next[staged.run] = Math.max(this.next[staged.run], staged.epoch + 1);
    }
  }

  /** Opens (or creates) the zoo at `dir` for `architecture`; an existing one must have the same architecture and runs. */
  static async open(dir: string, architecture: Architecture, options: ZooWriterOptions): Promise<ZooWriter> {
    if (!Number.isInteger(options.runs) || options.runs < 1)
      throw new ZooWriterError(`runs must be a positive integer, got ${options.runs}`);
    // held until close(), or until the process ends (a writer dropped without close: the next
    // process finds the lock stale and takes it over)
    const lock = lockZoo(dir, 'close the other writer first, or record into another folder');
    try {
      return ZooWriter.openLocked(dir, architecture, options, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static openLocked(
    dir: string,
    architecture: Architecture,
    options: ZooWriterOptions,
    lock: ZooLock,
  ): ZooWriter {
    if (options.network) {
      const problem = networkProblem(options.network, architecture);
      if (problem) throw new ZooWriterError(`the network given does not fit the architecture: ${problem}`);
    }
    let manifest: ZooManifest;
    if (existsSync(join(dir, MANIFEST_FILE))) {
      manifest = readManifest(dir);
      if (manifest.origin?.kind !== 'record')
        throw new ZooWriterError(
          `${dir} holds a zoo that was not recorded by a ZooWriter; choose another folder`,
        );
      if (JSON.stringify(manifest.architecture) !== JSON.stringify(architecture))
        throw new ZooWriterError(`${dir} holds checkpoints of another architecture than the one given`);
      if (manifest.origin.runs !== options.runs)
        throw new ZooWriterError(
          `${dir} has ${manifest.origin.runs} runs, the writer was opened with ${options.runs}`,
        );
      if (
        options.network &&
        manifest.network &&
        JSON.stringify(options.network) !== JSON.stringify(manifest.network)
      )
        throw new ZooWriterError(`${dir} records another network than the one given; choose another folder`);
      const recorded = manifest.origin.parent;
      if (options.parent && JSON.stringify(recorded) !== JSON.stringify(options.parent))
        throw new ZooWriterError(
          `${dir} records ${recorded ? `the parent ${recorded.ref}` : 'no parent'}, the writer was given ${options.parent.ref}; choose another folder`,
        );
      settleUncommitted(dir, manifest);
    } else {
      if (existsSync(dir) && readdirSync(dir).length)
        throw new ZooWriterError(`${dir} exists and is not a zoo; choose an empty or new folder`);
      mkdirSync(join(dir, CHECKPOINT_DIR), { recursive: true });
      const now = manifestTime();
      const origin: ZooOrigin = {
        kind: 'record',
        source: options.source ?? 'recorded during training (ZooWriter)',
        runs: options.runs,
        epochs: 0,
        runLabels: Array.from({ length: options.runs }, (_, r) => String(r)),
        files: [],
        skippedTensors: [],
        ...(options.parent && { parent: options.parent }),
      };
      manifest = {
        format: ZOO_FORMAT,
        name: options.name ?? dir.split('/').filter(Boolean).pop()!,
        origin,
        architecture,
        ...(options.network && { network: options.network }),
        engine: { name: 'recorded (ZooWriter)', precision: 'float32' },
        software: softwareVersions(),
        data: { source: 'unknown (recorded checkpoints)', preprocessing: 'unknown', fileSha256: {} },
        status: 'training',
        files: {},
        epochsCompleted: -1,
        createdAt: now,
        updatedAt: now,
      };
      writeManifest(dir, manifest); // the folder is a zoo from now on, so other runs' writers can open it
    }
    const addsNetwork = options.network !== undefined && manifest.network === undefined;
    if (addsNetwork) manifest.network = options.network; // a zoo recorded before networks were stored
    const runInfo = Object.entries(options.runInfo ?? {});
    for (const [run, info] of runInfo) {
      if (!(Number(run) >= 0 && Number(run) < options.runs))
        throw new ZooWriterError(`runInfo names run ${run}; the zoo has runs 0-${options.runs - 1}`);
      (manifest.origin!.runInfo ??= {})[run] = info;
    }
    if (runInfo.length || addsNetwork) writeManifest(dir, manifest); // kept even before the first epoch commits
    mkdirSync(join(dir, STAGING_DIR), { recursive: true });
    // temp files of killed writes, and staged checkpoints whose epoch was committed before a kill removed them
    for (const name of readdirSync(join(dir, STAGING_DIR))) {
      const staged = stagedCheckpoint(name);
      if (name.endsWith(TEMP_SUFFIX) || (staged && staged.epoch <= manifest.epochsCompleted))
        rmSync(join(dir, STAGING_DIR, name));
    }
    const writer = new ZooWriter(dir, manifest, lock);
    writer.commitReady();
    return writer;
  }

  private get stagingDir(): string {
    return join(this.dir, STAGING_DIR);
  }

  /** Stages one checkpoint (atomically), then commits every epoch all runs have reached. */
  async append(c: CheckpointRecord): Promise<void> {
    const { architecture: arch } = this.manifest;
    const runs = this.next.length;
    if (!Number.isInteger(c.run) || c.run < 0 || c.run >= runs)
      throw new ZooWriterError(`run ${c.run} is not one of the zoo's runs 0-${runs - 1}`);
    if (c.epoch !== this.next[c.run])
      throw new ZooWriterError(
        `run ${c.run} is at epoch ${this.next[c.run]}; append its epochs in order from 0 (got ${c.epoch})`,
      );
    if (c.weights.length !== arch.size)
      throw new ZooWriterError(
        `run ${c.run} epoch ${c.epoch}: ${c.weights.length} weights, the architecture has ${arch.size}`,
      );
    const weights = Float32Array.from(c.weights);
    const bad = weights.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new ZooWriterError(
        `run ${c.run} epoch ${c.epoch}: weight ${bad} is ${weights[bad]}; only finite weights are recorded`,
      );
    const m = c.metrics ?? {};
    const metric = (names: readonly string[]) =>
      names.map((n) => m[n]).find((v) => typeof v === 'number') ?? NaN;
    const others = Object.entries(m).filter(([k, v]) => !isColumnMetric(k) && typeof v === 'number');
    const rows = checkpointRows({
      size: arch.size,
      weights,
      run: [c.run],
      seed: [c.run],
      epoch: [c.epoch],
      step: [c.step ?? c.epoch],
      trainLoss: [metric(COLUMN_METRICS.trainLoss)],
      testLoss: [metric(COLUMN_METRICS.testLoss)],
      testAccuracy: [metric(COLUMN_METRICS.testAccuracy)],
      metrics: Object.fromEntries(others.map(([k, v]) => [k, [v as number]])),
    });
    writeCheckpointFile(join(this.stagingDir, stagedName(c.run, c.epoch)), rows, {});
    this.next[c.run]++;
    this.commitReady();
  }

  /** Commits what is complete; checkpoints of epochs some run has not reached stay staged for a later writer. */
  async close(): Promise<{ epochsCompleted: number; staged: number }> {
    this.commitReady();
    this.lock.release();
    return { epochsCompleted: this.manifest.epochsCompleted, staged: readdirSync(this.stagingDir).length };
  }

  /** Commits every epoch that all runs have staged, in order. */
  private commitReady(): void {
    const manifest = this.manifest;
    for (let e = manifest.epochsCompleted + 1; this.next.every((n) => n > e); e++) {
      const runs = this.next.length;
      const arch = manifest.architecture;
      const staged = Array.from({ length: runs }, (_, r) => join(this.stagingDir, stagedName(r, e)));
      const parts = staged.map((path) => readCheckpointFile(path).rows);
      const parents =
        e === 0 ? new Array<string | null>(runs).fill(null) : committedRowSha256(this.dir, manifest, e - 1);
      const rows = concatCheckpointRows(parts, parents);
      manifest.origin!.epochs = e;
      const meta = JSON.stringify({ name: manifest.name, architecture: arch, origin: { kind: 'record' } });
      commitCheckpoints(this.dir, manifest, e, { rows, metadata: { [ZOO_METADATA_KEY]: meta } }, true);
      for (const path of staged) rmSync(path);
    }
  }
}
