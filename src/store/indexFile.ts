/**
 * The files of identify's saved index, beside the zoo (the maths is identify/zooIndex.ts):
 *
 *   <zoo>/index.json       IndexMeta: what the index was built from, its calibration, and the
 *                          SHA-256 of the two Arrow files and of itself
 *   <zoo>/index.arrow      run int32, epoch int32, coords fixed_size_list<float32>[k],
 *                          sq_norm float64 (|x|^2), step_sq float64 (|next - x|^2 along the
 *                          run; null at its last indexed checkpoint)
 *   <zoo>/index-svd.arrow  the SVD basis (svdFile.ts)
 *
 * The index travels as a value (SavedIndex): ZooIndex.toSaved() gives one to writeIndexFiles,
 * readIndexFiles gives one to ZooIndex.fromSaved.
 *
 * An index is current while it names the zoo's content (digest, epochs, config); otherwise
 * identify rebuilds it. The Arrow files are parsed only once their bytes match the recorded
 * hashes; a damaged index is an error naming the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Int32, makeData, Precision, type FixedSizeList, type Table } from 'apache-arrow';
import { readJsonFile } from '../util/json.ts';
import { readArrowFile } from './arrowFile.ts';
import {
  columnsToIPC,
  fixedSizeListColumn,
  flattenFixedSizeList,
  nullableFloatColumn,
} from './arrowColumns.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { isFloatList } from './checkpointFile.ts';
import { readSvdFile, writeSvdFile, type SvdBasis } from './svdFile.ts';
import { sha256Hex } from './fileHashes.ts';
import { ZooError, type ZooManifest } from './manifest.ts';

import { INDEX_FILE, INDEX_META_FILE, INDEX_SVD_FILE } from './zooLayout.ts';
export { INDEX_FILE, INDEX_META_FILE, INDEX_SVD_FILE };
/**
 * /1: SVD-50 coordinates summed in float64; /2: metadata inside index.arrow, no zoo digest;
 * /3: without the rows' squared norms and step lengths (a streamed zoo needs them stored);
 * /4: without the p-values' null in the calibration; /5: an aligned null without the samples'
 * disguised copies; /6: one fitted mean per null, the plain one from the samples as trained
 * (/7 keeps every sample's log margin, the plain ones from permuted copies).
 */
export const INDEX_FORMAT = 'weightspace-index/7';
const FIX = 'delete index.json (identify rebuilds the index) or run `npm run identify -- --rebuild`';

export interface IndexMeta<C = unknown> {
  format: string;
  zoo: { name: string; epochsCompleted: number; config: unknown; digest: string };
  components: number;
  calibration: C;
  seconds: number;
  /** SHA-256 of index.arrow and index-svd.arrow. */
  files: Record<string, string>;
  /** SHA-256 of this JSON without this field. */
  sha256?: string;
}

export const indexPaths = (zooDir: string) => ({
  meta: join(zooDir, INDEX_META_FILE),
  index: join(zooDir, INDEX_FILE),
  svd: join(zooDir, INDEX_SVD_FILE),
});

const metaSha256 = (meta: IndexMeta): string =>
  sha256Hex(Buffer.from(JSON.stringify({ ...meta, sha256: undefined })));

/** Writes index.json for index files already written. */
export function indexMetaJson(meta: Omit<IndexMeta, 'sha256'>): string {
  return JSON.stringify({ ...meta, sha256: metaSha256(meta as IndexMeta) }, null, 1) + '\n';
}

/**
 * The saved index of a zoo: null when there is none, it is of an older layout, or it is not
 * current for this zoo (the caller rebuilds it). Throws a ZooError naming the file when it is damaged.
 */
export function readIndex<C>(
  zooDir: string,
  manifest: ZooManifest,
  digest: string,
): { meta: IndexMeta<C>; table: Table; k: number } | null {
  const paths = indexPaths(zooDir);
  if (!existsSync(paths.meta)) return null;
  const meta = readJsonFile(paths.meta, FIX) as IndexMeta<C>;
  if (typeof meta !== 'object' || meta === null)
    throw new ZooError(`${paths.meta} is not an index description; ${FIX}`);
  if (
    typeof meta.format === 'string' &&
    meta.format.startsWith('weightspace-index/') &&
    meta.format !== INDEX_FORMAT
  )
    return null;
  if (
    meta.format !== INDEX_FORMAT ||
    typeof meta.zoo !== 'object' ||
    typeof meta.files !== 'object' ||
    meta.sha256 !== metaSha256(meta)
  ) {
    throw new ZooError(
      `${paths.meta} is damaged or not an index description of this toolkit (its content does not match its SHA-256); ${FIX}`,
    );
  }
  if (!indexIsCurrent(meta, manifest, digest)) return null;
  for (const path of [paths.index, paths.svd]) {
    const name = path === paths.index ? INDEX_FILE : INDEX_SVD_FILE;
    if (!existsSync(path)) throw new ZooError(`${path} is missing; ${FIX}`);
    if (sha256Hex(readFileSync(path)) !== meta.files[name])
      throw new ZooError(
        `${path} is damaged (its bytes do not match the SHA-256 in ${INDEX_META_FILE}); ${FIX}`,
      );
  }
  let table: Table;
  try {
    table = readArrowFile(readFileSync(paths.index));
  } catch (err) {
    throw new ZooError(`${paths.index} is not a readable Arrow file (${(err as Error).message}); ${FIX}`);
  }
  const type = table.getChild('coords')?.type;
  if (!type || !isFloatList(type, Precision.SINGLE))
    throw new ZooError(`${paths.index} lacks a float32 list column 'coords'; ${FIX}`);
  for (const name of ['run', 'epoch']) {
    if (String(table.getChild(name)?.type) !== 'Int32')
      throw new ZooError(`${paths.index} lacks an int32 column '${name}'; ${FIX}`);
  }
  for (const name of ['sq_norm', 'step_sq']) {
    if (String(table.getChild(name)?.type) !== 'Float64')
      throw new ZooError(`${paths.index} lacks a float64 column '${name}'; ${FIX}`);
  }
  return { meta, table, k: (type as FixedSizeList).listSize };
}

/** True when the index was built from exactly this zoo content. */
export function indexIsCurrent(meta: IndexMeta, manifest: ZooManifest, digest: string): boolean {
  return (
    meta.zoo.digest === digest &&
    meta.zoo.epochsCompleted === manifest.epochsCompleted &&
    JSON.stringify(meta.zoo.config) === JSON.stringify(manifest.config)
  );
}

/** An index as its files hold it, one entry per indexed checkpoint in the index's own row order. */
export interface SavedIndex<C = unknown> {
  zoo: IndexMeta['zoo'];
  calibration: C;
  seconds: number;
  svd: SvdBasis;
  run: Int32Array;
  epoch: Int32Array;
  /** n x k, row-major. */
  coords: Float32Array;
  k: number;
  /** |x|^2 of each checkpoint, and |next - x|^2 along its run (NaN at its last indexed one). */
  sqNorm: Float64Array;
  stepSq: Float64Array;
}

/** Writes the index files beside the zoo; index.json last, naming both Arrow files' bytes, so a half-written index is never used. */
export function writeIndexFiles(zooDir: string, saved: SavedIndex): void {
  const paths = indexPaths(zooDir);
  const n = saved.run.length;
  writeSvdFile(paths.svd, saved.svd);
  const bytes = columnsToIPC([
    { name: 'run', data: makeData({ type: new Int32(), length: n, data: saved.run }) },
    { name: 'epoch', data: makeData({ type: new Int32(), length: n, data: saved.epoch }) },
    { name: 'coords', data: fixedSizeListColumn(saved.coords, saved.k) },
    { name: 'sq_norm', data: nullableFloatColumn(saved.sqNorm) },
    { name: 'step_sq', data: nullableFloatColumn(saved.stepSq) },
  ]);
  writeFileAtomic(paths.index, bytes);
  const meta = {
    format: INDEX_FORMAT,
    zoo: saved.zoo,
    components: saved.k,
    calibration: saved.calibration,
    seconds: saved.seconds,
    files: { [INDEX_FILE]: sha256Hex(bytes), [INDEX_SVD_FILE]: sha256Hex(readFileSync(paths.svd)) },
  };
  writeFileAtomic(paths.meta, indexMetaJson(meta));
}

/** The saved index of a zoo as a value, or null as readIndex says (none, older layout, not current). */
export function readIndexFiles<C>(
  zooDir: string,
  manifest: ZooManifest,
  digest: string,
): SavedIndex<C> | null {
  const saved = readIndex<C>(zooDir, manifest, digest);
  if (!saved) return null;
  const { table, meta, k } = saved;
  const n = table.numRows;
  const floats = (name: string) => Float64Array.from(table.getChild(name)!.toArray() as Float64Array);
  return {
    zoo: meta.zoo,
    calibration: meta.calibration,
    seconds: meta.seconds,
    svd: readSvdFile(indexPaths(zooDir).svd),
    run: Int32Array.from(table.getChild('run')!.toArray() as Int32Array),
    epoch: Int32Array.from(table.getChild('epoch')!.toArray() as Int32Array),
    coords: flattenFixedSizeList(table.getChild('coords')!.data, k, new Float32Array(n * k)),
    k,
    sqNorm: floats('sq_norm'),
    stepSq: floats('step_sq'),
  };
}
