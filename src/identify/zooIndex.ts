/**
 * The index that makes identification fast: a truncated SVD basis of the zoo's weight space,
 * every indexed checkpoint projected onto it, and the verdict thresholds calibrated from
 * the zoo itself. Built from values: the search space (the basis, the projections and the
 * trajectories), then its calibration, then the immutable index. Built once per zoo and
 * saved next to it as a value (toSaved; store/indexFile.ts writes the files and says when a
 * saved index is current; fromSaved takes one back).
 *
 * A trajectory is a run's indexed checkpoints in epoch order, joined by straight segments.
 *
 * The verdict thresholds come from calibration.ts.
 */
import { matrix } from '../core/matrix.ts';
import type { Zoo, ZooInfo } from '../store/loadZoo.ts';
import type { SavedIndex } from '../store/indexFile.ts';
import type { ZooSource } from '../store/openZoo.ts';
import { factorWidth, TruncatedSVD } from '../reduce/svd.ts';
import { asZooSource, memoryFitOf, refuseUnfitSpaces } from '../reduce/zooMatrix.ts';
import { calibrate, SAMPLES_PER_PASS, type Calibration, type IndexedProducts } from './calibration.ts';
import {
  FLOAT32_ROUNDOFF,
  indexRowArray,
  type IndexRowArray,
  type SearchSpace,
  type Trajectory,
} from './trajectory.ts';
import { nullSampler } from './alignedSearch.ts';
import { SimdProducts } from '../reduce/simdProducts.ts';
import { StreamingProducts, streamedSvdMaxComponents } from '../reduce/streamingProducts.ts';
import { option, UserError } from '../core/errors.ts';
import { formatBytes } from '../util/memory.ts';
import { zooRowArray, zooRowIndex, type RowReader, type ZooRowArray } from '../core/zoo.ts';
import { simdThreads } from '../util/threads.ts';
import { dot, squaredDistance } from '../reduce/distances.ts';

export type { Calibration, Trajectory };

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
  /** Checkpoints whose distance to other runs calibrates the thresholds and p-values (default 1000). */
  calibrationSamples?: number;
  /**
   * Calibrate the p-values for identify's aligned search (default true for a zoo in memory
   * whose architecture has hidden-unit symmetries; alignedSearch.ts's nullSampler).
   */
  align?: boolean;
  /** Called as the build goes through its steps (SVD, projections, calibration). */
  onProgress?: (step: string, done: number, total: number) => void;
}

export const INDEX_DEFAULTS = { descendantEpochs: 5, calibrationSamples: 1000 } as const;
export const defaultComponents = (runs: number) => 2 * runs + 100;

/** What an index's search space is made of. */
interface SpaceParts {
  zoo: ZooInfo;
  /** The zoo's checkpoints by row: in memory, or read from the files of a zoo too large for it. */
  rows: RowReader;
  svd: TruncatedSVD;
  /** Projected checkpoints (rows of the trajectories' `at`), n x k float32. */
  coords: Float32Array;
  trajectories: Trajectory[];
  /** |x|^2 of every indexed zoo row (float64, by zoo row; NaN elsewhere), for distances from dot products. */
  sqNorm: Float64Array;
}

/**
 * The search space of an index: the projections and their bounds (trajectory.ts's
 * SearchSpace), without the calibration. The calibration is measured in it, then the index is
 * made from both.
 */
class IndexSpace implements SearchSpace {
  readonly zoo: ZooInfo;
  readonly rows: RowReader;
  readonly svd: TruncatedSVD;
  readonly coords: Float32Array;
  readonly trajectories: Trajectory[];
  readonly sqNorm: Float64Array;

  constructor(parts: SpaceParts) {
    ({
      zoo: this.zoo,
      rows: this.rows,
      svd: this.svd,
      coords: this.coords,
      trajectories: this.trajectories,
      sqNorm: this.sqNorm,
    } = parts);
    const { zoo, svd, coords, trajectories } = parts;
    const d = zoo.dim;
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
    this.basisProducts ??= new SimdProducts(matrix(Float32Array.from(this.svd.components), k, zoo.dim));
    // every core: the coordinates pass reads n x k floats, the bulk of a query (docs/identify.md, Query time)
    this.coordProducts ??= new SimdProducts(matrix(this.coords, this.coords.length / k, k), {
      threads: simdThreads('queryValues', this.coords.length),
      idle: 'sleep',
    });
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
}

export class ZooIndex extends IndexSpace {
  readonly calibration: Calibration;
  /** Seconds the build took (SVD, projections, calibration). */
  readonly buildSeconds: number;

  private constructor(parts: SpaceParts, calibration: Calibration, buildSeconds: number) {
    super(parts);
    this.calibration = calibration;
    this.buildSeconds = buildSeconds;
  }

  /**
   * Builds the index of a zoo (or of the runs and epochs selected in `options`), in memory or
   * streamed from its files (store/openZoo.ts). One set of products of the indexed rows serves
   * the SVD, the projections and the calibration: in memory, the rows are copied once into the
   * SIMD memory, run by run; streamed, every pass reads the files, and the index's rows are the
   * zoo's (all runs and epochs), with as many SVD components as its memory bound allows.
   */
  static build(input: Zoo | ZooSource, options: ZooIndexOptions = {}): ZooIndex {
    const start = performance.now();
    const source = asZooSource(input);
    const { zoo, rows } = source;
    const progress = options.onProgress ?? (() => {});
    const selected = selectedRuns(zoo, options);
    const whole = selected.length === zoo.runs && selected.every(([, e]) => e.length === zoo.epochs + 1);
    if (!source.weights && !whole)
      throw new UserError(
        `${option('runs')} and ${option('epochs')} select checkpoints of a zoo in memory; ${source.dir} is streamed from its files (raise ${option('memory')})`,
      );
    // the index's own rows: in memory run by run; streamed, the zoo's rows themselves
    let next = 0;
    const atOf = source.weights
      ? (zooRows: ZooRowArray) => indexRowArray(zooRows.map(() => next++))
      : (zooRows: ZooRowArray) => indexRowArray(zooRows);
    const sqNorm = new Float64Array(zoo.n).fill(NaN);
    const trajectories = selected.map(([r, epochList], i) => {
      progress('step lengths', i, selected.length);
      return measuredTrajectory(zoo, rows, r, epochList, atOf, sqNorm);
    });
    const d = zoo.dim;
    const n = source.weights ? next : zoo.n;
    const bound = source.weights ? Infinity : streamedSvdMaxComponents(source.memory, d);
    if (bound < 1)
      throw new UserError(
        `${source.dir}'s ${d} weights per checkpoint leave no room for an SVD within ${option('memory')} ${formatBytes(source.memory)}; raise ${option('memory')}`,
      );
    const k = Math.min(options.components ?? Math.min(defaultComponents(trajectories.length), bound), n, d);
    refuseUnfitSpaces(memoryFitOf(source), [k], 'components');
    const svd = new TruncatedSVD({ components: k });
    const width = Math.max(factorWidth(svd.options, n, d), k, SAMPLES_PER_PASS);
    const indexed = trajectories.flatMap((t) => [...t.rows]);
    const products = source.weights
      ? new SimdProducts(
          { rows: n, cols: d, row: (i) => rows.row(indexed[i]) },
          { maxColumns: width, threads: simdThreads('indexValues', n * d) },
        )
      : new StreamingProducts(source.blocks);
    try {
      const step = `SVD-${k} of ${n} x ${d}${source.weights ? '' : ', streamed'}`;
      progress(step, 0, 1);
      svd.fit(products);
      progress(step, 1, 1);
      const parts: SpaceParts = { zoo, rows, svd, coords: projectRows(svd, products), trajectories, sqNorm };
      const space = new IndexSpace(parts);
      try {
        const calibration = calibrate(space, products, {
          descendantEpochs: options.descendantEpochs ?? INDEX_DEFAULTS.descendantEpochs,
          samples: options.calibrationSamples ?? INDEX_DEFAULTS.calibrationSamples,
          onProgress: (done, total) => progress('calibration samples', done, total),
          ...nullSampler(space, (options.align ?? true) && rows.inMemory),
        });
        return new ZooIndex(parts, calibration, (performance.now() - start) / 1000);
      } finally {
        space.close();
      }
    } finally {
      products.close();
    }
  }

  /** The index as a value for its files (store/indexFile.ts's writeIndexFiles; a whole-zoo index). */
  toSaved(): SavedIndex<Calibration> {
    const n = this.coords.length / this.k;
    const run = new Int32Array(n);
    const epoch = new Int32Array(n);
    const sqNorm = new Float64Array(n);
    const stepSq = new Float64Array(n).fill(NaN);
    for (const t of this.trajectories)
      for (let i = 0; i < t.at.length; i++) {
        [run[t.at[i]], epoch[t.at[i]], sqNorm[t.at[i]]] = [t.run, t.epochs[i], this.sqNorm[t.rows[i]]];
        if (i + 1 < t.at.length) stepSq[t.at[i]] = t.segmentSq[i];
      }
    const { manifest, digest } = this.zoo;
    return {
      zoo: {
        name: manifest.name,
        epochsCompleted: manifest.epochsCompleted,
        config: manifest.config,
        digest,
      },
      calibration: this.calibration,
      seconds: this.buildSeconds,
      svd: this.svd.basis,
      run,
      epoch,
      coords: this.coords,
      k: this.k,
      sqNorm,
      stepSq,
    };
  }

  /**
   * The index of a zoo from its saved value (store/indexFile.ts's readIndexFiles, which is null
   * when the saved index is not current), its rows in memory or read from the files.
   */
  static fromSaved(saved: SavedIndex<Calibration>, input: Zoo | ZooSource): ZooIndex {
    const { zoo, rows } = asZooSource(input);
    const { run, epoch, stepSq } = saved;
    const byRun = new Map<number, number[]>();
    for (let i = 0; i < run.length; i++) {
      if (!byRun.has(run[i])) byRun.set(run[i], []);
      byRun.get(run[i])!.push(i);
    }
    const sqNorm = new Float64Array(zoo.n).fill(NaN);
    const trajectories = [...byRun].map(([r, at]): Trajectory => {
      for (const i of at) sqNorm[zooRowIndex(zoo.runs, r, epoch[i])] = saved.sqNorm[i];
      return savedTrajectory(
        zoo,
        r,
        Int32Array.from(at, (i) => epoch[i]),
        indexRowArray(at),
        Float64Array.from(at.slice(0, -1), (i) => stepSq[i]),
      );
    });
    const svd = TruncatedSVD.fromBasis(saved.svd);
    return new ZooIndex(
      { zoo, rows, svd, coords: saved.coords, trajectories, sqNorm },
      saved.calibration,
      saved.seconds,
    );
  }
}

/**
 * The projections V x of the indexed rows (not fitTransform's Q U Σ: identify's lower bounds
 * need projections), as float32 SIMD products; coordError bounds their rounding.
 */
function projectRows(svd: TruncatedSVD, products: IndexedProducts): Float32Array {
  return Float32Array.from(products.times(svd.components, svd.k));
}

/** The runs an index holds, each with its epochs (at least 2: a trajectory has a segment). */
function selectedRuns(zoo: ZooInfo, options: ZooIndexOptions): [number, Int32Array][] {
  const { runs = () => true, epochs = () => true } = options;
  const selected: [number, Int32Array][] = [];
  for (let r = 0; r < zoo.runs; r++) {
    if (!runs(r)) continue;
    const epochList = Int32Array.from({ length: zoo.epochs + 1 }, (_, e) => e).filter(epochs);
    if (epochList.length < 2)
      throw new UserError(
        `run ${r} has ${epochList.length} indexed checkpoint(s); a trajectory needs at least 2 epochs`,
      );
    selected.push([r, epochList]);
  }
  if (selected.length === 0) throw new UserError(`the index selects no runs (${option('runs')})`);
  return selected;
}

/**
 * A run's trajectory over the given epochs, its segments' squared lengths measured from the
 * rows (each read once), and its checkpoints' |x|^2 written into sqNorm (by zoo row).
 * `atOf` gives the checkpoints' rows in the index from their zoo rows.
 */
function measuredTrajectory(
  zoo: ZooInfo,
  rows: RowReader,
  run: number,
  epochs: Int32Array,
  atOf: (zooRows: ZooRowArray) => IndexRowArray,
  sqNorm: Float64Array,
): Trajectory {
  const zooRows = zooRowArray(Array.from(epochs, (e) => zooRowIndex(zoo.runs, run, e)));
  const segmentSq = new Float64Array(zooRows.length - 1);
  let previous: Float32Array | null = null;
  for (let i = 0; i < zooRows.length; i++) {
    const x = rows.row(zooRows[i]);
    sqNorm[zooRows[i]] = dot(x, 0, x, 0, zoo.dim);
    if (previous) segmentSq[i - 1] = squaredDistance(previous, 0, x, 0, zoo.dim);
    previous = x;
  }
  return { run, seed: zoo.seed[zooRows[0]], epochs, rows: zooRows, at: atOf(zooRows), segmentSq };
}

/** A run's trajectory as a saved index holds it: its segments' squared lengths stored, not measured. */
function savedTrajectory(
  zoo: ZooInfo,
  run: number,
  epochs: Int32Array,
  at: IndexRowArray,
  segmentSq: Float64Array,
): Trajectory {
  const rows = zooRowArray(Array.from(epochs, (e) => zooRowIndex(zoo.runs, run, e)));
  return { run, seed: zoo.seed[rows[0]], epochs, rows, at, segmentSq };
}
