/**
 * What exact resumption needs after a complete epoch: every run's float64 weights and
 * momentum buffers (checkpoints hold only float32 weights). The data order needs no saved
 * state: a run's permutation for epoch e is drawn from its own (seed, e) stream.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Precision, tableFromIPC, type FixedSizeList } from 'apache-arrow';
import { isFloatList } from './checkpointFile.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { columnsToIPC, fixedSizeListColumn, flattenFixedSizeList } from './arrowColumns.ts';
import { RESUME_FILE, ZooError } from './manifest.ts';

export interface ResumeState {
  /** The epoch after which this state was taken. */
  epoch: number;
  runs: number;
  size: number;
  weights: Float64Array; // runs * size
  momentum: Float64Array; // runs * size
}

export function writeResumeState(zooDir: string, state: ResumeState, beforeRename?: () => void): void {
  const bytes = columnsToIPC(
    [
      { name: 'weights', data: fixedSizeListColumn(state.weights, state.size) },
      { name: 'momentum', data: fixedSizeListColumn(state.momentum, state.size) },
    ],
    { epoch: String(state.epoch) },
  );
  writeFileAtomic(join(zooDir, RESUME_FILE), bytes, beforeRename);
}

/** The saved state, or null when the zoo has none yet. */
export function readResumeState(zooDir: string): ResumeState | null {
  const path = join(zooDir, RESUME_FILE);
  if (!existsSync(path)) return null;
  let table;
  try {
    table = tableFromIPC(readFileSync(path));
  } catch (err) {
    throw new ZooError(`${path} is unreadable (${(err as Error).message}); delete it to restart training from scratch`);
  }
  const type = table.getChild('weights')?.type;
  const epoch = Number(table.schema.metadata.get('epoch'));
  if (!type || !isFloatList(type, Precision.DOUBLE) || !table.getChild('momentum') || !Number.isInteger(epoch)) {
    throw new ZooError(`${path} is not a resume state; delete it to restart training from scratch`);
  }
  const size = (type as FixedSizeList).listSize;
  const runs = table.numRows;
  return {
    epoch,
    runs,
    size,
    weights: flattenFixedSizeList(table.getChild('weights')!.data, size, new Float64Array(runs * size)),
    momentum: flattenFixedSizeList(table.getChild('momentum')!.data, size, new Float64Array(runs * size)),
  };
}
