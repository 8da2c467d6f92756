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
import { FixedSizeBinary, Float64, Int32, makeData, Uint32, Uint8, type Data } from 'apache-arrow';
import { readArrowFile } from './arrowFile.ts';
import { METRIC_PREFIX, NUMERIC_COLUMNS, type NumericLabel } from './checkpointFile.ts';
import type { ZooLabels } from './loadZoo.ts';
import { checkpointFileName, zooShape, type ZooManifest } from './manifest.ts';

/** /1: hashes as hex strings, floats with nulls. */
export const LABELS_FORMAT = 'weightspace-labels/2';
const KINDS = {
  int32: { type: 'Int32', array: Int32Array },
  uint32: { type: 'Uint32', array: Uint32Array },
  float64: { type: 'Float64', array: Float64Array },
} as const;

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

/**
 * The cache's columns, in this order: the numeric labels as checkpoint files name them
 * (NUMERIC_COLUMNS; float64 with NaN for "none", so each is read as a view, not decoded),
 * `sha256` as 32 bytes, `parent` (uint8: 0 none, 1 the hash of its run's previous epoch, 2
 * listed in the schema metadata `parents`, a JSON object of row -> hex), then `metric:<name>`.
 * A zoo's parents are almost all its runs' previous epochs, so they cost a byte each.
 */
const HASH_BYTES = 32;
const PARENT = { none: 0, previous: 1, listed: 2 } as const;

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
    const table = readArrowFile(bytes);
    const meta = table.schema.metadata;
    const digest = meta.get('digest');
    if (meta.get('format') !== LABELS_FORMAT || !digest || table.batches.length !== 1) return null;
    const { runs } = zooShape(manifest);
    const n = runs * (manifest.epochsCompleted + 1);
    if (table.numRows !== n) return null;
    // a column's values as a view of the file's bytes, cut to n (Arrow pads buffers to 8 bytes)
    // a column of Arrow type `type` as a view of the file's bytes, cut to n (Arrow pads buffers to 8 bytes)
    const values = <T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(
      name: string,
      type: string,
      kind: new (...args: never[]) => T,
      width = 1,
    ): T | null => {
      const column = table.getChild(name);
      const v = column?.data[0]?.values as unknown;
      return String(column?.type) === type && v instanceof kind && v.length >= n * width
        ? (v.subarray(0, n * width) as T)
        : null;
    };
    const numeric: Record<string, unknown> = {};
    for (const c of NUMERIC_COLUMNS) {
      const v = values(
        c.name,
        KINDS[c.kind].type,
        KINDS[c.kind].array as new () => Int32Array | Uint32Array | Float64Array,
      );
      if (!v) return null;
      numeric[c.field] = v;
    }
    const labels = numeric as Pick<ZooLabels, NumericLabel>;
    for (let i = 0; i < n; i++) if (zooRowIndex(runs, labels.run[i], labels.epoch[i]) !== i) return null; // not in the zoo's row order
    const hashBytes = values('sha256', `FixedSizeBinary[${HASH_BYTES}]`, Uint8Array, HASH_BYTES);
    const kinds = values('parent', 'Uint8', Uint8Array);
    if (!hashBytes || !kinds) return null;
    const hex = Buffer.from(hashBytes.buffer, hashBytes.byteOffset, hashBytes.length).toString('hex');
    const listed = JSON.parse(meta.get('parents') ?? '{}') as Record<string, string>;
    const sha256 = new Array<string>(n);
    const parentSha256 = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      sha256[i] = hex.slice(2 * HASH_BYTES * i, 2 * HASH_BYTES * (i + 1));
      const kind = kinds[i];
      if (kind === PARENT.none) parentSha256[i] = null;
      else if (kind === PARENT.previous && i >= runs) parentSha256[i] = sha256[i - runs];
      else if (kind === PARENT.listed && typeof listed[i] === 'string') parentSha256[i] = listed[i];
      else return null;
    }
    const metrics: Record<string, Float64Array> = {};
    for (const f of table.schema.fields)
      if (f.name.startsWith(METRIC_PREFIX)) {
        const v = values(f.name, 'Float64', Float64Array);
        if (!v) return null;
        metrics[f.name.slice(METRIC_PREFIX.length)] = v;
      }
    return { labels: { ...labels, sha256, parentSha256, metrics }, digest };
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
  const { runs } = zooShape(manifest);
  const n = labels.run.length;
  const kinds = new Uint8Array(n);
  const listed: Record<number, string> = {};
  for (let i = 0; i < n; i++) {
    const parent = labels.parentSha256[i];
    if (parent === null) kinds[i] = PARENT.none;
    else if (i >= runs && parent === labels.sha256[i - runs]) kinds[i] = PARENT.previous;
    else ((kinds[i] = PARENT.listed), (listed[i] = parent));
  }
  const hashes = Buffer.from(labels.sha256.join(''), 'hex');
  if (hashes.length !== n * HASH_BYTES) return false; // not all SHA-256 hex: nothing to gain, keep scanning
  const column = (c: (typeof NUMERIC_COLUMNS)[number]) => {
    const type = { int32: new Int32(), uint32: new Uint32(), float64: new Float64() }[c.kind];
    return { name: c.name, data: makeData({ type, length: n, data: labels[c.field] } as never) as Data };
  };
  const columns = [
    ...NUMERIC_COLUMNS.map(column),
    {
      name: 'sha256',
      data: makeData({ type: new FixedSizeBinary(HASH_BYTES), length: n, data: new Uint8Array(hashes) }),
    },
    { name: 'parent', data: makeData({ type: new Uint8(), length: n, data: kinds }) },
    ...Object.entries(labels.metrics).map(([name, values]) => ({
      name: METRIC_PREFIX + name,
      data: makeData({ type: new Float64(), length: n, data: values }),
    })),
  ];
  try {
    mkdirSync(join(cacheDir(), 'labels'), { recursive: true });
    writeFileAtomic(
      path,
      columnsToIPC(columns, { format: LABELS_FORMAT, digest, parents: JSON.stringify(listed) }),
    );
    return true;
  } catch {
    return false;
  }
}
