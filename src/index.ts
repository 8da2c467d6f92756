/**
 * Library API: what notebooks, users and tests call. The entry points come first, each with
 * the types it takes and gives; everything else is grouped under three namespaces:
 * `formats` (files other tools read and write), `linalg` (the maths behind the entry points)
 * and `advanced` (the engine, the building blocks of identify and plots). A name not exported
 * here is internal and may change.
 *
 *   import { trainZoo, presetConfig, loadZoo } from './src/index.ts';
 *   await trainZoo({ dir: 'zoo/cnn-mine', config: presetConfig('default', 'cnn', { seedCount: 10 }) });
 *   const zoo = loadZoo('zoo/cnn-mine'); // zoo.weights: checkpoints x weights, zoo.run / zoo.epoch labels
 *   const source = openZoo('zoo/cnn-mine'); // loaded, or streamed from its files when larger than memory
 *   const index = ZooIndex.build(source); // every analysis takes either
 */
import { ZooIndex, type Calibration } from './identify/zooIndex.ts';
import { readIndexFiles, writeIndexFiles } from './store/indexFile.ts';
import type { Zoo } from './store/loadZoo.ts';
import type { ZooSource } from './store/openZoo.ts';

// making zoos: trained here, imported, recorded during training elsewhere, sharded
export { trainZoo, type TrainProgress, type TrainZooOptions, type TrainZooResult } from './train/trainZoo.ts';
export { presetConfig, type PresetName } from './core/presets.ts';
export type { ZooConfig } from './core/zooConfig.ts';
export { importZoo, type ImportOptions, type ImportResult } from './store/importZoo.ts';
export { ZooWriter, type ZooWriterOptions, type CheckpointRecord } from './store/zooWriter.ts';
export { zooRecorder, type ZooRecorderOptions } from './train/zooRecorder.ts';
export {
  defineArchitecture,
  type Architecture,
  type ArchName,
  type ParamTensor,
} from './core/architectures.ts';
export { mergeZooShards, type MergeShardsOptions, type MergeShardsResult } from './store/mergeShards.ts';
// reading and checking them
export { openZoo, type OpenZooOptions, type ZooSource } from './store/openZoo.ts';
export { loadZoo, type LoadZooOptions, type Zoo, type ZooInfo } from './store/loadZoo.ts';
export { verifyZoo, type Finding, type VerifyReport } from './store/verifyZoo.ts';
export type { ZooManifest, ZooOrigin, RunInfo, RecordedTraining } from './store/manifest.ts';
export type { Network, Layer, Layout, FlattenOrder } from './core/network.ts';
// analyses
export { clusterZoo, type ClusterOptions, type OrderBy, type SpaceResult } from './cluster/clusterZoo.ts';
export { TruncatedSVD, type TruncatedSVDOptions } from './reduce/svd.ts';
export { umapEmbedding, type UmapOptions } from './reduce/umap.ts';
export { ZooIndex, type ZooIndexOptions, type Calibration } from './identify/zooIndex.ts';
export { identify, type Identification, type IdentifyOptions, type Verdict } from './identify/identify.ts';
// models in and out, and pictures
export { readModel, type ModelFormat } from './store/formats/readModel.ts';
export { exportModel } from './store/formats/exportModel.ts';
export { plotZoo, type PlotZooOptions, type PlotZooResult } from './plot/plotZoo.ts';
export { UserError } from './core/errors.ts';

/** The index identify saved beside a zoo, or null when there is none or it is not current for this zoo. */
export function loadZooIndex(dir: string, zoo: Zoo | ZooSource): ZooIndex | null {
  const { manifest, digest } = 'rows' in zoo ? zoo.zoo : zoo;
  const saved = readIndexFiles<Calibration>(dir, manifest, digest);
  return saved && ZooIndex.fromSaved(saved, zoo);
}

/** Saves an index beside its zoo, as identify does (a later loadZooIndex or `npm run identify` reads it). */
export function saveZooIndex(dir: string, index: ZooIndex): void {
  writeIndexFiles(dir, index.toSaved());
}

export * as formats from './api/formats.ts';
export * as linalg from './api/linalg.ts';
export * as advanced from './api/advanced.ts';
