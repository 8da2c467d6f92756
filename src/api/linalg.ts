/** The maths behind the entry points: linkage and its metrics, the SVD's and UMAP's defaults, streamed products, embeddings. */
export {
  singleLinkage,
  minimumSpanningTree,
  cutTree,
  joinHeights,
  linkageFromTree,
  type Linkage,
  type LinkageOptions,
  type ExactPoints,
  type SpanningTree,
} from '../cluster/linkage.ts';
export { clusterPurity, epochOrder, type OrderResult, type PurityResult } from '../cluster/metrics.ts';
export { ORDER_BY } from '../cluster/clusterZoo.ts';
export { SVD_DEFAULTS, factorWidth, type RowProducts, type SvdInput } from '../reduce/svd.ts';
export { matrix, type Matrix } from '../core/matrix.ts';
export { zooProducts, withZooMatrix } from '../reduce/zooMatrix.ts';
export { UMAP_DEFAULTS } from '../reduce/umap.ts';
export { StreamingProducts, type RowBlocks } from '../reduce/streamingProducts.ts';
export { embedZoo, type ZooEmbedding } from '../reduce/embed.ts';
