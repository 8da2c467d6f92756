/**
 * Loads a whole zoo into memory as one matrix (checkpoints x weights) with its labels:
 * the input of every analysis. Rows are ordered by epoch, then run. Every row's weights are
 * checked against their stored SHA-256 (rowHashes.ts), so a damaged file is refused rather
 * than analysed.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileZooMeta, readCheckpointFile, type CheckpointRows } from './checkpointFile.ts';
import type { ZooConfig } from '../nn/zooConfig.ts';
import { checkpointPath, configDifferences, readManifest, ZooError, type ZooManifest } from './manifest.ts';
import { RowHasher } from './rowHashes.ts';

/** The checkpoints of a zoo as one matrix; the label arrays are per row. */
export interface Zoo
  extends Pick<CheckpointRows, 'run' | 'seed' | 'epoch' | 'step' | 'trainLoss' | 'testLoss' | 'testAccuracy' | 'sha256' | 'weights'> {
  manifest: ZooManifest;
  /** Number of checkpoints (rows). */
  n: number;
  /** Weights per checkpoint (columns): the weight-space dimension. `weights` is n * dim, row-major. */
  dim: number;
  /** Number of runs and the last stored epoch (epochs 0..epochs are loaded). */
  runs: number;
  epochs: number;
  /** SHA-256 of the rows' hashes in row order: names the zoo's content (what derived files are keyed by). */
  digest: string;
}

export interface LoadZooOptions {
  /** Load only epochs up to this one (default: all completed epochs). */
  maxEpoch?: number;
  /** Check every row's weights against its stored SHA-256 (default true). */
  verify?: boolean;
}

/** A checkpoint file whose content does not match what it or the manifest says. */
export class ZooIntegrityError extends ZooError {}

/** The row of (run, epoch) in a loaded zoo: epoch-major, like the checkpoint files. */
export const zooRowIndex = (runs: number, run: number, epoch: number): number => epoch * runs + run;

/** SHA-256 naming a zoo's content: of its rows' hashes, in row order. */
export const zooDigest = (sha256: readonly string[]): string => createHash('sha256').update(sha256.join('\n')).digest('hex');

export function loadZoo(zooDir: string, options: LoadZooOptions = {}): Zoo {
  const manifest = readManifest(zooDir);
  const last = Math.min(manifest.epochsCompleted, options.maxEpoch ?? Infinity);
  if (last < 0) throw new ZooError(`zoo ${zooDir} has no checkpoints yet (run \`npm run zoo\` to train it)`);
  const runs = manifest.config.seedCount;
  const dim = manifest.architecture.size;
  const n = runs * (last + 1);
  const zoo: Zoo = {
    manifest,
    n,
    dim,
    weights: new Float32Array(new SharedArrayBuffer(4 * n * dim)), // shared: the hash thread reads it
    run: new Int32Array(n),
    seed: new Uint32Array(n),
    epoch: new Int32Array(n),
    step: new Int32Array(n),
    trainLoss: new Float64Array(n),
    testLoss: new Float64Array(n),
    testAccuracy: new Float64Array(n),
    sha256: new Array<string>(n),
    runs,
    epochs: last,
    digest: '',
  };
  const verify = options.verify ?? true;
  const hasher = verify ? new RowHasher(zoo.weights, n, dim) : null;
  const damaged = (path: string, i: number, e: number, what: string) =>
    new ZooIntegrityError(`${path} row ${i} (run ${i}, epoch ${e}): ${what}; the zoo is damaged (\`npm run verify -- --zoo ${zooDir}\` gives the full report)`);
  try {
    readRows(zooDir, zoo, hasher, damaged);
  } catch (err) {
    hasher?.cancel();
    throw err;
  }
  if (hasher) {
    const { sha256: actual, nonFinite } = hasher.finish();
    const bad = actual.findIndex((sha, i) => sha !== zoo.sha256[i]);
    if (bad >= 0) {
      const [e, r] = [zoo.epoch[bad], zoo.run[bad]];
      throw damaged(checkpointPath(zooDir, e), r, e, `the weights do not match their SHA-256 (stored ${zoo.sha256[bad].slice(0, 12)}…, computed ${actual[bad].slice(0, 12)}…)`);
    }
    if (nonFinite.length) {
      const [e, r] = [zoo.epoch[nonFinite[0]], zoo.run[nonFinite[0]]];
      throw damaged(checkpointPath(zooDir, e), r, e, `holds weights that are not finite (NaN or infinity; ${nonFinite.length} checkpoint(s) in all)`);
    }
  }
  zoo.digest = zooDigest(zoo.sha256);
  return zoo;
}

/** Reads every committed checkpoint file into `zoo`, checking each against the manifest. */
function readRows(zooDir: string, zoo: Zoo, hasher: RowHasher | null, damaged: (path: string, row: number, epoch: number, what: string) => Error): void {
  const { manifest, runs, dim } = zoo;
  let row = 0;
  for (let e = 0; e <= zoo.epochs; e++) {
    const path = checkpointPath(zooDir, e);
    if (!existsSync(path)) throw new ZooError(`zoo ${zooDir} is missing ${path} (the manifest says epoch ${manifest.epochsCompleted} is complete)`);
    const { rows, metadata } = readCheckpointFile(path);
    const fileConfig = fileZooMeta(metadata, path).config;
    if (fileConfig?.arch && fileConfig.arch !== manifest.config.arch) {
      throw new ZooError(`mixed architectures in ${zooDir}: ${path} holds ${fileConfig.arch} checkpoints, the manifest says ${manifest.config.arch}; keep one zoo per directory`);
    }
    if (fileConfig && configDifferences(fileConfig as unknown as ZooConfig, manifest.config)) {
      throw new ZooIntegrityError(`${path} was trained with another config than ${zooDir}'s manifest says (${configDifferences(manifest.config, fileConfig as unknown as ZooConfig)}); the zoo is damaged (\`npm run verify -- --zoo ${zooDir}\`)`);
    }
    if (rows.size !== dim || rows.run.length !== runs) {
      throw new ZooError(`${path} holds ${rows.run.length} x ${rows.size} weights, the manifest promises ${runs} x ${dim}`);
    }
    for (let i = 0; i < runs; i++) {
      if (rows.run[i] !== i || rows.epoch[i] !== e) throw damaged(path, i, e, `labelled run ${rows.run[i]}, epoch ${rows.epoch[i]}`);
    }
    zoo.weights.set(rows.weights, row * dim);
    hasher?.loaded(row + runs);
    for (const [dst, src] of [
      [zoo.run, rows.run],
      [zoo.seed, rows.seed],
      [zoo.epoch, rows.epoch],
      [zoo.step, rows.step],
      [zoo.trainLoss, rows.trainLoss],
      [zoo.testLoss, rows.testLoss],
      [zoo.testAccuracy, rows.testAccuracy],
    ] as const) {
      (dst as Float64Array).set(src as Float64Array, row);
    }
    for (let i = 0; i < runs; i++) zoo.sha256[row + i] = rows.sha256[i];
    row += runs;
  }
}
