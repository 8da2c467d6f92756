/**
 * Runs the cluster analysis for several zoos and spaces (the rows of the paper's Tables 2-3),
 * one job per (zoo, space) on a pool of worker threads, and writes each space's dendrogram:
 *
 *   <outDir>/<zoo>/linkage-<space>.npy   SciPy linkage matrix, (n-1) x 4: a, b, height, size
 *   <outDir>/<zoo>/linkage-<space>.json  the same plus each leaf's run and epoch, for plots
 *   <zoo dir>/svd-<k>.arrow              the fitted SVD basis (with saveBasis)
 *
 * and, per zoo, the report <outDir>/cluster-<zoo>.json (writeClusterReport).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { loadZoo, type Zoo } from '../store/loadZoo.ts';
import { readManifest, softwareVersions } from '../store/manifest.ts';
import { writeNpy } from '../store/formats/npy.ts';
import { runJobs } from '../util/workerPool.ts';
import { UserError } from '../core/errors.ts';
import { readJsonFile } from '../util/json.ts';
import { clusterZoo, type ClusterOptions, type SpaceResult } from './clusterZoo.ts';
import { defaultWorkers, simdThreads } from '../util/threads.ts';

export interface SpaceJob {
  zooDir: string;
  options: ClusterOptions;
  outDir: string;
  saveBasis: boolean;
  /** Check the zoo's hashes when loading it (default true; false when the caller just did). */
  verify?: boolean;
}

export type SpaceSummary = Omit<SpaceResult, 'linkage' | 'labels' | 'svd'> & {
  zoo: string;
  /** The zoo's content digest (loadZoo): outputs of another content are stale. */
  zooDigest: string;
  files: { linkageNpy: string; linkageJson: string; basis: string | null };
};

let cached: { dir: string; zoo: Zoo } | null = null;

/** One (zoo, space) analysis with its exports; what each worker runs. */
export function runSpaceJob(job: SpaceJob): SpaceSummary {
  if (cached?.dir !== job.zooDir) cached = { dir: job.zooDir, zoo: loadZoo(job.zooDir, { verify: job.verify }) };
  const zoo = cached.zoo;
  const result = clusterZoo(zoo, job.options);
  const name = basename(job.zooDir);
  const dir = join(job.outDir, name);
  mkdirSync(dir, { recursive: true });
  const linkageNpy = join(dir, `linkage-${result.space}.npy`);
  const linkageJson = join(dir, `linkage-${result.space}.json`);
  writeNpy(linkageNpy, result.linkage.z, [zoo.n - 1, 4]);
  const rows = Array.from({ length: zoo.n - 1 }, (_, i) => Array.from(result.linkage.z.subarray(i * 4, i * 4 + 4)));
  writeFileAtomic(
    linkageJson,
    JSON.stringify({ zoo: name, zooDigest: zoo.digest, space: result.space, n: zoo.n, layout: 'scipy: [a, b, height, size]', run: Array.from(zoo.run), epoch: Array.from(zoo.epoch), linkage: rows }),
  );
  let basis: string | null = null;
  if (job.saveBasis && result.svd) {
    basis = join(job.zooDir, `svd-${result.svd.k}.arrow`);
    result.svd.save(basis);
  }
  const { linkage: _l, labels: _b, svd: _s, ...numbers } = result;
  return { ...numbers, zoo: name, zooDigest: zoo.digest, files: { linkageNpy, linkageJson, basis } };
}

export interface SweepOptions {
  zooDirs: string[];
  /** SVD dimensions; 0 is the full weight space. */
  spaces: number[];
  cluster?: Omit<ClusterOptions, 'svd'>;
  outDir: string;
  saveBasis?: boolean;
  /** Check each zoo's hashes as the workers load it (default true). */
  verify?: boolean;
  /** Worker threads (default: all cores). */
  workers?: number;
  onDone?: (summary: SpaceSummary, done: number, total: number) => void;
}

/** All (zoo, space) analyses; summaries come back grouped by zoo, spaces in the given order. */
export async function clusterSweep(options: SweepOptions): Promise<SpaceSummary[][]> {
  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), options.zooDirs.length * options.spaces.length));
  // jobs side by side each get one thread; a job alone may use a second one
  const threads = simdThreads(workers === 1);
  const jobs: SpaceJob[] = options.zooDirs.flatMap((zooDir) =>
    options.spaces.map((svd) => ({ zooDir, options: { ...options.cluster, svd, threads }, outDir: options.outDir, saveBasis: options.saveBasis ?? false, verify: options.verify })),
  );
  let done = 0;
  const results = await runJobs<SpaceJob, SpaceSummary>(new URL('./sweepWorker.ts', import.meta.url), jobs, workers, (_, summary) =>
    options.onDone?.(summary, ++done, jobs.length),
  );
  return options.zooDirs.map((_, z) => results.slice(z * options.spaces.length, (z + 1) * options.spaces.length));
}

/** What cluster-<zoo>.json holds: every number of one zoo's sweep and how it was made. */
export interface ClusterReport {
  zoo: { dir: string; name: string; arch: string; runs: number; checkpoints: number; config: unknown; digest: string };
  options: Record<string, unknown>;
  software: ReturnType<typeof softwareVersions>;
  createdAt: string;
  rows: SpaceSummary[];
}

export const clusterReportPath = (outDir: string, zooDir: string) => join(outDir, `cluster-${basename(zooDir)}.json`);

/** Writes <outDir>/cluster-<zoo>.json for one zoo's rows; returns its path. */
export function writeClusterReport(outDir: string, zooDir: string, rows: SpaceSummary[], options: Record<string, unknown>): string {
  const manifest = readManifest(zooDir);
  const report: ClusterReport = {
    zoo: { dir: zooDir, name: basename(zooDir), arch: manifest.config.arch, runs: rows[0].runs, checkpoints: rows[0].checkpoints, config: manifest.config, digest: rows[0].zooDigest },
    options,
    software: softwareVersions(),
    createdAt: new Date().toISOString(),
    rows,
  };
  const path = clusterReportPath(outDir, zooDir);
  writeFileAtomic(path, JSON.stringify(report, null, 2) + '\n');
  return path;
}

/** The report of an earlier sweep of this zoo, or null when there is none. */
export function readClusterReport(outDir: string, zooDir: string): ClusterReport | null {
  const path = clusterReportPath(outDir, zooDir);
  if (!existsSync(path)) return null;
  const report = readJsonFile(path, RERUN) as ClusterReport;
  if (typeof report?.zoo !== 'object' || !Array.isArray(report.rows)) throw new UserError(`${path} is not a cluster report; ${RERUN}`);
  return report;
}

/** What to do about a damaged cluster export. */
export const RERUN = 'delete it or run `npm run cluster` again';
