/**
 * Runs the cluster analysis for several zoos and spaces (the rows of the paper's Tables 2-3),
 * one job per (zoo, space) on a pool of worker threads (spaceJob.ts); report.ts writes the
 * per-zoo report.
 */
import { defaultWorkers, simdThreads } from '../util/threads.ts';
import { runJobs } from '../util/workerPool.ts';
import type { ClusterOptions } from '../cluster/clusterZoo.ts';
import type { SpaceJob, SpaceSummary } from './spaceJob.ts';

export type { SpaceSummary };

/** One zoo of a sweep: its folder, the spaces to analyse it in, and whether to stream it. */
export interface SweepZoo {
  dir: string;
  /** SVD dimensions; 0 is the full weight space. */
  spaces: number[];
  /** Stream it from disk rather than load it (larger than the memory allowed). */
  stream?: boolean;
}

export interface SweepOptions {
  zoos: SweepZoo[];
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
  const count = options.zoos.reduce((sum, zoo) => sum + zoo.spaces.length, 0);
  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), count));
  // jobs side by side each get one thread; a job alone may use a second one
  const threads = simdThreads(workers === 1);
  const jobs: SpaceJob[] = options.zoos.flatMap((zoo) =>
    zoo.spaces.map((svd) => ({
      zooDir: zoo.dir,
      options: { ...options.cluster, svd, threads },
      outDir: options.outDir,
      saveBasis: options.saveBasis ?? false,
      verify: options.verify,
      ...(zoo.stream && { stream: true }),
    })),
  );
  let done = 0;
  const results = await runJobs<SpaceJob, SpaceSummary>(
    new URL('./sweepWorker.ts', import.meta.url),
    jobs,
    workers,
    (_, summary) => options.onDone?.(summary, ++done, jobs.length),
  );
  let start = 0;
  return options.zoos.map((zoo) => results.slice(start, (start += zoo.spaces.length)));
}
