/**
 * The building blocks: MNIST, the row layout, architectures and networks, the engine and its
 * models, further training, identify's symmetries, calibration and evaluation, the cluster
 * sweep and its report, and the figures, pages and browser of the plots.
 */
export { loadMnist, type Mnist, type MnistOptions, type MnistSplit } from '../data/mnist.ts';
export { toImageSet, type ImageSet } from '../data/imageSet.ts';
export { Rng } from '../core/rng.ts';
export { isUserError, option, OptionNote } from '../core/errors.ts';
export { streamZoo, zooSource, weightsFit } from '../store/openZoo.ts';
export { checkpointWeights, zooRowIndex, type ZooRows } from '../core/zoo.ts';
export { ARCHITECTURES, CNN, FFNN, architecture } from '../core/architectures.ts';
export {
  CNN_NETWORK,
  FFNN_NETWORK,
  NetworkError,
  networkArchitecture,
  networkShapes,
  networkTensors,
} from '../core/network.ts';
export { PRESETS, PRESET_NAMES, PAPER_HYPER, TUNED_HYPER } from '../core/presets.ts';
export { validateZooConfig } from '../core/zooConfig.ts';
export { parseShard, shardConfig, shardFromEnv, shardRuns, type Shard } from '../core/shards.ts';
export type { WriteEvent, WriteObserver } from '../store/zooCommit.ts';
export { forward } from '../train/forward.ts';
export { createModel } from '../train/models/factory.ts';
export type { Model } from '../train/models/model.ts';
export { kaimingNormal } from '../train/init.ts';
export { LockstepTrainer, evaluateModel } from '../train/lockstep.ts';
export {
  trainFurther,
  trainFurtherJobs,
  TASK_CHANGES,
  type TrainFurtherOptions,
  type TaskChange,
} from '../train/trainFurther.ts';
export { tfjsTrainFurther, tfjsModelOf } from '../train/tfjsFurther.ts';
export { INDEX_DEFAULTS } from '../identify/zooIndex.ts';
export { VERDICTS, FORK_ALPHA } from '../identify/identify.ts';
export { pValue } from '../identify/calibration.ts';
export { evaluateIdentify, type Evaluation, type EvaluationRow } from '../identify/evaluate.ts';
export { evaluationSets, evaluationPlan, FORK_SETTINGS } from '../identify/evaluationSets.ts';
export {
  symmetriesOf,
  permuteUnits,
  scaleUnits,
  alignTo,
  disguisedCopy,
  type Symmetries,
} from '../identify/symmetry.ts';
export { clusterSweep, type SpaceSummary, type SweepOptions } from '../pipeline/sweep.ts';
export {
  writeClusterReport,
  readClusterReport,
  currentClusterExports,
  PAPER_SPACES,
  type ClusterReport,
  type ClusterExports,
} from '../pipeline/report.ts';
export type { LinkageExport } from '../pipeline/spaceJob.ts';
export { PLOT_DEFAULTS } from '../plot/plotZoo.ts';
export { pageHtml, writePage, type Figure, type Page } from '../plot/page.ts';
export { trajectoryFigure } from '../plot/trajectories.ts';
export { dendrogramFigure, restrictLinkage } from '../plot/dendrogram.ts';
export { weightStatsFigure, trainingCurvesFigure } from '../plot/zooStatistics.ts';
export { sweepFigure } from '../plot/sweep.ts';
export { findChromium, launchChromium, renderPage } from '../plot/browser.ts';
// version control: references, history, tags (docs/vc.md)
export { openCatalog, zooDirsUnder, type Catalog, type CatalogZoo } from '../store/catalog.ts';
export {
  resolveRef,
  resolveCheckpoint,
  parentLink,
  describeRef,
  type CheckpointRef,
  type Resolved,
} from '../store/refs.ts';
export { readTags, addTag, deleteTag, type Tag, type Tags } from '../store/tags.ts';
export {
  zooLog,
  zooLogEntries,
  showCheckpoint,
  tagCheckpoint,
  untag,
  listTags,
  type LogEntry,
  type CheckpointShow,
} from '../pipeline/history.ts';
export { weightProfile, moments, type TensorProfile, type Moments } from '../reduce/profile.ts';
export { searchCatalog, type SearchEntry, type SearchOptions } from '../pipeline/search.ts';
export { compileQuery, QueryError } from '../pipeline/query.ts';
export { diffCheckpoints, type DiffResult } from '../pipeline/diff.ts';
export { diffPage } from '../plot/diffPage.ts';
export { forkCheckpoint } from '../pipeline/fork.ts';
export {
  zooLineage,
  lineageDot,
  type Lineage,
  type LineageNode,
  type LineageEdge,
} from '../pipeline/lineage.ts';
export { lineageHtml } from '../plot/lineagePage.ts';
export { recordInferredLink, readInferredLinks } from '../store/inferredLinks.ts';
// provenance from weights alone, and family trees of a bag of models (docs/provenance.md)
export {
  provenance,
  sharedView,
  PROVENANCE_DEFAULTS,
  type ModelWeights,
  type Provenance,
  type ProvenanceOptions,
} from '../identify/provenance.ts';
export { familyTrees, FAMILY_TREE_DEFAULTS, type FamilyTrees } from '../pipeline/familyTree.ts';
export { minimumArborescence, type Arborescence } from '../cluster/arborescence.ts';
export {
  provenanceOf,
  provenanceAmong,
  inferLineage,
  inferFromModels,
  recordLineage,
  type InferredLineage,
} from '../pipeline/provenance.ts';
export { readBagLinks, recordBagLinks } from '../store/inferredLinks.ts';
export { keepOutputs } from '../core/network.ts';
