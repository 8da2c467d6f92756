/**
 * Loads a whole zoo into memory as one matrix (checkpoints x weights) with its labels:
 * the input of every analysis. Rows are ordered by epoch, then run. Every checkpoint file is
 * checked against the SHA-256 the manifest recorded for it before it is parsed
 * (fileHashes.ts), so a damaged file is refused rather than analysed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ZooConfig } from '../core/zooConfig.ts';
import { zooRowIndex } from '../core/zoo.ts';
import {
  fileZooMeta,
  NUMERIC_LABELS,
  numericLabelArrays,
  parseCheckpoints,
  type CheckpointFile,
  type CheckpointRows,
  type NumericLabel,
} from './checkpointFile.ts';
import { FileHasher, readShared } from './fileHashes.ts';
import {
  checkpointFileName,
  checkpointPath,
  configDifferences,
  MANIFEST_FILE,
  readManifest,
  zooShape,
  ZooError,
  type ZooManifest,
} from './manifest.ts';
import { weightsSha256 } from './sha256.ts';

/** A zoo's columns other than the weights, one entry per row (core/zoo.ts's order). */
export type ZooLabels = Pick<CheckpointRows, NumericLabel | 'sha256' | 'parentSha256'> & {
  /** Other numeric metrics of imported or recorded zoos, by name, per row (NaN where a checkpoint has none). */
  metrics: Record<string, Float64Array>;
};

/** The checkpoints of a zoo as one matrix; the label arrays are per row. */
export interface Zoo extends ZooLabels, Pick<CheckpointRows, 'weights'> {
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

/** A zoo without its weights: labels, shape, manifest and content digest. */
export type ZooInfo = Omit<Zoo, 'weights'>;

/** Label arrays for n rows, to be filled epoch by epoch (addEpochLabels). */
export function emptyZooLabels(n: number): ZooLabels {
  return {
    ...numericLabelArrays(n),
    sha256: new Array<string>(n),
    parentSha256: new Array<string | null>(n).fill(null),
    metrics: {},
  };
}

/** Copies epoch e's labels from its file (`path`, whose row i must be run i of epoch e) into `into`. */
export function addEpochLabels(
  into: ZooLabels,
  rows: CheckpointRows,
  e: number,
  runs: number,
  path: string,
): void {
  for (let i = 0; i < runs; i++) {
    if (rows.run[i] !== i || rows.epoch[i] !== e)
      throw new ZooIntegrityError(
        `${path} row ${i}: labelled run ${rows.run[i]}, epoch ${rows.epoch[i]}, where run ${i} of epoch ${e} belongs; the zoo is damaged`,
      );
  }
  const row = zooRowIndex(runs, 0, e);
  for (const key of NUMERIC_LABELS) (into[key] as Float64Array).set(rows[key] as Float64Array, row);
  for (let i = 0; i < runs; i++) {
    into.sha256[row + i] = rows.sha256[i];
    into.parentSha256[row + i] = rows.parentSha256[i];
  }
  for (const [name, values] of Object.entries(rows.metrics ?? {}))
    (into.metrics[name] ??= new Float64Array(into.run.length).fill(NaN)).set(values, row);
}

export interface LoadZooOptions {
  /** Load only epochs up to this one (default: all completed epochs). */
  maxEpoch?: number;
  /** Check every row's weights against its stored SHA-256 (default true). */
  verify?: boolean;
}

/** A checkpoint file whose content does not match what it or the manifest says. */
export class ZooIntegrityError extends ZooError {}

/** SHA-256 naming a zoo's content: of its rows' hashes, in row order. */
export const zooDigest = (sha256: readonly string[]): string =>
  createHash('sha256').update(sha256.join('\n')).digest('hex');

export function loadZoo(zooDir: string, options: LoadZooOptions = {}): Zoo {
  const manifest = readManifest(zooDir);
  const last = Math.min(manifest.epochsCompleted, options.maxEpoch ?? Infinity);
  if (last < 0) throw new ZooError(`zoo ${zooDir} has no checkpoints yet (run \`npm run zoo\` to train it)`);
  const runs = zooShape(manifest).runs;
  const dim = manifest.architecture.size;
  const n = runs * (last + 1);
  const zoo: Zoo = {
    manifest,
    n,
    dim,
    weights: new Float32Array(n * dim),
    ...emptyZooLabels(n),
    runs,
    epochs: last,
    digest: '',
  };
  const verify = options.verify ?? true;
  const recorded = verify ? manifest.files : undefined;
  const paths = Array.from({ length: last + 1 }, (_, e) => checkpointPath(zooDir, e));
  for (const path of paths)
    if (!existsSync(path))
      throw new ZooError(
        `zoo ${zooDir} is missing ${path} (the manifest says epoch ${manifest.epochsCompleted} is complete)`,
      );
  const hasher = recorded
    ? new FileHasher(
        last + 1,
        paths.reduce((sum, p) => sum + statSync(p).size, 0),
      )
    : null;
  try {
    // every file is read and handed over first, so hashing runs ahead of parsing on the helper thread
    const files = paths.map((path, e) => {
      const bytes = recorded ? readShared(path) : readFileSync(path);
      hasher?.submit(e, bytes);
      return bytes;
    });
    for (let e = 0; e <= last; e++) {
      const bytes = files[e];
      if (recorded) {
        const expected = recorded[checkpointFileName(e)];
        const actual = hasher!.digest(e);
        if (actual !== expected) {
          throw new ZooIntegrityError(
            `${paths[e]} is damaged: its bytes do not match the SHA-256 recorded in ${join(zooDir, MANIFEST_FILE)} (${String(expected).slice(0, 12)}…, found ${actual.slice(0, 12)}…); \`npm run verify -- --zoo ${zooDir}\` gives the full report`,
          );
        }
      }
      addRows(zoo, e, parseCheckpoints(bytes, paths[e]), paths[e]);
      files[e] = new Uint8Array(0); // parsed: let it go
    }
  } finally {
    hasher?.close();
  }
  if (verify && !recorded) {
    // a zoo written before file hashes: check every row against its own hash
    for (let i = 0; i < n; i++) {
      if (weightsSha256(zoo.weights.subarray(i * dim, (i + 1) * dim)) !== zoo.sha256[i]) {
        throw new ZooIntegrityError(
          `${paths[zoo.epoch[i]]} row ${zoo.run[i]} (run ${zoo.run[i]}, epoch ${zoo.epoch[i]}): the weights do not match their SHA-256; the zoo is damaged (\`npm run verify -- --zoo ${zooDir}\` gives the full report)`,
        );
      }
    }
  }
  zoo.digest = zooDigest(zoo.sha256);
  return zoo;
}

/** Copies one epoch's checkpoint file into `zoo`, checking it against the manifest. */
function addRows(zoo: Zoo, e: number, file: CheckpointFile, path: string): void {
  const { manifest, runs, dim } = zoo;
  const { rows, metadata } = file;
  const meta = fileZooMeta(metadata, path);
  const fileConfig = meta.config;
  const fileArch = fileConfig?.arch ?? meta.architecture?.name;
  if (fileArch && fileArch !== manifest.architecture.name) {
    throw new ZooError(
      `mixed architectures in ${dirname(dirname(path))}: ${path} holds ${fileArch} checkpoints, the manifest says ${manifest.architecture.name}; keep one zoo per directory`,
    );
  }
  const diff =
    fileConfig && manifest.config
      ? configDifferences(manifest.config, fileConfig as unknown as ZooConfig)
      : '';
  if (diff)
    throw new ZooIntegrityError(
      `${path} and ${join(dirname(dirname(path)), MANIFEST_FILE)} disagree on the config (${diff}); the zoo is damaged`,
    );
  if (rows.size !== dim || rows.run.length !== runs) {
    throw new ZooError(
      `${path} holds ${rows.run.length} x ${rows.size} weights, the manifest promises ${runs} x ${dim}`,
    );
  }
  addEpochLabels(zoo, rows, e, runs, path);
  zoo.weights.set(rows.weights, zooRowIndex(runs, 0, e) * dim);
}
