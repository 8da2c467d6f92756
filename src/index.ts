/**
 * Library API: what the CLIs, notebooks and tests call.
 *
 *   import { trainZoo, presetConfig, loadZoo } from './src/index.ts';
 *   await trainZoo({ dir: 'zoo/cnn-mine', config: presetConfig('default', 'cnn', { seedCount: 10 }) });
 *   const zoo = loadZoo('zoo/cnn-mine'); // zoo.weights: checkpoints x weights, zoo.run / zoo.epoch labels
 */
export { loadMnist, type Mnist, type MnistOptions, type MnistSplit } from './data/mnist.ts';
export { toImageSet, type ImageSet } from './data/imageSet.ts';
export { ARCHITECTURES, CNN, FFNN, architecture, type Architecture, type ArchName, type ParamTensor } from './nn/architectures.ts';
export { createKernel, type Kernel } from './nn/kernel.ts';
export { kaimingNormal } from './nn/init.ts';
export { LockstepTrainer, evaluateModel } from './nn/lockstep.ts';
export { PRESETS, PRESET_NAMES, PAPER_HYPER, TUNED_HYPER, presetConfig, type PresetName } from './nn/presets.ts';
export { Rng } from './nn/rng.ts';
export { trainZoo, type TrainProgress, type TrainZooOptions, type TrainZooResult } from './nn/trainZoo.ts';
export type { WriteEvent, WriteObserver } from './store/zooCommit.ts';
export { validateZooConfig, type ZooConfig } from './nn/zooConfig.ts';
export { readCheckpointFile, writeCheckpointFile, type CheckpointRows } from './store/checkpointFile.ts';
export { loadZoo, ZooIntegrityError, zooDigest, type LoadZooOptions, type Zoo } from './store/loadZoo.ts';
export { verifyZoo, formatFinding, type Finding, type VerifyReport } from './store/verifyZoo.ts';
export { readNpy } from './store/npy.ts';
export { float16Bits, toFloat16 } from './store/float16.ts';
export { UserError, isUserError } from './core/errors.ts';
export { readManifest, checkpointPath, type ZooManifest } from './store/manifest.ts';
export { weightsSha256 } from './store/sha256.ts';
export { TruncatedSVD, SVD_DEFAULTS, type TruncatedSVDOptions } from './analysis/svd.ts';
export { singleLinkage, minimumSpanningTree, cutTree, joinHeights, linkageFromTree, type Linkage, type LinkageOptions, type ExactPoints, type SpanningTree } from './analysis/linkage.ts';
export { clusterPurity, epochOrder, type OrderResult, type PurityResult } from './analysis/metrics.ts';
export { clusterZoo, ORDER_BY, type ClusterOptions, type OrderBy, type SpaceResult } from './analysis/clusterZoo.ts';
export { clusterSweep, type SpaceSummary, type SweepOptions } from './analysis/clusterSweep.ts';
export { ZooIndex, INDEX_DEFAULTS, type ZooIndexOptions, type Calibration } from './analysis/zooIndex.ts';
export { identify, VERDICTS, type Identification, type IdentifyOptions, type Verdict } from './analysis/identify.ts';
export { evaluateIdentify, type EvaluationRow } from './analysis/evaluateIdentify.ts';
export { trainFurther } from './nn/trainFurther.ts';
export { readModel, modelFormat, MODEL_FORMATS, type ModelFormat } from './store/readModel.ts';
export { exportModel, zooRow } from './store/exportModel.ts';
export { umapEmbedding, UMAP_DEFAULTS, type UmapOptions } from './analysis/umap.ts';
export { plotZoo, PLOT_DEFAULTS, type PlotZooOptions, type PlotZooResult } from './plot/plotZoo.ts';
export { pageHtml, writePage, type Figure, type Page } from './plot/page.ts';
export { trajectoryFigure } from './plot/trajectories.ts';
export { dendrogramFigure, restrictLinkage } from './plot/dendrogram.ts';
export { weightStatsFigure, trainingCurvesFigure } from './plot/zooStatistics.ts';
export { sweepFigure } from './plot/sweep.ts';
export { findChromium, launchChromium, renderPage } from './plot/browser.ts';
