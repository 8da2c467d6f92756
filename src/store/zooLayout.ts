/**
 * The one place that names the files of a zoo directory: each name's format, and for names
 * that carry numbers, their parse (null for a name of another kind). Writers, readers,
 * settling, verify and the staleness of derived files all ask here.
 *
 *   <zoo>/manifest.json
 *   <zoo>/checkpoints/epoch-0003.arrow     all runs' checkpoints of epoch 3
 *   <zoo>/resume.arrow                     the training state after the last committed epoch
 *   <zoo>/staging/run-00002-epoch-0003.arrow   a recorded checkpoint before its epoch commits
 *   <zoo>/index.json, index.arrow, index-svd.arrow   identify's index (derived)
 *   <zoo>/svd-50.arrow                     a saved SVD basis (derived)
 *   <zoo>/tags.json                        named checkpoints (`tag`), by SHA-256
 *   <zoo>/inferred.json                    links identify --record inferred to this zoo's runs
 */
const pad = (n: number, width: number) => String(n).padStart(width, '0');
const number = (m: RegExpExecArray | null, group = 1) => (m ? Number(m[group]) : null);

export const MANIFEST_FILE = 'manifest.json';
export const CHECKPOINT_DIR = 'checkpoints';
export const RESUME_FILE = 'resume.arrow';
export const STAGING_DIR = 'staging';
export const INDEX_META_FILE = 'index.json';
export const INDEX_FILE = 'index.arrow';
export const INDEX_SVD_FILE = 'index-svd.arrow';
export const TAGS_FILE = 'tags.json';
export const INFERRED_FILE = 'inferred.json';

/** A checkpoint file's name in CHECKPOINT_DIR, and its epoch. */
export const checkpointName = (epoch: number): string => `epoch-${pad(epoch, 4)}.arrow`;
export const checkpointEpoch = (name: string): number | null => number(/^epoch-(\d+)\.arrow$/.exec(name));

/** A staged checkpoint's name in STAGING_DIR (ZooWriter), and its run and epoch. */
export const stagedName = (run: number, epoch: number): string =>
  `run-${pad(run, 5)}-epoch-${pad(epoch, 4)}.arrow`;
export function stagedCheckpoint(name: string): { run: number; epoch: number } | null {
  const m = /^run-(\d+)-epoch-(\d+)\.arrow$/.exec(name);
  return m ? { run: Number(m[1]), epoch: Number(m[2]) } : null;
}

/** A saved SVD basis's name beside its zoo, and its k. */
export const svdBasisName = (k: number): string => `svd-${k}.arrow`;
export const svdBasisK = (name: string): number | null => number(/^svd-(\d+)\.arrow$/.exec(name));

/** Files derived from a zoo's checkpoints (identify's index, saved SVD bases): stale once the checkpoints are replaced. */
export const isDerivedFile = (name: string): boolean =>
  [INDEX_META_FILE, INDEX_FILE, INDEX_SVD_FILE].includes(name) || svdBasisK(name) !== null;
