/**
 * A zoo's matrix as the SVD reads it, in memory or streamed from its files (store/openZoo.ts's
 * ZooSource), and the one memory check of an SVD streamed from them.
 */
import { UserError } from '../core/errors.ts';
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

/** The weights of a source that must be in memory for `what` (e.g. 'the full weight space'); the one refusal. */
export function requireWeights(source: ZooSource, what: string): Float32Array {
  if (source.weights) return source.weights;
  const { zoo, dir, memory } = source;
  throw new UserError(
    `${what} needs the zoo's weights in memory; ${dir} holds ${formatBytes(zoo.n * zoo.dim * 4)} of them, more than memory ${formatBytes(memory)}: raise memory, or analyse an SVD space (streamed from the files)`,
  );
}

/**
 * Whether space k (0: the full weight space) can be analysed within the source's memory bound:
 * any space of a zoo in memory; of a streamed one, the SVD spaces whose factors fit.
 */
export const spaceFits = (source: ZooSource, k: number): boolean =>
  source.weights !== null || (k > 0 && streamedSvdBytes(k, source.zoo.dim) <= source.memory);

/** SVD-k of a streamed zoo must fit its factors within the source's memory bound; one in memory always may. */
export function checkStreamedComponents(source: ZooSource, k: number): void {
  const { zoo, memory } = source;
  if (spaceFits(source, k)) return;
  throw new UserError(
    `SVD-${k} streamed from ${source.dir} needs about ${formatBytes(streamedSvdBytes(k, zoo.dim))} for its factors (${zoo.dim} weights each), more than memory ${formatBytes(memory)}; choose components <= ${Math.max(0, streamedSvdMaxComponents(memory, zoo.dim))} or raise memory`,
  );
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
export function withZooMatrix<T>(source: ZooSource, k: number, fit: (x: SvdInput) => T): T {
  const { n, dim } = source.zoo;
  if (source.weights) return fit(matrix(source.weights, n, dim));
  checkStreamedComponents(source, k);
  const products = new StreamingProducts(source.blocks);
  try {
    return fit(products);
  } finally {
    products.close();
  }
}
