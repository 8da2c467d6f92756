/**
 * Every zoo under a root folder (`zoo/` by default; the root itself when it is a zoo), for the
 * version-control commands (log, show, tag): each zoo's manifest at once, its labels and its
 * tags when first asked for. The labels come from the label cache (labelCache.ts: one small
 * file per zoo content) or else from one pass over the checkpoint files (each checked against
 * its manifest hash, the weights neither copied nor decoded), which then fills the cache.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { ZooInfo } from './loadZoo.ts';
import { readManifest, type ZooManifest } from './manifest.ts';
import { readCachedLabels, writeCachedLabels } from './labelCache.ts';
import { zooInfo, zooLabels } from './rowReader.ts';
import { readTags, type Tags } from './tags.ts';
import { zooBlocks } from './zooBlocks.ts';
import { MANIFEST_FILE } from './zooLayout.ts';

/**
 * A zoo directory itself, or the zoos directly inside a folder (none: []). `contained` leaves
 * out a zoo whose folder is a link to a place outside the root (what the server serves).
 */
export function zooDirsUnder(root: string, options: { contained?: boolean } = {}): string[] {
  if (existsSync(join(root, MANIFEST_FILE))) return [root];
  if (!existsSync(root) || !statSync(root).isDirectory()) return [];
  const dirs = readdirSync(root)
    .map((name) => join(root, name))
    .filter((dir) => existsSync(join(dir, MANIFEST_FILE)))
    .sort();
  if (!options.contained) return dirs;
  const real = realpathSync(root);
  return dirs.filter((dir) => realpathSync(dir).startsWith(real + sep));
}

export interface CatalogZoo {
  /** The folder's name: how references name the zoo (`ffnn-default:7@10`). */
  name: string;
  dir: string;
  manifest: ZooManifest;
  /** Labels, metrics and hashes of every checkpoint, by zoo row (read once, on first use). */
  info(): ZooInfo;
  /** The zoo's tags (read on first use). */
  tags(): Tags;
}

export interface Catalog {
  root: string;
  zoos: CatalogZoo[];
  /** Whether a reference may name a model file by its path (refs.ts); the server allows none. */
  files: boolean;
}

export interface CatalogOptions {
  /** Check each checkpoint file's SHA-256 when its labels are first read (default true). */
  verify?: boolean;
  /** Let references name model files by path (default true). */
  files?: boolean;
  /** Leave out zoos linked from outside the root, and give an empty catalog rather than refuse one (the server's). */
  contained?: boolean;
}

/** The zoos under `root`; refuses a root that holds none. */
export function openCatalog(root: string, options: CatalogOptions = {}): Catalog {
  const dirs = zooDirsUnder(root, options);
  if (dirs.length === 0 && !options.contained)
    throw new UserError(
      `no zoo under ${root} (a zoo is a folder with a ${MANIFEST_FILE}; train one with \`npm run zoo\`)`,
    );
  return {
    root,
    zoos: dirs.map((dir) => catalogZoo(dir, options.verify ?? true)),
    files: options.files ?? true,
  };
}

function catalogZoo(dir: string, verify: boolean): CatalogZoo {
  let info: ZooInfo | null = null;
  let tags: Tags | null = null;
  const manifest = readManifest(dir);
  return {
    name: basename(dir),
    dir,
    manifest,
    info: () => (info ??= catalogInfo(dir, manifest, verify)),
    tags: () => (tags ??= readTags(dir)),
  };
}

function catalogInfo(dir: string, manifest: ZooManifest, verify: boolean): ZooInfo {
  const cached = readCachedLabels(manifest);
  if (cached) return zooInfo(manifest, cached.labels, cached.digest);
  const info = zooLabels(zooBlocks(dir, { verify }));
  writeCachedLabels(manifest, info, info.digest);
  return info;
}
