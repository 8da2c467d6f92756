/**
 * The one layout of a loaded zoo's checkpoints: a matrix with one row per checkpoint,
 * epoch-major (all runs of epoch 0, then of epoch 1, ...), as the checkpoint files hold them
 * (one file per epoch). Every module that needs the row of (run, epoch) asks here.
 */
export interface ZooRows {
  /** Number of runs. */
  runs: number;
  /** Weights per checkpoint (row length). */
  dim: number;
  /** runs * (epochs + 1) rows of `dim` weights, row-major. */
  weights: Float32Array;
}

/**
 * A row of a zoo's matrix, in zooRowIndex's numbering: a type apart from other numberings of
 * the same checkpoints (identify's index rows, a file's rows), so one cannot be passed for the
 * other. `zooRow(i)` names a plain number as one.
 */
export type ZooRow = number & { readonly __numbering: 'zoo row' };
export const zooRow = (i: number): ZooRow => i as ZooRow;

/** Zoo rows in an Int32Array: reading one gives a ZooRow. */
export interface ZooRowArray extends Int32Array {
  [index: number]: ZooRow;
  [Symbol.iterator](): IterableIterator<ZooRow>;
}
export const zooRowArray = (rows: ArrayLike<number>): ZooRowArray => Int32Array.from(rows) as ZooRowArray;

/** The row of (run, epoch). */
export const zooRowIndex = (runs: number, run: number, epoch: number): ZooRow => zooRow(epoch * runs + run);

/** The (run, epoch) of a row: zooRowIndex's inverse. */
export const zooRowLabel = (runs: number, row: number): { run: number; epoch: number } => ({
  run: row % runs,
  epoch: Math.floor(row / runs),
});

/** The weights of (run, epoch): a view into the zoo's matrix, not a copy. */
export function checkpointWeights(zoo: ZooRows, run: number, epoch: number): Float32Array {
  const row = zooRowIndex(zoo.runs, run, epoch);
  return zoo.weights.subarray(row * zoo.dim, (row + 1) * zoo.dim);
}

/** Rows of a zoo: in memory, or read from its files (store/rowReader.ts's fileRows). */
export interface RowReader {
  /** Row i's d weights; not to be modified. */
  row(i: ZooRow): Float32Array;
  /** Every row is in memory (a loaded zoo), so reading rows costs nothing. */
  inMemory: boolean;
}

/** The rows of a zoo in memory. */
export function memoryRows(zoo: ZooRows): RowReader {
  const d = zoo.dim;
  return { inMemory: true, row: (i) => zoo.weights.subarray(i * d, (i + 1) * d) };
}

/**
 * A loaded zoo as the in-memory kind of zoo source (store/openZoo.ts's ZooSource): its
 * weights apart from everything else, and its rows read from them.
 */
export function inMemorySource<Z extends ZooRows>(zoo: Z, place: { dir: string; memory: number }) {
  const { weights, ...info } = zoo;
  return { ...place, zoo: info, rows: memoryRows(zoo), weights, blocks: null };
}

/** The name of an analysis space: 'full' (k = 0) or 'svd-<k>'. */
export const spaceName = (k: number): string => (k > 0 ? `svd-${k}` : 'full');
