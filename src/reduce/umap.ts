/**
 * UMAP embeddings of checkpoints (umap-js), with the paper's settings as defaults: 3
 * neighbours and minimum distance 0.3 (Schürholt & Borth, section 4), seeded through the
 * toolkit's own generator so the same seed gives the same picture.
 */
import { UMAP } from 'umap-js';
import { Rng } from '../core/rng.ts';
import { UserError } from '../core/errors.ts';

export interface UmapOptions {
  /** Neighbours of each point in the graph (default 3, the paper's). */
  nNeighbors?: number;
  /** Minimum distance between embedded points (default 0.3, the paper's). */
  minDist?: number;
  /** Output dimensions (default 2). */
  nComponents?: number;
  /** Optimisation epochs (default: umap-js's choice, 500 below 10,000 points, else 200). */
  nEpochs?: number;
  seed?: number;
  /** Called once the neighbour graph is built (done 0) and every 10 epochs. */
  onProgress?: (done: number, total: number) => void;
}

export const UMAP_DEFAULTS = { nNeighbors: 3, minDist: 0.3, nComponents: 2, seed: 0 } as const;

/** Embeds the n rows of x (n x d, row-major) into n x nComponents (row-major float64). */
export function umapEmbedding(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  options: UmapOptions = {},
): Float64Array {
  const {
    nNeighbors = UMAP_DEFAULTS.nNeighbors,
    minDist = UMAP_DEFAULTS.minDist,
    nComponents = UMAP_DEFAULTS.nComponents,
    seed = UMAP_DEFAULTS.seed,
  } = options;
  if (n <= nNeighbors)
    throw new UserError(`UMAP with ${nNeighbors} neighbours needs more than ${nNeighbors} points, got ${n}`);
  const rng = new Rng(seed, 0x75);
  const umap = new UMAP({
    nNeighbors,
    minDist,
    nComponents,
    nEpochs: options.nEpochs,
    random: () => rng.nextFloat(),
  });
  const rows = Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));
  const epochs = umap.initializeFit(rows);
  options.onProgress?.(0, epochs);
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if ((e + 1) % 10 === 0 || e + 1 === epochs) options.onProgress?.(e + 1, epochs);
  }
  const out = new Float64Array(n * nComponents);
  umap.getEmbedding().forEach((p, i) => out.set(p, i * nComponents));
  return out;
}
