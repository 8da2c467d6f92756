/**
 * Checkpoints as Apache Arrow IPC files, one row per checkpoint, plain Arrow types only so
 * pyarrow, polars or DuckDB read them without help:
 *
 *   run int32, seed uint32, epoch int32, step int32 (optimizer steps so far),
 *   train_loss float64 (null at epoch 0), test_loss float64, test_accuracy float64,
 *   sha256 utf8 (of the weights' little-endian float32 bytes), parent_sha256 utf8 (null at epoch 0),
 *   weights fixed_size_list<float32>[P] (flat, PyTorch layout; see the index map)
 *
 * (LABEL_COLUMNS below is that list as the code reads it.)
 *
 * The schema metadata holds `weightspace.zoo` (JSON: zoo name, config, architecture with its
 * parameter index map), so a single file is self-describing.
 */
import { readFileSync } from 'node:fs';
import {
  DataType,
  Int32,
  makeData,
  Precision,
  Uint32,
  Utf8,
  vectorFromArray,
  type FixedSizeList,
  type Table,
} from 'apache-arrow';
import { readArrowFile } from './arrowFile.ts';
import { sha256Hex } from './fileHashes.ts';
import {
  columnsToIPC,
  type Column,
  fixedSizeListColumn,
  flattenFixedSizeList,
  floatColumnValues,
  nullableFloatColumn,
  stringColumnValues,
} from './arrowColumns.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { UserError } from '../core/errors.ts';
import { weightsSha256 } from './sha256.ts';

export const ZOO_METADATA_KEY = 'weightspace.zoo';

export interface CheckpointRows {
  /** Weights per row (the architecture's size). */
  size: number;
  run: Int32Array;
  seed: Uint32Array;
  epoch: Int32Array;
  step: Int32Array;
  /** NaN is stored as null. */
  trainLoss: Float64Array;
  testLoss: Float64Array;
  testAccuracy: Float64Array;
  sha256: string[];
  parentSha256: (string | null)[];
  /** rows * size values, row-major. */
  weights: Float32Array;
  /** Any other numeric metrics the source gave, by name (NaN: none for that row); columns `metric:<name>`. */
  metrics?: Record<string, Float64Array>;
}

/** How a label column is stored: its Arrow type, and the array it is held in. */
const KINDS = {
  int32: { arrow: 'Int32', array: Int32Array },
  uint32: { arrow: 'Uint32', array: Uint32Array },
  float64: { arrow: 'Float64', array: Float64Array },
  utf8: { arrow: 'Utf8', array: null },
} as const;

/**
 * The one description of a checkpoint file's columns before the weights, in file order: the
 * Arrow column, the CheckpointRows field, its kind, and whether it may be null (a float NaN is
 * stored as null). The writer, the reader and its checks, the row builder and loadZoo's labels
 * all follow it. `weights` (fixed_size_list<float32>) comes next, then any `metric:<name>`.
 */
export const LABEL_COLUMNS = [
  { name: 'run', field: 'run', kind: 'int32', nullable: false },
  { name: 'seed', field: 'seed', kind: 'uint32', nullable: false },
  { name: 'epoch', field: 'epoch', kind: 'int32', nullable: false },
  { name: 'step', field: 'step', kind: 'int32', nullable: false },
  { name: 'train_loss', field: 'trainLoss', kind: 'float64', nullable: true },
  { name: 'test_loss', field: 'testLoss', kind: 'float64', nullable: true },
  { name: 'test_accuracy', field: 'testAccuracy', kind: 'float64', nullable: true },
  { name: 'sha256', field: 'sha256', kind: 'utf8', nullable: false },
  { name: 'parent_sha256', field: 'parentSha256', kind: 'utf8', nullable: true },
] as const satisfies readonly {
  name: string;
  field: keyof CheckpointRows;
  kind: keyof typeof KINDS;
  nullable: boolean;
}[];

type LabelColumn = (typeof LABEL_COLUMNS)[number];
/** A checkpoint file's rows without their weights. */
export type LabelRows = Omit<CheckpointRows, 'size' | 'weights'>;
type NumericColumn = Extract<LabelColumn, { kind: 'int32' | 'uint32' | 'float64' }>;
/** The label columns but the hashes, in file order (the label cache stores these as they are). */
export const NUMERIC_COLUMNS = LABEL_COLUMNS.filter((c): c is NumericColumn => c.kind !== 'utf8');
/** The numeric label fields (every label but the hashes), in file order. */
export type NumericLabel = NumericColumn['field'];
export const NUMERIC_LABELS: NumericLabel[] = NUMERIC_COLUMNS.map((c) => c.field);

/** Zero-filled arrays of every numeric label for n rows, each of its column's kind. */
export const numericLabelArrays = (n: number): Pick<CheckpointRows, NumericLabel> =>
  Object.fromEntries(NUMERIC_COLUMNS.map((c) => [c.field, new KINDS[c.kind].array(n)])) as Pick<
    CheckpointRows,
    NumericLabel
  >;

/** The column of metric `name` (the columns after `weights`). */
export const METRIC_PREFIX = 'metric:';

/** Metric names that fill the three metric columns, in order of preference; any other gets a column of its own. */
export const COLUMN_METRICS = {
  trainLoss: ['train_loss', 'loss'],
  testLoss: ['test_loss', 'val_loss'],
  testAccuracy: ['test_accuracy', 'val_acc', 'val_accuracy'],
} as const;
export const isColumnMetric = (name: string): boolean =>
  Object.values(COLUMN_METRICS).some((names) => (names as readonly string[]).includes(name));

export class CheckpointFileError extends UserError {}

/** The columns a writer knows; what checkpointRows fills in: hashes, NaN metrics, null parents. */
export interface RowColumns {
  size: number;
  /** rows * size values, row-major. */
  weights: Float32Array;
  run: ArrayLike<number>;
  seed: ArrayLike<number>;
  epoch: ArrayLike<number>;
  step: ArrayLike<number>;
  trainLoss?: ArrayLike<number>;
  testLoss?: ArrayLike<number>;
  testAccuracy?: ArrayLike<number>;
  /** Each row's parent checkpoint hash (default: none, as at epoch 0). */
  parentSha256?: (string | null)[];
  /** Each row's hash when already known (rows read back); computed from the weights otherwise. */
  sha256?: string[];
  /** Other metrics by name, one value per row (NaN: none); columns `metric:<name>`, sorted by name. */
  metrics?: Record<string, ArrayLike<number>>;
}

/** The one builder of CheckpointRows: every writer's rows come from here. */
export function checkpointRows(c: RowColumns): CheckpointRows {
  const n = c.run.length;
  const floats = (v: ArrayLike<number> | undefined) =>
    v ? Float64Array.from(v) : new Float64Array(n).fill(NaN);
  const names = Object.keys(c.metrics ?? {}).sort();
  const numeric = Object.fromEntries(
    NUMERIC_COLUMNS.map((col) => [
      col.field,
      col.kind === 'float64' ? floats(c[col.field]) : KINDS[col.kind].array.from(c[col.field]!),
    ]),
  ) as Pick<CheckpointRows, NumericLabel>;
  return {
    size: c.size,
    ...numeric,
    sha256:
      c.sha256 ??
      Array.from({ length: n }, (_, r) => weightsSha256(c.weights.subarray(r * c.size, (r + 1) * c.size))),
    parentSha256: c.parentSha256 ?? new Array<string | null>(n).fill(null),
    weights: c.weights,
    ...(names.length && {
      metrics: Object.fromEntries(names.map((name) => [name, floats(c.metrics![name])])),
    }),
  };
}

/** Rows of several files as one (shards of an epoch, staged runs); a metric some part lacks is NaN there. */
export function concatCheckpointRows(
  parts: CheckpointRows[],
  parentSha256?: (string | null)[],
): CheckpointRows {
  const cat = (pick: (p: CheckpointRows) => ArrayLike<number>) => parts.flatMap((p) => Array.from(pick(p)));
  const weights = new Float32Array(parts.reduce((n, p) => n + p.weights.length, 0));
  let at = 0;
  for (const p of parts) {
    weights.set(p.weights, at);
    at += p.weights.length;
  }
  const names = [...new Set(parts.flatMap((p) => Object.keys(p.metrics ?? {})))];
  const numeric = Object.fromEntries(
    NUMERIC_LABELS.map((field) => [field, cat((p) => p[field])]),
  ) as unknown as Pick<RowColumns, NumericLabel>;
  return checkpointRows({
    size: parts[0].size,
    weights,
    ...numeric,
    sha256: parts.flatMap((p) => p.sha256),
    parentSha256: parentSha256 ?? parts.flatMap((p) => p.parentSha256),
    metrics: Object.fromEntries(
      names.map((name) => [name, cat((p) => p.metrics?.[name] ?? new Float64Array(p.run.length).fill(NaN))]),
    ),
  });
}

/** Serialises checkpoint rows to Arrow IPC file bytes. */
/** The label columns of `rows` (LABEL_COLUMNS, in order). */
function labelColumns(rows: LabelRows): Column[] {
  const n = rows.run.length;
  const data = (c: LabelColumn) => {
    const values = rows[c.field];
    switch (c.kind) {
      case 'int32':
        return makeData({ type: new Int32(), length: n, data: values as Int32Array });
      case 'uint32':
        return makeData({ type: new Uint32(), length: n, data: values as Uint32Array });
      case 'float64':
        return nullableFloatColumn(values as Float64Array);
      case 'utf8':
        return vectorFromArray(values as (string | null)[], new Utf8()).data[0];
    }
  };
  return LABEL_COLUMNS.map((c) => ({ name: c.name, data: data(c), ...(c.nullable && { nullable: true }) }));
}

/** The `metric:<name>` columns of other metrics. */
const metricColumns = (metrics: Record<string, Float64Array> = {}): Column[] =>
  Object.entries(metrics).map(([name, values]) => ({
    name: METRIC_PREFIX + name,
    data: nullableFloatColumn(values),
    nullable: true,
  }));

export function checkpointsToIPC(rows: CheckpointRows, metadata: Record<string, string> = {}): Uint8Array {
  const n = rows.run.length;
  if (rows.weights.length !== n * rows.size)
    throw new RangeError(`weights hold ${rows.weights.length} values, expected ${n} x ${rows.size}`);
  return columnsToIPC(
    [
      ...labelColumns(rows),
      { name: 'weights', data: fixedSizeListColumn(rows.weights, rows.size) },
      ...metricColumns(rows.metrics),
    ],
    metadata,
  );
}

/** Writes a checkpoint file; returns the SHA-256 of its bytes. */
export function writeCheckpointFile(
  path: string,
  rows: CheckpointRows,
  metadata: Record<string, string> = {},
  beforeRename?: () => void,
): string {
  const bytes = checkpointsToIPC(rows, metadata);
  writeFileAtomic(path, bytes, beforeRename);
  return sha256Hex(bytes);
}

export interface CheckpointFile {
  rows: CheckpointRows;
  metadata: Map<string, string>;
}

/** The label columns' Arrow types. */
const LABEL_TYPES: Record<string, string> = Object.fromEntries(
  LABEL_COLUMNS.map((c) => [c.name, KINDS[c.kind].arrow]),
);

/** Refuses a table that lacks a label column (or one of `more`), has one of another type, or nulls where none may be. */
function checkColumns(table: Table, path: string, more: Record<string, string> = {}): void {
  const types = { ...LABEL_TYPES, ...more };
  const missing = Object.keys(types).filter((name) => !table.getChild(name));
  if (missing.length)
    throw new CheckpointFileError(`${path} lacks checkpoint column(s): ${missing.join(', ')}`);
  for (const [name, type] of Object.entries(types)) {
    const found = String(table.getChild(name)!.type);
    if (!found.startsWith(type))
      throw new CheckpointFileError(`${path}: column '${name}' must be ${type}, found ${found}`);
  }
  for (const c of LABEL_COLUMNS)
    if (!c.nullable && table.getChild(c.name)!.nullCount > 0)
      throw new CheckpointFileError(`${path}: column '${c.name}' has null values`);
}

/** The label and metric columns of a table already checked by checkColumns. */
function tableLabels(table: Table, path: string): LabelRows {
  const n = table.numRows;
  const col = (name: string) => table.getChild(name)!;
  const floats = (name: string) => floatColumnValues(col(name).data, n);
  const values = (c: LabelColumn) =>
    c.kind === 'float64'
      ? floats(c.name)
      : c.kind === 'utf8'
        ? stringColumnValues(col(c.name).data, n)
        : KINDS[c.kind].array.from(col(c.name).toArray() as ArrayLike<number>);
  const rows = Object.fromEntries(LABEL_COLUMNS.map((c) => [c.field, values(c)])) as unknown as LabelRows;
  for (const f of table.schema.fields.filter((f) => f.name.startsWith(METRIC_PREFIX))) {
    if (!String(f.type).startsWith('Float64'))
      throw new CheckpointFileError(`${path}: column '${f.name}' must be Float64, found ${f.type}`);
    (rows.metrics ??= {})[f.name.slice(METRIC_PREFIX.length)] = floats(f.name);
  }
  return rows;
}

/** Reads a checkpoint file written by writeCheckpointFile (or any file with the same columns). */
export function readCheckpointFile(path: string): CheckpointFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new CheckpointFileError(
      `cannot read checkpoint file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
  return parseCheckpoints(bytes, path);
}

/**
 * With `view`, the weights of a file stored in one record batch are a view into `bytes` rather
 * than a copy (for a reader that reuses its buffer and consumes each file before the next).
 */
export function parseCheckpoints(
  bytes: Uint8Array,
  path = '<bytes>',
  options: { view?: boolean } = {},
): CheckpointFile {
  let table: Table;
  try {
    table = readArrowFile(bytes);
  } catch (err) {
    throw new CheckpointFileError(`${path} is not an Arrow IPC file (${(err as Error).message})`);
  }
  checkColumns(table, path, { weights: 'FixedSizeList' });
  const weightsType = table.getChild('weights')!.type;
  if (!isFloatList(weightsType, Precision.SINGLE)) {
    throw new CheckpointFileError(
      `${path}: column 'weights' must be fixed_size_list<float32>, found ${weightsType}`,
    );
  }
  const size = (weightsType as FixedSizeList).listSize;
  const n = table.numRows;
  if (table.getChild('weights')!.nullCount > 0)
    throw new CheckpointFileError(`${path}: column 'weights' has null values`);
  const chunks = table.getChild('weights')!.data;
  const weights =
    options.view && chunks.length === 1
      ? (chunks[0].children[0].values as Float32Array).subarray(
          chunks[0].children[0].offset + chunks[0].offset * size,
          chunks[0].children[0].offset + (chunks[0].offset + n) * size,
        )
      : flattenFixedSizeList(chunks, size, new Float32Array(n * size));
  const rows = { size, ...tableLabels(table, path), weights } as CheckpointRows;
  return { rows, metadata: table.schema.metadata };
}

/** What a checkpoint file says about its zoo (schema metadata `weightspace.zoo`); {} when it says nothing. */
export function fileZooMeta(
  metadata: Map<string, string>,
  path: string,
): { name?: string; config?: { arch?: string } & Record<string, unknown>; architecture?: { name?: string } } {
  const json = metadata.get(ZOO_METADATA_KEY);
  if (json === undefined) return {};
  try {
    const meta = JSON.parse(json);
    if (typeof meta === 'object' && meta !== null) return meta;
  } catch {
    // reported below
  }
  throw new CheckpointFileError(
    `${path}: its ${ZOO_METADATA_KEY} metadata is not a JSON object (the file is damaged)`,
  );
}

/** True when `type` is fixed_size_list<float> of the given precision. */
export function isFloatList(type: DataType, precision: Precision): boolean {
  return (
    DataType.isFixedSizeList(type) &&
    DataType.isFloat(type.children[0].type) &&
    type.children[0].type.precision === precision
  );
}
