/**
 * One (zoo, space) analysis of a cluster sweep, as a worker thread runs it: clusterZoo, then
 * the space's dendrogram exports (store/paths.ts names them):
 *
 *   <outDir>/<zoo>/linkage-<space>.npy   SciPy linkage matrix, (n-1) x 4: a, b, height, size
 *   <outDir>/<zoo>/linkage-<space>.json  the same plus each leaf's run and epoch, for plots
 *   <zoo dir>/svd-<k>.arrow              the fitted SVD basis (with saveBasis)
 */
import { mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { writeNpy } from '../store/formats/npy.ts';
import { writeSvdFile } from '../store/svdFile.ts';
import { openZoo, type ZooSource } from '../store/openZoo.ts';
import { linkagePaths, svdBasisPath, zooResultsDir } from '../store/paths.ts';
import { clusterZoo, type ClusterOptions, type SpaceResult } from '../cluster/clusterZoo.ts';

export interface SpaceJob {
  zooDir: string;
  options: ClusterOptions;
  outDir: string;
  saveBasis: boolean;
  /** Check the zoo's hashes when loading it (default true; false when the caller just did). */
  verify?: boolean;
  /** Bytes a zoo's weights may take in memory; a larger one is streamed (store/openZoo.ts). */
  memory?: number;
}

export type SpaceSummary = Omit<SpaceResult, 'linkage' | 'labels' | 'svd'> & {
  zoo: string;
  /** The zoo's content digest (loadZoo): outputs of another content are stale. */
  zooDigest: string;
  files: { linkageNpy: string; linkageJson: string; basis: string | null };
};

/** What linkage-<space>.json holds. */
export interface LinkageExport {
  zoo: string;
  /** Content digest of the zoo it was computed from (loadZoo). */
  zooDigest: string;
  space: string;
  n: number;
  layout: string;
  run: number[];
  epoch: number[];
  /** SciPy layout: [a, b, height, size] per merge; node n + i is merge i. */
  linkage: number[][];
}

let cached: ZooSource | null = null; // a worker's next job is often another space of the same zoo

/** One (zoo, space) analysis with its exports; what each worker runs. */
export function runSpaceJob(job: SpaceJob): SpaceSummary {
  if (cached?.dir !== job.zooDir) {
    cached = null; // the last zoo goes before the next is read
    cached = openZoo(job.zooDir, { verify: job.verify, memory: job.memory });
  }
  const source = cached;
  const { zoo } = source;
  const result = clusterZoo(source, job.options);
  const name = basename(job.zooDir);
  mkdirSync(zooResultsDir(job.outDir, job.zooDir), { recursive: true });
  const { npy: linkageNpy, json: linkageJson } = linkagePaths(job.outDir, job.zooDir, result.space);
  writeNpy(linkageNpy, result.linkage.z, [zoo.n - 1, 4]);
  const rows = Array.from({ length: zoo.n - 1 }, (_, i) =>
    Array.from(result.linkage.z.subarray(i * 4, i * 4 + 4)),
  );
  const exported: LinkageExport = {
    zoo: name,
    zooDigest: zoo.digest,
    space: result.space,
    n: zoo.n,
    layout: 'scipy: [a, b, height, size]',
    run: Array.from(zoo.run),
    epoch: Array.from(zoo.epoch),
    linkage: rows,
  };
  writeFileAtomic(linkageJson, JSON.stringify(exported));
  let basis: string | null = null;
  if (job.saveBasis && result.svd) {
    basis = svdBasisPath(job.zooDir, result.svd.k);
    writeSvdFile(basis, result.svd.basis);
  }
  const { linkage: _l, labels: _b, svd: _s, ...numbers } = result;
  return { ...numbers, zoo: name, zooDigest: zoo.digest, files: { linkageNpy, linkageJson, basis } };
}
