/**
 * Runs the cluster analysis for several zoos and spaces (the rows of the paper's Tables 2-3),
 * one job per (zoo, space) on a pool of worker threads (spaceJob.ts); report.ts writes the
 * per-zoo report.
 */
import { defaultWorkers, simdThreads } from '../util/threads.ts';
import { runJobs } from '../util/workerPool.ts';
import type { ClusterOptions } from './clusterZoo.ts';
import type { SpaceJob, SpaceSummary } from './spaceJob.ts';

export type { SpaceSummary };

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
  /** Zoos to stream from disk rather than load (larger than the memory allowed). */
  stream?: string[];
  onDone?: (summary: SpaceSummary, done: number, total: number) => void;
}

/** All (zoo, space) analyses; summaries come back grouped by zoo, spaces in the given order. */
export async function clusterSweep(options: SweepOptions): Promise<SpaceSummary[][]> {
  const workers = Math.max(
    1,
    Math.min(options.workers ?? defaultWorkers(), options.zooDirs.length * options.spaces.length),
  );
  // jobs side by side each get one thread; a job alone may use a second one
  const threads = simdThreads(workers === 1);
  const jobs: SpaceJob[] = options.zooDirs.flatMap((zooDir) =>
    options.spaces.map((svd) => ({
      zooDir,
      options: { ...options.cluster, svd, threads },
      outDir: options.outDir,
      saveBasis: options.saveBasis ?? false,
      verify: options.verify,
      ...(options.stream?.includes(zooDir) && { stream: true }),
    })),
  );
  let done = 0;
  const results = await runJobs<SpaceJob, SpaceSummary>(
    new URL('./sweepWorker.ts', import.meta.url),
    jobs,
    workers,
    (_, summary) => options.onDone?.(summary, ++done, jobs.length),
  );
  return options.zooDirs.map((_, z) =>
    results.slice(z * options.spaces.length, (z + 1) * options.spaces.length),
  );
}
