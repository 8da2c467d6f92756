/**
 * Runs the cluster analysis for several zoos and spaces (the rows of the paper's Tables 2-3),
 * one job per (zoo, space) on a pool of worker threads (spaceJob.ts); report.ts writes the
 * per-zoo report.
 */
import { defaultWorkers } from '../util/threads.ts';
import { runJobs } from '../util/workerPool.ts';
import type { ClusterOptions } from '../cluster/clusterZoo.ts';
import { option, OptionNote, UserError } from '../core/errors.ts';
import { maxComponents } from '../reduce/svd.ts';
import { refuseUnfitSpaces, spaceFits } from '../reduce/zooMatrix.ts';
import { join } from 'node:path';
import {
  incompleteNote,
  MANIFEST_FILE,
  readManifest,
  zooShape,
  ZooError,
  zooWeightBytes,
} from '../store/manifest.ts';
import { weightsFit } from '../store/openZoo.ts';
import { damagedCheckpoints } from '../store/zooCommit.ts';
import type { SpaceJob, SpaceSummary } from './spaceJob.ts';

export type { SpaceSummary };

/** One zoo of a sweep: its folder and the spaces to analyse it in. */
export interface SweepZoo {
  dir: string;
  /** SVD dimensions; 0 is the full weight space. */
  spaces: number[];
  /** Check its files' hashes as the workers read them (default: the sweep's verify). */
  verify?: boolean;
}

/** The default SVD space of a sweep, lowered for a zoo with fewer checkpoints or weights than that. */
export const DEFAULT_SVD = 50;

/**
 * The spaces one zoo is analysed in, with notes for what was adapted to it (a default lowered,
 * the full space left out of a zoo streamed from its files). Throws a UserError naming the zoo
 * when it cannot be analysed as asked. Its files are checked against their hashes here, once,
 * so a damaged zoo is refused before any work and the workers need not hash them again.
 */
export function planSweepZoo(
  dir: string,
  o: {
    /** The spaces asked for (0: the full weight space). */
    spaces: number[];
    /** The spaces are the default (DEFAULT_SVD, lowered to fit), not typed. */
    defaulted: boolean;
    /** The full space was asked for itself, not added by a list. */
    fullAsked: boolean;
    /** Bytes a zoo's weights may take in memory (store/openZoo.ts). */
    memory: number;
    verify: boolean;
  },
): { zoo: SweepZoo; notes: OptionNote[] } {
  const manifest = readManifest(dir);
  const notes: OptionNote[] = [];
  const incomplete = incompleteNote(manifest);
  if (incomplete) notes.push(new OptionNote(incomplete));
  if (manifest.epochsCompleted < 0) throw new UserError(`${dir} has no checkpoints yet`);
  const { runs } = zooShape(manifest);
  if (runs < 2) throw new UserError(`${dir} has ${runs} run; clustering needs at least 2 runs`);
  const n = runs * (manifest.epochsCompleted + 1);
  const dim = manifest.architecture.size;
  const largest = maxComponents(n, dim);
  let spaces = o.spaces;
  if (o.defaulted && DEFAULT_SVD > largest) {
    spaces = spaces.map((k) => (k === DEFAULT_SVD ? largest : k));
    notes.push(
      new OptionNote(
        `${option('svd')} ${DEFAULT_SVD} (the default) lowered to ${largest}: the zoo has ${n} checkpoints x ${dim} weights`,
      ),
    );
  }
  const tooBig = spaces.filter((k) => k > largest);
  if (tooBig.length)
    throw new UserError(
      `${option('svd')} ${tooBig.join(',')} is too large for ${dir}: ${n} checkpoints x ${dim} weights (k must be <= ${largest})`,
    );
  if (o.verify) {
    const [damaged] = damagedCheckpoints(dir, manifest);
    if (damaged)
      throw new ZooError(
        damaged.what === 'missing'
          ? `zoo ${dir} is missing ${damaged.path} (the manifest says epoch ${manifest.epochsCompleted} is complete)`
          : `${damaged.path} is damaged: its bytes do not match the SHA-256 recorded in ${join(dir, MANIFEST_FILE)}; \`npm run verify -- --zoo ${dir}\` gives the full report`,
      );
  }
  // a zoo written before file hashes has its rows checked against their own as they are read
  const checked = { verify: o.verify && manifest.files === undefined };
  const fit = {
    dir,
    dim,
    weightBytes: zooWeightBytes(manifest),
    memory: o.memory,
    inMemory: weightsFit(manifest, o.memory),
  };
  // the full space a list adds by itself is left out for zoos too large for memory; asked for, it is refused
  if (spaces.includes(0) && !spaceFits(fit, 0) && !o.fullAsked) {
    spaces = spaces.filter((k) => k > 0);
    notes.push(
      new OptionNote(
        `the full weight space is left out: the zoo is larger than ${option('memory')} and is streamed`,
      ),
    );
  }
  refuseUnfitSpaces(fit, spaces, 'svd');
  return { zoo: { dir, spaces, ...checked }, notes };
}

export interface SweepOptions {
  zoos: SweepZoo[];
  cluster?: Omit<ClusterOptions, 'svd'>;
  outDir: string;
  saveBasis?: boolean;
  /** Check each zoo's hashes as the workers load it (default true). */
  verify?: boolean;
  /** Bytes a zoo's weights may take in memory; a larger zoo is streamed (store/openZoo.ts; default util/memory.ts's defaultMemory). */
  memory?: number;
  /** Worker threads (default: all cores). */
  workers?: number;
  onDone?: (summary: SpaceSummary, done: number, total: number) => void;
}

/** All (zoo, space) analyses; summaries come back grouped by zoo, spaces in the given order. */
export async function clusterSweep(options: SweepOptions): Promise<SpaceSummary[][]> {
  const count = options.zoos.reduce((sum, zoo) => sum + zoo.spaces.length, 0);
  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkers(), count));
  // jobs side by side each get one thread; a job alone may use a second one
  const threads = workers === 1 ? 'auto' : 1;
  const jobs: SpaceJob[] = options.zoos.flatMap((zoo) =>
    zoo.spaces.map((svd) => ({
      zooDir: zoo.dir,
      options: { ...options.cluster, svd, threads },
      outDir: options.outDir,
      saveBasis: options.saveBasis ?? false,
      verify: zoo.verify ?? options.verify,
      memory: options.memory,
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
