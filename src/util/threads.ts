/**
 * The one thread policy. Pools of worker threads (zoo training, cluster sweeps, file hashing)
 * default to one worker per core. A single SIMD computation (SVD products, spanning tree,
 * neighbour scans, index queries) runs on a team of the main thread and helper threads
 * (simd/helperThread.ts): one more thread for each WORK_PER_THREAD of work, up to the cores
 * free, since each helper spins between calls and two of them must never share a core. Every
 * computation splits its work so that its result is the same bit for bit with any team size.
 */
import { availableParallelism } from 'node:os';

/** Cores this process may use. */
export const coreCount = (): number => availableParallelism();

/** Default size of a worker pool: one worker per core. */
export const defaultWorkers = (): number => coreCount();

/**
 * The work one thread of a SIMD computation takes before another joins in, per kind of work
 * in its own unit (below it, starting and calling a helper costs more than its part saves;
 * measured in bench/, docs/performance.md).
 */
export const WORK_PER_THREAD = {
  /** Values of X (rows x columns) in an SVD's passes over a matrix in memory. */
  svdValues: 2 ** 21,
  /** Values of X in an SVD streamed from files (a chunk per call). */
  streamedValues: 2 ** 19,
  /** Values of the points in the k-nearest-neighbour scan. */
  knnValues: 2 ** 17,
  /** Points of a minimum spanning tree (its candidate check). */
  treePoints: 1024,
  /** Slots one Prim step scans. */
  primSlots: 256,
  /** Values of an index's coordinates that a query scans: every query uses the whole team. */
  queryValues: 1,
  /** Values of the rows an index is built from: its calibration makes hundreds of passes, so every build uses the whole team. */
  indexValues: 1,
} as const;

export type WorkKind = keyof typeof WORK_PER_THREAD;

/** Threads for one SIMD computation of `work` units of `kind`: at least 1, at most the cores free. */
export const simdThreads = (kind: WorkKind, work: number, coresFree = coreCount()): number =>
  Math.max(1, Math.min(coresFree, Math.floor(work / WORK_PER_THREAD[kind])));

/**
 * How a team's threads wait (simd/helperThread.ts's Idle): spinning (the fastest hand-over,
 * for calls in quick succession) only while each thread has a core to itself; helpers sleeping
 * between calls when asked (a team kept for occasional work); every thread sleeping while it
 * waits when the team has more threads than the cores.
 */
export const teamIdle = (
  threads: number,
  preferred: 'spin' | 'sleep' = 'spin',
): 'spin' | 'sleep' | 'block' => (threads > coreCount() ? 'block' : preferred);

/** The threads an option asks for ('auto' or a count; at least 1) for `work` units of `kind`. */
export const threadsFor = (asked: number | 'auto' | undefined, kind: WorkKind, work: number): number =>
  asked === undefined || asked === 'auto' ? simdThreads(kind, work) : Math.max(1, Math.floor(asked));
