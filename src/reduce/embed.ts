/**
 * The low-dimensional views of a zoo that the trajectory plots draw: its truncated-SVD
 * coordinates, and UMAP embeddings of the full weight space and of the SVD coordinates.
 */
import { matrix } from '../core/matrix.ts';
import type { Zoo } from '../store/loadZoo.ts';
import type { ZooSource } from '../store/openZoo.ts';
import { maxComponents, TruncatedSVD } from './svd.ts';
import { asZooSource, withZooMatrix } from './zooMatrix.ts';
import { umapEmbedding } from './umap.ts';

export interface EmbedOptions {
  /** SVD components (clamped to the matrix). */
  k: number;
  /** UMAP seed. */
  seed: number;
  /** UMAP optimisation epochs (default: by the number of points, reduce/umap.ts defaultEpochs). */
  umapEpochs?: number;
  /** Progress of each UMAP: a step name, then epochs done of total. */
  onProgress?: (step: string, done: number, total: number) => void;
}

export interface ZooEmbedding {
  /** SVD components used. */
  k: number;
  /** U Σ of the truncated SVD (not centred), n x k row-major. */
  svd: Float64Array;
  /** UMAP of the full weight space (null for a zoo streamed from its files) and of the SVD coordinates, n x 2 each. */
  umapFull: Float64Array | null;
  umapSvd: Float64Array;
}

/**
 * Embeds a zoo's checkpoints: SVD-k and its UMAP, and the UMAP of the full weight space when
 * the weights are in memory (a zoo streamed from its files has none: umapFull is null).
 */
export function embedZoo(zoo: Zoo | ZooSource, options: EmbedOptions): ZooEmbedding {
  const source = asZooSource(zoo);
  const { n, dim: d } = source.zoo;
  const k = Math.min(options.k, maxComponents(n, d));
  const svd = withZooMatrix(source, k, 'k', (x) => new TruncatedSVD({ components: k }).fitTransform(x));
  const umap = umapOf(n, options);
  return {
    k,
    svd,
    umapFull: source.weights && umap(source.weights, d, 'UMAP, full space'),
    umapSvd: umap(svd, k, `UMAP, SVD-${k}`),
  };
}

function umapOf(n: number, options: EmbedOptions) {
  const progress = options.onProgress ?? (() => {});
  return (data: Float32Array | Float64Array, dim: number, step: string) => {
    progress(`${step}, neighbour graph`, 0, 1); // the neighbour graph comes before the epochs are known
    return umapEmbedding(matrix(data, n, dim), {
      seed: options.seed,
      nEpochs: options.umapEpochs,
      onProgress: (done, total) => progress(step, done, total),
    });
  };
}
