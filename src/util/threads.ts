/**
 * The one thread policy. Pools of worker threads (zoo training, cluster sweeps, file hashing)
 * default to one worker per core. A single SIMD computation (SVD products, spanning tree,
 * index scans) uses itself plus one helper thread when a second core exists and the work is
 * big enough to pay for the helper's start; the helper spins between calls, so two of them
 * must never share a core.
 */
import { availableParallelism } from 'node:os';

/** Cores this process may use. */
export const coreCount = (): number => availableParallelism();

/** Default size of a worker pool: one worker per core. */
export const defaultWorkers = (): number => coreCount();

/** Threads for one SIMD computation: 2 when a second core is free and the work is big enough. */
export const simdThreads = (bigEnough = true, coresFree = coreCount()): 1 | 2 =>
  bigEnough && coresFree >= 2 ? 2 : 1;
