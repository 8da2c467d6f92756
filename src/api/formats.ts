/** Files other tools read and write: checkpoint files, manifests, npy, float16, saved bases and indexes, tfjs, import layouts. */
export { readCheckpointFile, writeCheckpointFile, type CheckpointRows } from '../store/checkpointFile.ts';
export { readManifest, checkpointPath, zooShape } from '../store/manifest.ts';
export { weightsSha256 } from '../store/sha256.ts';
export { readNpy } from '../store/formats/npy.ts';
export { float16Bits, toFloat16 } from '../util/float16.ts';
export { readIndexFiles, writeIndexFiles, type SavedIndex } from '../store/indexFile.ts';
export { readSvdFile, writeSvdFile, type SvdBasis } from '../store/svdFile.ts';
export { modelFormat, MODEL_FORMATS } from '../store/formats/readModel.ts';
export { zooRow } from '../store/formats/exportModel.ts';
export { tfjsArchitecture, tfjsNetwork } from '../store/formats/tfjsNetwork.ts';
export { tfjsWeights } from '../train/zooRecorder.ts';
export { COMMON_LAYOUTS, planSource, layoutRegex } from '../store/importSources.ts';
export { zooBlocks, type ZooBlocks } from '../store/zooBlocks.ts';
export { ZooIntegrityError, zooDigest } from '../store/loadZoo.ts';
export { formatFinding } from '../store/verifyZoo.ts';
export * as paths from '../store/paths.ts';
