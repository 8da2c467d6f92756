/**
 * Where the toolkit writes, in one place: the default folders and the name of every output
 * file beside a zoo or in a results folder. (A zoo folder's own files, manifest and
 * checkpoints, are named in manifest.ts; identify's index files in indexFile.ts.)
 */
import { basename, join } from 'node:path';
import { svdBasisName } from './zooLayout.ts';

export const DEFAULT_DIRS = {
  /** Zoos: `npm run zoo` writes <zoos>/<arch>-<name>/. */
  zoos: 'zoo',
  /** Cluster reports, dendrograms and plots. */
  results: 'results',
  /** Checkpoints written by `npm run export`. */
  exports: 'exports',
} as const;

/** The folder of the zoo of one architecture: <root>/<arch>-<name>. */
export const zooDirFor = (root: string, arch: string, name: string): string => join(root, `${arch}-${name}`);

/** The name of shard I of N of zoo `name`: its folder is <root>/<arch>-<name>-shard-<I>-of-<N>. */
export const shardName = (name: string, shard: { index: number; count: number }): string =>
  `${name}-shard-${shard.index}-of-${shard.count}`;

/** <results>/cluster-<zoo>.json: one zoo's cluster sweep. */
export const clusterReportPath = (outDir: string, zooDir: string): string =>
  join(outDir, `cluster-${basename(zooDir)}.json`);

/** <results>/<zoo>/: the zoo's dendrograms and plots. */
export const zooResultsDir = (outDir: string, zooDir: string): string => join(outDir, basename(zooDir));

/** <results>/<zoo>/linkage-<space>.npy (SciPy linkage matrix) and .json (with each leaf's run and epoch). */
export function linkagePaths(outDir: string, zooDir: string, space: string): { npy: string; json: string } {
  const stem = join(zooResultsDir(outDir, zooDir), `linkage-${space}`);
  return { npy: `${stem}.npy`, json: `${stem}.json` };
}

/** <zoo>/svd-<k>.arrow: a fitted SVD basis saved beside its zoo. */
export const svdBasisPath = (zooDir: string, k: number): string => join(zooDir, svdBasisName(k));

/** exports/<zoo>-run<r>-epoch<e><ext>: where `npm run export` writes by default. */
export const exportPath = (zooName: string, run: number, epoch: number, ext: string): string =>
  join(DEFAULT_DIRS.exports, `${zooName}-run${run}-epoch${epoch}${ext}`);

/** <results>/identify-eval.json: `identify --evaluate`'s report (one entry per zoo). */
export const IDENTIFY_EVAL_PATH = join(DEFAULT_DIRS.results, 'identify-eval.json');
