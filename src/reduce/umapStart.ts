/**
 * Where UMAP's optimisation starts. umap-learn's default (init='spectral') lays out each
 * connected piece of the neighbour graph on its own and places the pieces by where their
 * centroids lie (multi_component_layout); umap-js starts from uniform random points. With the
 * paper's 3 neighbours a zoo's graph falls apart into a few hundred pieces, about one per run:
 * from random points, 200 epochs leave the pieces tangled through each other; laid out apart,
 * each run stays together (Kobak & Linderman 2021, "Initialization is critical for preserving
 * global data structure in both t-SNE and UMAP"). bench/cluster.ts measures both.
 *
 * umap-learn's rules are kept: more than 2 x dims pieces are placed by their centroids, fewer
 * on the unit vectors and their negatives; each piece spans half the distance to the nearest
 * other piece; a piece too small to lay out (under 2 x dims points, or dims + 1) gets uniform
 * points in that span; the whole is scaled to a largest coordinate of 10 with Gaussian noise of
 * standard deviation 1e-4 (noisy_scale_coords). Where umap-learn takes eigenvectors (of the
 * centroids' affinities, of each piece's graph Laplacian), this takes principal components:
 * the centroids' own, and for every piece the data's global ones, about the piece's mean. Two
 * truncated SVDs in all, where a dense eigensolver costs O(m^3) for a piece of m points and the
 * sparse one umap-learn calls (ARPACK) is not at hand.
 */
import type { Matrix } from '../core/matrix.ts';
import type { Rng } from '../core/rng.ts';
import { maxComponents, TruncatedSVD } from './svd.ts';

/** The graph's edges as UMAP optimises them (umap.ts): both directions of each. */
interface Edges {
  head: Int32Array;
  tail: Int32Array;
}

/** The starting layout of the rows of x (rows x dims, row-major), piece by piece of the graph. */
export function piecewisePcaLayout(x: Matrix, graph: Edges, dims: number, rng: Rng): Float64Array {
  const { rows: n, cols: d } = x;
  if (maxComponents(n, d) < dims) return uniformLayout(n, dims, rng);
  const pieces = connectedPieces(n, graph);
  const places = piecePlaces(x, pieces, dims);
  const global = principalCoordinates(float32(x.data), n, d, dims);
  const y = new Float64Array(n * dims);
  pieces.forEach((members, p) => {
    const span = halfDistanceToNearest(places, p, pieces.length, dims);
    const m = members.length;
    const at = (i: number, c: number) => i * dims + c;
    if (m < 2 * dims || m <= dims + 1) {
      for (const i of members)
        for (let c = 0; c < dims; c++) y[at(i, c)] = places[at(p, c)] + span * (2 * rng.nextFloat() - 1);
      return;
    }
    const mean = new Float64Array(dims);
    for (const i of members) for (let c = 0; c < dims; c++) mean[c] += global[at(i, c)] / m;
    let largest = 0;
    for (const i of members)
      for (let c = 0; c < dims; c++) largest = Math.max(largest, Math.abs(global[at(i, c)] - mean[c]));
    const scale = largest > 0 ? span / largest : 0;
    for (const i of members)
      for (let c = 0; c < dims; c++) y[at(i, c)] = places[at(p, c)] + scale * (global[at(i, c)] - mean[c]);
  });
  return noisyScale(y, rng);
}

/** The connected pieces of the graph, each its rows in increasing order, pieces by their first row. */
export function connectedPieces(n: number, graph: Edges): number[][] {
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const root = (i: number) => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (let e = 0; e < graph.head.length; e++) {
    const [a, b] = [root(graph.head[e]), root(graph.tail[e])];
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  }
  const byRoot = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = root(i);
    const piece = byRoot.get(r);
    if (piece) piece.push(i);
    else byRoot.set(r, [i]);
  }
  return [...byRoot.values()];
}

/** Where each piece goes (pieces x dims), largest coordinate 1 (umap-learn's component_layout). */
function piecePlaces(x: Matrix, pieces: number[][], dims: number): Float64Array {
  const count = pieces.length;
  const places = new Float64Array(count * dims);
  if (count === 1) return places;
  const d = x.cols;
  if (count <= 2 * dims || maxComponents(count, d) < dims) {
    // umap-learn: the unit vectors, then their negatives
    const half = Math.ceil(count / 2);
    for (let p = 0; p < count; p++) places[p * dims + (p % half)] = p < half ? 1 : -1;
    return places;
  }
  const centroids = new Float32Array(count * d);
  pieces.forEach((members, p) => {
    const sum = new Float64Array(d);
    for (const i of members) for (let j = 0; j < d; j++) sum[j] += x.data[i * d + j];
    for (let j = 0; j < d; j++) centroids[p * d + j] = sum[j] / members.length;
  });
  const coords = principalCoordinates(centroids, count, d, dims);
  const largest = coords.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
  return largest > 0 ? coords.map((v) => v / largest) : coords;
}

/** Half the distance from piece p's place to the nearest other place apart from it (1 if none). */
function halfDistanceToNearest(places: Float64Array, p: number, count: number, dims: number): number {
  let nearest = Infinity;
  for (let q = 0; q < count; q++) {
    let s = 0;
    for (let c = 0; c < dims; c++) s += (places[p * dims + c] - places[q * dims + c]) ** 2;
    if (s > 0 && s < nearest) nearest = s;
  }
  return nearest === Infinity ? 1 : Math.sqrt(nearest) / 2;
}

/** The rows' coordinates on their top `dims` principal components (m x dims). */
function principalCoordinates(rows: Float32Array, m: number, d: number, dims: number): Float64Array {
  return new TruncatedSVD({ components: dims, center: true }).fitTransform({ data: rows, rows: m, cols: d });
}

/** umap-learn's noisy_scale_coords: largest coordinate 10, plus N(0, 1e-4^2) noise that parts equal rows. */
function noisyScale(y: Float64Array, rng: Rng): Float64Array {
  const largest = y.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
  const scale = largest > 0 ? 10 / largest : 0;
  return y.map((v) => v * scale + 1e-4 * rng.nextNormal());
}

/** umap-js's start: uniform in [-10, 10) per coordinate. */
export function uniformLayout(n: number, dims: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: n * dims }, () => rng.nextFloat() * 20 - 10);
}

const float32 = (data: Float32Array | Float64Array): Float32Array =>
  data instanceof Float32Array ? data : Float32Array.from(data);
