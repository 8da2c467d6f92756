/**
 * A zoo's matrix as the SVD reads it, in memory or streamed from its files (store/openZoo.ts's
 * ZooSource), and the one memory check of an SVD streamed from them.
 */
import { option, UserError } from '../core/errors.ts';
import { matrix } from '../core/matrix.ts';
import { inMemorySource } from '../core/zoo.ts';
import type { Zoo } from '../store/loadZoo.ts';
import type { ZooSource } from '../store/openZoo.ts';
import { defaultMemory, formatBytes } from '../util/memory.ts';
import { simdThreads } from '../util/threads.ts';
import { SimdProducts } from './simdProducts.ts';
import { StreamingProducts, streamedSvdBytes, streamedSvdMaxComponents } from './streamingProducts.ts';
import type { RowProducts, SvdInput } from './svd.ts';

/** The source of a loaded zoo or of a source: what each analysis takes at its door. */
export const asZooSource = (zoo: Zoo | ZooSource): ZooSource =>
  'rows' in zoo ? zoo : inMemorySource(zoo, { dir: '', memory: defaultMemory() });

/** What decides whether an analysis fits the memory bound: the zoo's size, the bound, and whether the weights are loaded. */
export interface MemoryFit {
  dir: string;
  /** Weights per checkpoint. */
  dim: number;
  /** Bytes of all the zoo's weights. */
  weightBytes: number;
  memory: number;
  inMemory: boolean;
}

export const memoryFitOf = (source: ZooSource): MemoryFit => ({
  dir: source.dir,
  dim: source.zoo.dim,
  weightBytes: source.zoo.n * source.zoo.dim * 4,
  memory: source.memory,
  inMemory: source.weights !== null,
});

/**
 * Whether space k (0: the full weight space) can be analysed within the memory bound: any
 * space of a zoo in memory; of a streamed one, the SVD spaces whose factors fit.
 */
export const spaceFits = (fit: MemoryFit, k: number): boolean =>
  fit.inMemory || (k > 0 && streamedSvdBytes(k, fit.dim) <= fit.memory);

/**
 * The one refusal of spaces that do not fit the memory bound (the full space of a streamed zoo,
 * SVD spaces too wide to stream), named by the option field that asked for them (`field`).
 */
export function refuseUnfitSpaces(fit: MemoryFit, spaces: number[], field: string): void {
  const { dir, dim, memory } = fit;
  if (spaces.includes(0) && !spaceFits(fit, 0))
    throw new UserError(
      `${dir} holds ${formatBytes(fit.weightBytes)} of weights, more than ${option('memory')} ${formatBytes(memory)}; the full weight space needs them in memory: analyse it with ${option(field)} k (streamed from the files), or raise ${option('memory')}`,
    );
  const tooWide = spaces.filter((k) => !spaceFits(fit, k));
  if (tooWide.length)
    throw new UserError(
      `${option(field)} ${tooWide.join(',')} streamed from ${dir} needs about ${formatBytes(streamedSvdBytes(Math.max(...tooWide), dim))} for its factors (${dim} weights each), more than ${option('memory')} ${formatBytes(memory)}; choose k <= ${Math.max(0, streamedSvdMaxComponents(memory, dim))} or raise ${option('memory')}`,
    );
}

/** The weights of a source, which the full weight space needs in memory (asked for by option `field`). */
export function requireWeights(source: ZooSource, field: string): Float32Array {
  refuseUnfitSpaces(memoryFitOf(source), [0], field);
  return source.weights!;
}

/**
 * Products of the zoo's matrix for factors up to `maxColumns` wide, owned by the caller (who
 * passes them to each step and closes them): the weights copied once into the SIMD memory, or
 * passes over the files.
 */
export function zooProducts(source: ZooSource, maxColumns: number): RowProducts {
  const { n, dim } = source.zoo;
  return source.weights
    ? new SimdProducts(matrix(source.weights, n, dim), {
        maxColumns,
        threads: simdThreads('svdValues', n * dim),
      })
    : new StreamingProducts(source.blocks);
}

/**
 * Runs an SVD-k fit on the zoo's matrix: the weights themselves when in memory (so the SVD may
 * centre them), else streamed products, closed afterwards.
 */
export function withZooMatrix<T>(source: ZooSource, k: number, field: string, fit: (x: SvdInput) => T): T {
  const { n, dim } = source.zoo;
  if (source.weights) return fit(matrix(source.weights, n, dim));
  refuseUnfitSpaces(memoryFitOf(source), [k], field);
  const products = new StreamingProducts(source.blocks);
  try {
    return fit(products);
  } finally {
    products.close();
  }
}
