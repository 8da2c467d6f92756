/**
 * Library API: what the CLIs, notebooks and tests call.
 *
 *   import { trainZoo, presetConfig, loadZoo } from './src/index.ts';
 *   await trainZoo({ dir: 'zoo/cnn-mine', config: presetConfig('default', 'cnn', { seedCount: 10 }) });
 *   const zoo = loadZoo('zoo/cnn-mine'); // zoo.weights: checkpoints x weights, zoo.run / zoo.epoch labels
 */
import { ZooIndex, type Calibration } from './identify/zooIndex.ts';
import { readIndexFiles, writeIndexFiles } from './store/indexFile.ts';
import type { Zoo } from './store/loadZoo.ts';

export { loadMnist, type Mnist, type MnistOptions, type MnistSplit } from './data/mnist.ts';
export { toImageSet, type ImageSet } from './data/imageSet.ts';
export {
  ARCHITECTURES,
  CNN,
  FFNN,
  architecture,
  type Architecture,
  type ArchName,
  type ParamTensor,
} from './core/architectures.ts';
export {
  CNN_NETWORK,
  FFNN_NETWORK,
  NetworkError,
  networkArchitecture,
  networkShapes,
  networkTensors,
  type Layer,
  type Layout,
  type FlattenOrder,
  type Network,
} from './core/network.ts';
export { forward } from './train/forward.ts';
export { createModel } from './train/models/factory.ts';
export type { Model } from './train/models/model.ts';
export { kaimingNormal } from './train/init.ts';
export { LockstepTrainer, evaluateModel } from './train/lockstep.ts';
export {
  PRESETS,
  PRESET_NAMES,
  PAPER_HYPER,
  TUNED_HYPER,
  presetConfig,
  type PresetName,
} from './core/presets.ts';
export { Rng } from './core/rng.ts';
export { trainZoo, type TrainProgress, type TrainZooOptions, type TrainZooResult } from './train/trainZoo.ts';
export type { WriteEvent, WriteObserver } from './store/zooCommit.ts';
export { validateZooConfig, type ZooConfig } from './core/zooConfig.ts';
export { parseShard, shardConfig, shardFromEnv, shardRuns, type Shard } from './core/shards.ts';
export { mergeZooShards, type MergeShardsOptions, type MergeShardsResult } from './store/mergeShards.ts';
export { readCheckpointFile, writeCheckpointFile, type CheckpointRows } from './store/checkpointFile.ts';
export { checkpointWeights, zooRowIndex, type ZooRows } from './core/zoo.ts';
export { loadZoo, ZooIntegrityError, zooDigest, type LoadZooOptions, type Zoo } from './store/loadZoo.ts';
export { verifyZoo, formatFinding, type Finding, type VerifyReport } from './store/verifyZoo.ts';
export { readNpy } from './store/formats/npy.ts';
export { float16Bits, toFloat16 } from './util/float16.ts';
export { UserError, isUserError } from './core/errors.ts';
export { readManifest, checkpointPath, type ZooManifest } from './store/manifest.ts';
export { weightsSha256 } from './store/sha256.ts';
export { TruncatedSVD, SVD_DEFAULTS, type TruncatedSVDOptions } from './reduce/svd.ts';
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
} from './cluster/linkage.ts';
export { clusterPurity, epochOrder, type OrderResult, type PurityResult } from './cluster/metrics.ts';
export {
  clusterZoo,
  ORDER_BY,
  type ClusterOptions,
  type OrderBy,
  type SpaceResult,
} from './cluster/clusterZoo.ts';
export { clusterSweep, type SpaceSummary, type SweepOptions } from './pipeline/sweep.ts';
export {
  writeClusterReport,
  readClusterReport,
  currentClusterExports,
  PAPER_SPACES,
  type ClusterReport,
  type ClusterExports,
} from './pipeline/report.ts';
export type { LinkageExport } from './pipeline/spaceJob.ts';
export { embedCheckpoints, type ZooEmbedding } from './reduce/embed.ts';
export * as paths from './store/paths.ts';
export { ZooIndex, INDEX_DEFAULTS, type ZooIndexOptions, type Calibration } from './identify/zooIndex.ts';
export { readIndexFiles, writeIndexFiles, type SavedIndex } from './store/indexFile.ts';
export { readSvdFile, writeSvdFile, type SvdBasis } from './store/svdFile.ts';

/** The index identify saved beside a zoo, or null when there is none or it is not current for this zoo. */
export function loadZooIndex(dir: string, zoo: Zoo): ZooIndex | null {
  const saved = readIndexFiles<Calibration>(dir, zoo.manifest, zoo.digest);
  return saved && ZooIndex.fromSaved(saved, zoo);
}

/** Saves an index beside its zoo, as identify does (a later loadZooIndex or `npm run identify` reads it). */
export function saveZooIndex(dir: string, index: ZooIndex): void {
  writeIndexFiles(dir, index.toSaved());
}
export {
  identify,
  VERDICTS,
  FORK_ALPHA,
  type Identification,
  type IdentifyOptions,
  type Verdict,
} from './identify/identify.ts';
export { pValue } from './identify/calibration.ts';
export { evaluateIdentify, type Evaluation, type EvaluationRow } from './identify/evaluate.ts';
export { evaluationSets, evaluationPlan, FORK_SETTINGS } from './identify/evaluationSets.ts';
export {
  symmetriesOf,
  permuteUnits,
  scaleUnits,
  alignTo,
  disguisedCopy,
  type Symmetries,
} from './identify/symmetry.ts';
export {
  trainFurther,
  trainFurtherJobs,
  TASK_CHANGES,
  type TrainFurtherOptions,
  type TaskChange,
} from './train/trainFurther.ts';
export { readModel, modelFormat, MODEL_FORMATS, type ModelFormat } from './store/formats/readModel.ts';
export { exportModel, zooRow } from './store/formats/exportModel.ts';
export { umapEmbedding, UMAP_DEFAULTS, type UmapOptions } from './reduce/umap.ts';
export { plotZoo, PLOT_DEFAULTS, type PlotZooOptions, type PlotZooResult } from './plot/plotZoo.ts';
export { pageHtml, writePage, type Figure, type Page } from './plot/page.ts';
export { trajectoryFigure } from './plot/trajectories.ts';
export { dendrogramFigure, restrictLinkage } from './plot/dendrogram.ts';
export { weightStatsFigure, trainingCurvesFigure } from './plot/zooStatistics.ts';
export { sweepFigure } from './plot/sweep.ts';
export { findChromium, launchChromium, renderPage } from './plot/browser.ts';

// bring your own models: imported zoos, and zoos recorded during training elsewhere
export { defineArchitecture } from './core/architectures.ts';
export { importZoo, type ImportOptions, type ImportResult } from './store/importZoo.ts';
export { COMMON_LAYOUTS, planSource, layoutRegex } from './store/importSources.ts';
export { ZooWriter, type ZooWriterOptions, type CheckpointRecord } from './store/zooWriter.ts';
export { zooShape, type ZooOrigin, type RunInfo } from './store/manifest.ts';
export { zooRecorder, tfjsWeights, type ZooRecorderOptions } from './train/zooRecorder.ts';
export { tfjsArchitecture, tfjsNetwork } from './store/formats/tfjsNetwork.ts';
// zoos larger than memory: the randomized SVD streamed from the checkpoint files
export { StreamingProducts, type RowBlocks } from './reduce/streamingProducts.ts';
export { zooBlocks, type ZooBlocks } from './store/zooBlocks.ts';
export type { RowProducts } from './reduce/svd.ts';
