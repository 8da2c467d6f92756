/**
 * The files of identify's saved index, beside the zoo (the maths is analysis/zooIndex.ts):
 *
 *   <zoo>/index.arrow      run int32, epoch int32, coords fixed_size_list<float32>[k];
 *                          schema metadata `weightspace.index`: JSON of IndexMeta
 *   <zoo>/index-svd.arrow  the SVD basis (TruncatedSVD.save)
 *
 * An index is current while it names the zoo's content (digest, epochs, config); otherwise
 * identify rebuilds it. A file that cannot be read at all is an error naming it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Precision, tableFromIPC, type FixedSizeList, type Table } from 'apache-arrow';
import { isFloatList } from './checkpointFile.ts';
import { ZooError, type ZooManifest } from './manifest.ts';

export const INDEX_FILE = 'index.arrow';
export const INDEX_SVD_FILE = 'index-svd.arrow';
export const INDEX_METADATA_KEY = 'weightspace.index';
/** /1: SVD-50 coordinates summed in float64; /2: no zoo digest. */
export const INDEX_FORMAT = 'weightspace-index/3';

export interface IndexMeta<C = unknown> {
  format: string;
  zoo: { name: string; epochsCompleted: number; config: unknown; digest: string };
  components: number;
  calibration: C;
  seconds: number;
  /** indexChecksum of the saved content: a damaged index is refused, not used. */
  sha256: string;
}

/** SHA-256 over everything an index holds: the basis file's bytes, rows, coordinates and calibration. */
export function indexChecksum(svdFileBytes: Uint8Array, run: Int32Array, epoch: Int32Array, coords: Float32Array, calibration: unknown): string {
  const hash = createHash('sha256').update(svdFileBytes);
  for (const a of [run, epoch, coords]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.update(JSON.stringify(calibration)).digest('hex');
}

export interface IndexTable<C> {
  meta: IndexMeta<C>;
  table: Table;
  /** Coordinates per row. */
  k: number;
}

/** The index at `path`; null when it is of an older layout (rebuild it). */
export function readIndexTable<C>(path: string): IndexTable<C> | null {
  const fix = 'delete it (identify rebuilds it) or run `npm run identify -- --rebuild`';
  let table: Table;
  try {
    table = tableFromIPC(readFileSync(path));
  } catch (err) {
    throw new ZooError(`${path} is not a readable Arrow file (${(err as Error).message}); ${fix}`);
  }
  let meta: IndexMeta<C> | null;
  try {
    meta = JSON.parse(table.schema.metadata.get(INDEX_METADATA_KEY) ?? 'null');
  } catch {
    throw new ZooError(`${path}: its ${INDEX_METADATA_KEY} metadata is not JSON; ${fix}`);
  }
  if (typeof meta?.format === 'string' && meta.format.startsWith('weightspace-index/') && meta.format !== INDEX_FORMAT) return null;
  const type = table.getChild('coords')?.type;
  if (!meta || meta.format !== INDEX_FORMAT || typeof meta.zoo !== 'object' || !type || !isFloatList(type, Precision.SINGLE)) {
    throw new ZooError(`${path} is not an index of this toolkit; ${fix}`);
  }
  for (const name of ['run', 'epoch']) {
    if (!table.getChild(name) || String(table.getChild(name)!.type) !== 'Int32') throw new ZooError(`${path} lacks an int32 column '${name}'; ${fix}`);
  }
  return { meta, table, k: (type as FixedSizeList).listSize };
}

/** True when the index was built from exactly this zoo content. */
export function indexIsCurrent(meta: IndexMeta, manifest: ZooManifest, digest: string): boolean {
  return meta.zoo.digest === digest && meta.zoo.epochsCompleted === manifest.epochsCompleted && JSON.stringify(meta.zoo.config) === JSON.stringify(manifest.config);
}
