/**
 * The low-dimensional views of a zoo that the trajectory plots draw: its truncated-SVD
 * coordinates, and UMAP embeddings of the full weight space and of the SVD coordinates.
 */
import { TruncatedSVD, type RowProducts } from './svd.ts';
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

/** Embeds the n checkpoints of x (n x d, row-major). */
export function embedCheckpoints(x: Float32Array, n: number, d: number, options: EmbedOptions): ZooEmbedding {
  const k = Math.min(options.k, n, d);
  const svd = new TruncatedSVD({ components: k }).fitTransform(x, n, d);
  const umap = umapOf(n, options);
  return { k, svd, umapFull: umap(x, d, 'UMAP, full space'), umapSvd: umap(svd, k, `UMAP, SVD-${k}`) };
}

/**
 * Embeds the n checkpoints of an X reached only through its products (a zoo larger than
 * memory, streamed from its files): the SVD coordinates and their UMAP; no UMAP of the full space.
 */
export function embedStreamed(
  products: RowProducts,
  n: number,
  d: number,
  options: EmbedOptions,
): ZooEmbedding {
  const k = Math.min(options.k, n, d);
  const svd = new TruncatedSVD({ components: k }).fitProducts(products, n, d);
  return { k, svd, umapFull: null, umapSvd: umapOf(n, options)(svd, k, `UMAP, SVD-${k}`) };
}

function umapOf(n: number, options: EmbedOptions) {
  const progress = options.onProgress ?? (() => {});
  return (data: Float32Array | Float64Array, dim: number, step: string) => {
    progress(`${step}, neighbour graph`, 0, 1); // the neighbour graph comes before the epochs are known
    return umapEmbedding(data, n, dim, {
      seed: options.seed,
      nEpochs: options.umapEpochs,
      onProgress: (done, total) => progress(step, done, total),
    });
  };
}
