/**
 * UMAP embeddings of checkpoints (McInnes, Healy & Melville 2018), with the paper's settings as
 * defaults: 3 neighbours and minimum distance 0.3 (Schürholt & Borth, section 4), seeded through
 * the toolkit's own generator so the same seed gives the same picture.
 *
 * The algorithm is umap-js's (and so the reference Python package's): fuzzy simplicial set
 * from the k nearest neighbours, an initial layout, stochastic gradient descent with
 * negative sampling. It differs in how it gets there: exact neighbours from the SIMD products
 * (knn.ts) where umap-js runs NN-descent and also builds a search graph for `transform`, and
 * every array typed and flat, where umap-js keeps arrays of arrays and a sparse-matrix class.
 * The optimisation starts from each piece of the graph laid out apart (umapStart.ts), as
 * umap-learn's does, rather than from umap-js's random points.
 */
import type { Matrix } from '../core/matrix.ts';
import { Rng } from '../core/rng.ts';
import { UserError } from '../core/errors.ts';
import { nearestNeighbours, type Neighbours } from './knn.ts';
import { reserve, simdKernels } from '../simd/kernels.ts';
import { piecewisePcaLayout, uniformLayout } from './umapStart.ts';

export interface UmapOptions {
  /** Neighbours of each point in the graph, the point itself included (default 3, the paper's). */
  nNeighbors?: number;
  /** Minimum distance between embedded points (default 0.3, the paper's). */
  minDist?: number;
  /** Output dimensions (default 2). */
  nComponents?: number;
  /** Starting layout: each piece of the graph by its principal components, placed apart (default 'pca', umapStart.ts), or umap-js's uniform random points. */
  init?: 'pca' | 'random';
  /** Optimisation epochs (default: umap-js's choice: 500 up to 2,500 points, 400, 300, and 200 above 7,500). */
  nEpochs?: number;
  seed?: number;
  /** Called once the neighbour graph is built (done 0) and every 10 epochs. */
  onProgress?: (done: number, total: number) => void;
}

export const UMAP_DEFAULTS = { nNeighbors: 3, minDist: 0.3, nComponents: 2, init: 'pca', seed: 0 } as const;

/** umap-js's (and UMAP's) fixed settings. */
const SPREAD = 1;
const NEGATIVE_SAMPLE_RATE = 5;
const LEARNING_RATE = 1;
const REPULSION = 1;
const GRADIENT_CLIP = 4;
const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/** Embeds the rows of x into rows x nComponents (row-major float64). */
export function umapEmbedding(x: Matrix, options: UmapOptions = {}): Float64Array {
  const n = x.rows;
  const {
    nNeighbors = UMAP_DEFAULTS.nNeighbors,
    minDist = UMAP_DEFAULTS.minDist,
    nComponents = UMAP_DEFAULTS.nComponents,
    init = UMAP_DEFAULTS.init,
    seed = UMAP_DEFAULTS.seed,
  } = options;
  if (n <= nNeighbors)
    throw new UserError(`UMAP with ${nNeighbors} neighbours needs more than ${nNeighbors} points, got ${n}`);
  const rng = new Rng(seed, 0x75);
  const nEpochs = options.nEpochs ?? defaultEpochs(n);
  const graph = fuzzySimplicialSet(nearestNeighbours(x, nNeighbors), n, nEpochs);
  options.onProgress?.(0, nEpochs);
  const embedding =
    init === 'pca' ? piecewisePcaLayout(x, graph, nComponents, rng) : uniformLayout(n, nComponents, rng);
  optimizeLayout(
    embedding,
    nComponents,
    graph,
    curveParameters(SPREAD, minDist),
    nEpochs,
    rng,
    options.onProgress,
  );
  return embedding;
}

/** umap-js's default number of epochs for n points. */
export const defaultEpochs = (n: number): number =>
  n <= 2500 ? 500 : n <= 5000 ? 400 : n <= 7500 ? 300 : 200;

/** The graph's edges, each undirected edge once in each direction, as UMAP optimises them. */
export interface UmapGraph {
  head: Int32Array;
  tail: Int32Array;
  /** Membership strength of each edge, in (0, 1]. */
  weight: Float64Array;
}

/**
 * Each point's fuzzy neighbourhood (smooth kNN distances: rho, the nearest distance, and sigma
 * with sum_j exp(-(d_j - rho)/sigma) = log2 k), joined by the fuzzy union a + b - ab; edges
 * weaker than max/nEpochs are dropped (they would never be sampled).
 */
export function fuzzySimplicialSet(knn: Neighbours, n: number, nEpochs: number): UmapGraph {
  const { k, indices, distances } = knn;
  const { sigmas, rhos } = smoothKnnDistances(distances, n, k);
  const directed = new Map<number, number>(); // i * n + j -> membership of j in i's neighbourhood
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      const other = indices[i * k + j];
      if (other === i) continue;
      const excess = distances[i * k + j] - rhos[i];
      directed.set(i * n + other, excess <= 0 ? 1 : Math.exp(-excess / sigmas[i]));
    }
  }
  const edges: [number, number, number][] = [];
  for (const [key, v] of directed) {
    const i = Math.floor(key / n);
    const j = key - i * n;
    const back = directed.get(j * n + i);
    if (back === undefined) edges.push([i, j, v], [j, i, v]);
    else if (i < j) {
      const w = v + back - v * back;
      edges.push([i, j, w], [j, i, w]);
    }
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const max = edges.reduce((m, e) => Math.max(m, e[2]), 0);
  const kept = edges.filter((e) => e[2] >= max / nEpochs);
  return {
    head: Int32Array.from(kept, (e) => e[1]),
    tail: Int32Array.from(kept, (e) => e[0]),
    weight: Float64Array.from(kept, (e) => e[2]),
  };
}

/** UMAP's smooth_knn_dist: rho and sigma of each point by binary search (umap-js's constants). */
export function smoothKnnDistances(
  distances: Float64Array,
  n: number,
  k: number,
): { sigmas: Float64Array; rhos: Float64Array } {
  const target = Math.log2(k);
  const sigmas = new Float64Array(n);
  const rhos = new Float64Array(n);
  let meanAll = 0;
  for (let i = 0; i < n * k; i++) meanAll += distances[i];
  meanAll /= n * k;
  for (let i = 0; i < n; i++) {
    const row = distances.subarray(i * k, (i + 1) * k);
    const firstPositive = row.find((v) => v > 0);
    rhos[i] = firstPositive ?? 0; // local connectivity 1: the nearest non-zero distance
    let lo = 0;
    let hi = Infinity;
    let mid = 1;
    for (let iter = 0; iter < 64; iter++) {
      let psum = 0;
      for (let j = 1; j < k; j++) {
        const excess = row[j] - rhos[i];
        psum += excess > 0 ? Math.exp(-excess / mid) : 1;
      }
      if (Math.abs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = hi === Infinity ? mid * 2 : (lo + hi) / 2;
      }
    }
    const meanRow = row.reduce((s, v) => s + v, 0) / k;
    sigmas[i] = Math.max(mid, MIN_K_DIST_SCALE * (rhos[i] > 0 ? meanRow : meanAll));
  }
  return { sigmas, rhos };
}

/**
 * a and b of the embedding's similarity 1 / (1 + a d^(2b)), least-squares fitted to
 * exp(-(d - minDist) / spread) beyond minDist and 1 below it, on 300 points of [0, 3 spread]
 * (UMAP's find_ab_params), by Levenberg-Marquardt from (1, 1).
 */
export function curveParameters(spread: number, minDist: number): { a: number; b: number } {
  const xs = Array.from({ length: 300 }, (_, i) => (i * 3 * spread) / 299);
  const ys = xs.map((x) => (x < minDist ? 1 : Math.exp(-(x - minDist) / spread)));
  const loss = (a: number, b: number) =>
    xs.reduce((s, x, i) => s + (1 / (1 + a * x ** (2 * b)) - ys[i]) ** 2, 0);
  let [a, b] = [1, 1];
  let lambda = 1e-3;
  let current = loss(a, b);
  for (let iter = 0; iter < 200; iter++) {
    // normal equations J^T J + lambda diag(J^T J), J the residuals' derivatives in a and b
    let [jaa, jab, jbb, ga, gb] = [0, 0, 0, 0, 0];
    xs.forEach((x, i) => {
      if (x === 0) return;
      const p = x ** (2 * b);
      const f = 1 / (1 + a * p);
      const r = f - ys[i];
      const da = -p * f * f;
      const db = -a * p * 2 * Math.log(x) * f * f;
      [jaa, jab, jbb, ga, gb] = [jaa + da * da, jab + da * db, jbb + db * db, ga + da * r, gb + db * r];
    });
    const [m11, m22] = [jaa * (1 + lambda), jbb * (1 + lambda)];
    const det = m11 * m22 - jab * jab;
    const stepA = -(m22 * ga - jab * gb) / det;
    const stepB = -(m11 * gb - jab * ga) / det;
    const next = loss(a + stepA, b + stepB);
    if (next < current) {
      const converged = current - next < 1e-15 * Math.max(1, current);
      [a, b, current, lambda] = [a + stepA, b + stepB, next, lambda / 10];
      if (converged) break;
    } else if ((lambda *= 10) > 1e10) break;
  }
  return { a, b };
}

/**
 * UMAP's SGD (optimize_layout_euclidean, as umap-js steps it): each edge is sampled in
 * proportion to its weight, pulls its ends together and pushes its head from
 * NEGATIVE_SAMPLE_RATE random points (drawn from `rng`, which goes on from where the kernel
 * stopped); the learning rate falls linearly to 0. Each epoch is the kernel umapEpoch
 * (simd/kernels.wat), where x^b costs a fraction of Math.pow's.
 */
export function optimizeLayout(
  y: Float64Array,
  dims: number,
  graph: UmapGraph,
  { a, b }: { a: number; b: number },
  nEpochs: number,
  rng: Rng,
  onProgress?: (done: number, total: number) => void,
): void {
  const m = graph.head.length;
  const n = y.length / dims;
  const kernels = simdKernels();
  const at = reserve(kernels, { y: y.byteLength, head: 4 * m, tail: 4 * m, schedule: 4 * 8 * m, rng: 16 });
  const f64 = (offset: number, length: number) => new Float64Array(kernels.memory.buffer, offset, length);
  const i32 = (offset: number, length: number) => new Int32Array(kernels.memory.buffer, offset, length);
  f64(at.y, y.length).set(y);
  i32(at.head, m).set(graph.head);
  i32(at.tail, m).set(graph.tail);
  // epochs per sample, per negative sample, epoch of the next sample, of the next negative sample
  const maxWeight = graph.weight.reduce((s, w) => Math.max(s, w), 0);
  const perSample = Float64Array.from(graph.weight, (w) => maxWeight / w);
  const perNegative = perSample.map((e) => e / NEGATIVE_SAMPLE_RATE);
  const schedule = f64(at.schedule, 4 * m);
  [perSample, perNegative, perSample, perNegative].forEach((part, i) => schedule.set(part, i * m));
  const state = i32(at.rng, 4);
  rng.saveState(state);
  for (let epoch = 0; epoch < nEpochs; epoch++) {
    const alpha = LEARNING_RATE * (1 - epoch / nEpochs);
    kernels.run('umapEpoch', {
      y: at.y,
      n,
      dims,
      head: at.head,
      tail: at.tail,
      m,
      sched: at.schedule,
      a,
      b,
      gamma: REPULSION,
      clip: GRADIENT_CLIP,
      epoch,
      alpha,
      rng: at.rng,
    });
    if ((epoch + 1) % 10 === 0 || epoch + 1 === nEpochs) onProgress?.(epoch + 1, nEpochs);
  }
  rng.loadState(state);
  y.set(f64(at.y, y.length));
}
