/**
 * A zoo's labels (every checkpoint's run, epoch, step, metrics and hashes; no weights) in one
 * Arrow file, so that the version-control commands read one small file per zoo instead of
 * every epoch file.
 *
 * The file is named by the zoo's content: a SHA-256 of the format and of the manifest's record
 * of the checkpoint files (runs, and each epoch file's SHA-256 in epoch order). An entry is
 * therefore never stale: a zoo that gains an epoch or is retrained names another entry. It is
 * kept outside the zoo (labelCacheDir), so reading a zoo never writes into it, and written
 * best effort: a cache that cannot be written only costs the scan of the epoch files next
 * time. Deleting the folder is always safe. A zoo whose manifest records no file hashes (a
 * zoo of format 1) is never cached.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { zooRowIndex } from '../core/zoo.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { columnsToIPC } from './arrowColumns.ts';
import { labelColumns, metricColumns, parseLabels } from './checkpointFile.ts';
import type { ZooLabels } from './loadZoo.ts';
import { checkpointFileName, zooShape, type ZooManifest } from './manifest.ts';

export const LABELS_FORMAT = 'weightspace-labels/1';

/** $WEIGHTSPACE_CACHE, else $XDG_CACHE_HOME/weightspace, else ~/.cache/weightspace. */
export function cacheDir(): string {
  const env = process.env;
  return env.WEIGHTSPACE_CACHE || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'weightspace');
}

/** The cache file of a zoo's labels, or null when its manifest does not record every checkpoint file's hash. */
export function labelCachePath(manifest: ZooManifest): string | null {
  const hashes: string[] = [];
  for (let e = 0; e <= manifest.epochsCompleted; e++) {
    const sha256 = manifest.files?.[checkpointFileName(e)];
    if (sha256 === undefined) return null;
    hashes.push(sha256);
  }
  const key = createHash('sha256')
    .update(JSON.stringify({ format: LABELS_FORMAT, runs: zooShape(manifest).runs, files: hashes }))
    .digest('hex');
  return join(cacheDir(), 'labels', `${key}.arrow`);
}

/** The cached labels of the zoo `manifest` describes, and its digest; null when there are none (or they do not fit the zoo). */
export function readCachedLabels(manifest: ZooManifest): { labels: ZooLabels; digest: string } | null {
  const path = labelCachePath(manifest);
  if (path === null) return null;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  try {
    const { rows, metadata } = parseLabels(bytes, path);
    const digest = metadata.get('digest');
    if (metadata.get('format') !== LABELS_FORMAT || !digest) return null;
    const { runs } = zooShape(manifest);
    const n = runs * (manifest.epochsCompleted + 1);
    if (rows.run.length !== n) return null;
    for (let i = 0; i < n; i++) if (zooRowIndex(runs, rows.run[i], rows.epoch[i]) !== i) return null; // not in the zoo's row order
    return { labels: { ...rows, metrics: rows.metrics ?? {} }, digest };
  } catch {
    return null; // a damaged entry: the caller scans the epoch files, and writes it again
  }
}

/**
 * Keeps `labels` (in the zoo's row order) and the zoo's digest (zooDigest of its hashes) for the
 * zoo `manifest` describes; false when that could not be done.
 */
export function writeCachedLabels(manifest: ZooManifest, labels: ZooLabels, digest: string): boolean {
  const path = labelCachePath(manifest);
  if (path === null) return false;
  try {
    mkdirSync(join(cacheDir(), 'labels'), { recursive: true });
    writeFileAtomic(
      path,
      columnsToIPC([...labelColumns(labels), ...metricColumns(labels.metrics)], {
        format: LABELS_FORMAT,
        digest,
      }),
    );
    return true;
  } catch {
    return false;
  }
}
