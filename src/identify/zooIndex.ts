/**
 * The index that makes identification fast: a truncated SVD basis of the zoo's weight space,
 * every indexed checkpoint projected onto it, and the verdict thresholds calibrated from
 * the zoo itself. Built once per zoo and saved next to it (store/indexFile.ts: the files,
 * and when a saved index is current).
 *
 * A trajectory is a run's indexed checkpoints in epoch order, joined by straight segments.
 *
 * The verdict thresholds come from calibration.ts.
 */
import { readFileSync } from 'node:fs';
import { Int32, makeData } from 'apache-arrow';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { columnsToIPC, fixedSizeListColumn, flattenFixedSizeList } from '../store/arrowColumns.ts';
import { sha256Hex } from '../store/fileHashes.ts';
import {
  INDEX_FILE,
  INDEX_FORMAT,
  INDEX_SVD_FILE,
  indexMetaJson,
  indexPaths,
  readIndex,
} from '../store/indexFile.ts';
import type { Zoo } from '../store/loadZoo.ts';
import { ZooError } from '../store/manifest.ts';
import { TruncatedSVD } from '../reduce/svd.ts';
import { calibrate, type Calibration } from './calibration.ts';
import { FLOAT32_ROUNDOFF, type Trajectory } from './trajectory.ts';
import { SimdProducts } from '../reduce/simdProducts.ts';
import { zooRowIndex } from '../core/zoo.ts';
import { simdThreads } from '../util/threads.ts';
import { dot, rowDistance, squaredDistance } from '../reduce/distances.ts';

export type { Calibration, Trajectory };

export { INDEX_FILE, INDEX_SVD_FILE };

export interface ZooIndexOptions {
  /**
   * SVD components (default 2 x runs + 100, at most the number of checkpoints and weights):
   * enough to hold most of what tells runs apart (each run starts from its own random point),
   * so the projected lower bounds rule out all but a few runs.
   */
  components?: number;
  /** Index only these runs (default: all). */
  runs?: (run: number) => boolean;
  /** Index only these epochs (default: all); each run needs at least 2. */
  epochs?: (epoch: number) => boolean;
  /** Epochs of further training a descendant may have, for its calibration (default 5). */
  descendantEpochs?: number;
  /** Checkpoints whose distance to other runs calibrates the member threshold (default 400). */
  calibrationSamples?: number;
  /** Called as the build goes through its steps (SVD, projections, calibration). */
  onProgress?: (step: string, done: number, total: number) => void;
}

export const INDEX_DEFAULTS = { descendantEpochs: 5, calibrationSamples: 400 } as const;
export const defaultComponents = (runs: number) => 2 * runs + 100;

export class ZooIndex {
  private constructor(
    readonly zoo: Zoo,
    readonly svd: TruncatedSVD,
    /** Projected checkpoints (rows of the trajectories' `at`), n x k float32. */
    readonly coords: Float32Array,
    readonly trajectories: Trajectory[],
    public calibration: Calibration,
    /** Seconds the build took (SVD, projections, calibration). */
    public buildSeconds: number,
  ) {
    const d = zoo.dim;
    this.sqNorm = new Float64Array(zoo.n);
    for (let row = 0; row < zoo.n; row++)
      this.sqNorm[row] = dot(zoo.weights, row * d, zoo.weights, row * d, d);
    const k = svd.k;
    const m = coords.length / k;
    this.coordSqNorm = Float64Array.from({ length: m }, (_, i) => dot(coords, i * k, coords, i * k, k));
    this.coordStepSq = new Float64Array(m);
    const coordError = new Float64Array(m);
    const residual = new Float64Array(m);
    for (const t of trajectories) {
      for (let i = 0; i < t.at.length; i++) {
        const [c, xx] = [t.at[i], this.sqNorm[t.rows[i]]];
        // coords are float32 sums of d products (projectRows): |c - V x| <= sqrt(k) (d + 2) u |x|
        coordError[c] = Math.sqrt(k) * (d + 2) * FLOAT32_ROUNDOFF * Math.sqrt(xx);
        // |x - V^T V x|^2 = |x|^2 - |V x|^2, with |V x| >= |c| - coordError: an upper bound
        const projected = Math.max(0, Math.sqrt(this.coordSqNorm[c]) - coordError[c]);
        residual[c] = Math.sqrt(Math.max(0, xx - projected * projected + 1e-9 * xx));
      }
    }
    this.segmentNorm = new Float64Array(m);
    this.segmentCoordError = new Float64Array(m);
    this.segmentResidual = new Float64Array(m);
    for (const t of trajectories) {
      for (let i = 0; i + 1 < t.at.length; i++) {
        const [a, b] = [t.at[i], t.at[i + 1]];
        this.coordStepSq[a] = squaredDistance(coords, a * k, coords, b * k, k);
        this.segmentNorm[a] = Math.sqrt(Math.max(this.coordSqNorm[a], this.coordSqNorm[b]));
        this.segmentCoordError[a] = Math.max(coordError[a], coordError[b]);
        this.segmentResidual[a] = Math.max(residual[a], residual[b]);
      }
    }
  }

  /** |x|^2 of every zoo row (float64), for distances from dot products. */
  readonly sqNorm: Float64Array;
  /** |c|^2 of every projected checkpoint, and the squared length of the projected segment starting there. */
  readonly coordSqNorm: Float64Array;
  readonly coordStepSq: Float64Array;
  /**
   * Per segment, at its first checkpoint: the larger |c| of its ends, the larger bound on an
   * end's distance from its exact projection, and the larger bound on an end's distance from
   * the SVD subspace.
   */
  readonly segmentNorm: Float64Array;
  readonly segmentCoordError: Float64Array;
  readonly segmentResidual: Float64Array;
  private coordProducts: SimdProducts | null = null;
  private basisProducts: SimdProducts | null = null;

  /**
   * Copies the basis and the coordinates into WebAssembly memory and starts the helper thread
   * that queries use (done by the first query otherwise, whose time it would then count).
   */
  prepare(): this {
    const { k, zoo } = this;
    this.basisProducts ??= new SimdProducts(Float32Array.from(this.svd.components), k, zoo.dim, 1, 1);
    // both cores: the coordinates pass reads n x k floats (30 MB at paper scale), the bulk of a query
    this.coordProducts ??= new SimdProducts(
      this.coords,
      this.coords.length / k,
      k,
      1,
      simdThreads(),
      'sleep',
    );
    return this;
  }

  /** Stops the helper thread (it never keeps the process alive; this frees it sooner). */
  close(): void {
    this.coordProducts?.close();
    this.coordProducts = null;
  }

  /** V q (float32 SIMD, one pass over the k x d basis), and a bound on its distance from the exact V q. */
  projectQuery(q: Float64Array): { z: Float64Array; error: number } {
    const { k, zoo } = this;
    const d = zoo.dim;
    const z = this.prepare().basisProducts!.timesVector(q);
    return { z, error: Math.sqrt(k) * (d + 2) * FLOAT32_ROUNDOFF * Math.sqrt(dot(q, 0, q, 0, d)) };
  }

  /** c . z for every projected checkpoint c (float32 SIMD, one pass over n x k values). */
  projectedDots(z: Float64Array): Float64Array {
    return this.prepare().coordProducts!.timesVector(z);
  }

  get k(): number {
    return this.svd.k;
  }

  /** Builds the index of a loaded zoo (or of the runs and epochs selected in `options`). */
  static build(zoo: Zoo, options: ZooIndexOptions = {}): ZooIndex {
    const start = performance.now();
    const {
      runs = () => true,
      epochs = () => true,
      descendantEpochs = INDEX_DEFAULTS.descendantEpochs,
    } = options;
    const trajectories: Trajectory[] = [];
    const rows: number[] = [];
    for (let r = 0; r < zoo.runs; r++) {
      if (!runs(r)) continue;
      const epochList: number[] = [];
      const rowList: number[] = [];
      for (let e = 0; e <= zoo.epochs; e++) {
        if (!epochs(e)) continue;
        epochList.push(e);
        rowList.push(zooRowIndex(zoo.runs, r, e));
      }
      if (epochList.length < 2)
        throw new ZooError(
          `run ${r} has ${epochList.length} indexed checkpoint(s); a trajectory needs at least 2 epochs`,
        );
      const at = Int32Array.from(rowList, (_, i) => rows.length + i);
      rows.push(...rowList);
      trajectories.push(trajectory(zoo, r, Int32Array.from(epochList), at));
    }
    if (trajectories.length === 0) throw new ZooError('the index selects no runs');
    const n = rows.length;
    const d = zoo.dim;
    const k = Math.min(options.components ?? defaultComponents(trajectories.length), n, d);
    const x = new Float32Array(n * d);
    rows.forEach((row, i) => x.set(zoo.weights.subarray(row * d, (row + 1) * d), i * d));
    const progress = options.onProgress ?? (() => {});
    const svd = new TruncatedSVD({ components: k });
    progress(`SVD-${k} of ${n} x ${d}`, 0, 1);
    svd.fit(x, n, d);
    progress(`SVD-${k} of ${n} x ${d}`, 1, 1);
    const coords = projectRows(svd, x, n, d);
    const index = new ZooIndex(
      zoo,
      svd,
      coords,
      trajectories,
      { memberRatio: NaN, descendantRatio: NaN, descendantEpochs, looRatio: NaN, foreignRatio: NaN },
      0,
    );
    const samples = options.calibrationSamples ?? INDEX_DEFAULTS.calibrationSamples;
    index.calibration = calibrate(index, x, descendantEpochs, samples, (done, total) =>
      progress('calibration samples', done, total),
    );
    index.buildSeconds = (performance.now() - start) / 1000;
    return index;
  }

  /** Saves a whole-zoo index next to the zoo (store/indexFile.ts: index.json, index.arrow, index-svd.arrow). */
  save(zooDir: string): void {
    const n = this.coords.length / this.k;
    const run = new Int32Array(n);
    const epoch = new Int32Array(n);
    for (const t of this.trajectories)
      for (let i = 0; i < t.at.length; i++) [run[t.at[i]], epoch[t.at[i]]] = [t.run, t.epochs[i]];
    const paths = indexPaths(zooDir);
    const { manifest } = this.zoo;
    this.svd.save(paths.svd);
    const bytes = columnsToIPC([
      { name: 'run', data: makeData({ type: new Int32(), length: n, data: run }) },
      { name: 'epoch', data: makeData({ type: new Int32(), length: n, data: epoch }) },
      { name: 'coords', data: fixedSizeListColumn(this.coords, this.k) },
    ]);
    writeFileAtomic(paths.index, bytes);
    // written last: the description names both files' bytes, so a half-saved index is never used
    const meta = {
      format: INDEX_FORMAT,
      zoo: {
        name: manifest.name,
        epochsCompleted: manifest.epochsCompleted,
        config: manifest.config,
        digest: this.zoo.digest,
      },
      components: this.k,
      calibration: this.calibration,
      seconds: this.buildSeconds,
      files: { [INDEX_FILE]: sha256Hex(bytes), [INDEX_SVD_FILE]: sha256Hex(readFileSync(paths.svd)) },
    };
    writeFileAtomic(paths.meta, indexMetaJson(meta));
  }

  /**
   * The saved index of `zoo` (loaded from zooDir), or null when there is none or it no
   * longer matches the zoo (other checkpoints, config, more epochs since), so the caller rebuilds it.
   */
  static load(zooDir: string, zoo: Zoo): ZooIndex | null {
    const saved = readIndex<Calibration>(zooDir, zoo.manifest, zoo.digest);
    if (!saved) return null;
    const { table, meta, k } = saved;
    const n = table.numRows;
    const coords = flattenFixedSizeList(table.getChild('coords')!.data, k, new Float32Array(n * k));
    const run = table.getChild('run')!.toArray() as Int32Array;
    const epoch = table.getChild('epoch')!.toArray() as Int32Array;
    const byRun = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      if (!byRun.has(run[i])) byRun.set(run[i], []);
      byRun.get(run[i])!.push(i);
    }
    const trajectories = [...byRun].map(([r, at]): Trajectory => {
      return trajectory(
        zoo,
        r,
        Int32Array.from(at, (i) => epoch[i]),
        Int32Array.from(at),
      );
    });
    return new ZooIndex(
      zoo,
      TruncatedSVD.load(indexPaths(zooDir).svd),
      coords,
      trajectories,
      meta.calibration,
      meta.seconds,
    );
  }
}

/**
 * The projections V x of the rows (not fitTransform's Q U Σ: identify's lower bounds need
 * projections), as float32 SIMD products on both cores; coordError bounds their rounding.
 */
function projectRows(svd: TruncatedSVD, x: Float32Array, n: number, d: number): Float32Array {
  const products = new SimdProducts(x, n, d, svd.k, simdThreads());
  try {
    return Float32Array.from(products.times(svd.components, svd.k));
  } finally {
    products.close();
  }
}

/** A run's trajectory over the given epochs, with its segments' squared lengths. */
function trajectory(zoo: Zoo, run: number, epochs: Int32Array, at: Int32Array): Trajectory {
  const rows = Int32Array.from(epochs, (e) => zooRowIndex(zoo.runs, run, e));
  const segmentSq = Float64Array.from(
    { length: rows.length - 1 },
    (_, i) => rowDistance(zoo.weights, rows[i], rows[i + 1], zoo.dim) ** 2,
  );
  return { run, seed: zoo.seed[rows[0]], epochs, rows, at, segmentSq };
}
