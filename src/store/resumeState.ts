/**
 * What exact resumption needs after a complete epoch: every run's float64 weights and
 * momentum buffers (checkpoints hold only float32 weights). The data order needs no saved
 * state: a run's permutation for epoch e is drawn from its own (seed, e) stream.
 */
import { option } from '../core/errors.ts';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Precision, type FixedSizeList } from 'apache-arrow';
import { readArrowFile } from './arrowFile.ts';
import { sha256Hex } from './fileHashes.ts';
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

/** SHA-256 of the state's float64 bytes (weights, then momentum): no checkpoint hash covers the momentum. */
function stateSha256(weights: Float64Array, momentum: Float64Array): string {
  const hash = createHash('sha256');
  for (const a of [weights, momentum]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex');
}

/** Writes resume.arrow; returns the SHA-256 of its bytes. */
export function writeResumeState(zooDir: string, state: ResumeState, beforeRename?: () => void): string {
  const bytes = columnsToIPC(
    [
      { name: 'weights', data: fixedSizeListColumn(state.weights, state.size) },
      { name: 'momentum', data: fixedSizeListColumn(state.momentum, state.size) },
    ],
    { epoch: String(state.epoch), sha256: stateSha256(state.weights, state.momentum) },
  );
  writeFileAtomic(join(zooDir, RESUME_FILE), bytes, beforeRename);
  return sha256Hex(bytes);
}

/**
 * The saved state, or null when the zoo has none yet. With `expectedSha256` the file's bytes
 * must match it before they are parsed.
 */
export function readResumeState(zooDir: string, expectedSha256?: string): ResumeState | null {
  const path = join(zooDir, RESUME_FILE);
  if (!existsSync(path)) return null;
  const bytes = readFileSync(path);
  if (expectedSha256 !== undefined && sha256Hex(bytes) !== expectedSha256) {
    throw new ZooError(
      `${path} is damaged (its bytes do not match the SHA-256 the manifest recorded); the committed epochs still load, but training cannot continue from it (${option('overwrite')} retrains)`,
    );
  }
  let table;
  try {
    table = readArrowFile(bytes);
  } catch (err) {
    throw new ZooError(
      `${path} is unreadable (${(err as Error).message}); the committed epochs still load, but training cannot continue from it (${option('overwrite')} retrains)`,
    );
  }
  const type = table.getChild('weights')?.type;
  const momentumType = table.getChild('momentum')?.type;
  const epoch = Number(table.schema.metadata.get('epoch'));
  if (
    !type ||
    !isFloatList(type, Precision.DOUBLE) ||
    !momentumType ||
    String(momentumType) !== String(type) ||
    !Number.isInteger(epoch) ||
    epoch < 0
  ) {
    throw new ZooError(`${path} is not a resume state; pass ${option('overwrite')} to retrain the zoo`);
  }
  const size = (type as FixedSizeList).listSize;
  const runs = table.numRows;
  const weights = flattenFixedSizeList(table.getChild('weights')!.data, size, new Float64Array(runs * size));
  const momentum = flattenFixedSizeList(
    table.getChild('momentum')!.data,
    size,
    new Float64Array(runs * size),
  );
  const stored = table.schema.metadata.get('sha256'); // absent in states written before it was added
  if (stored !== undefined && stateSha256(weights, momentum) !== stored) {
    throw new ZooError(
      `${path} is damaged (its content does not match its SHA-256); the committed epochs still load, but training cannot continue from it (${option('overwrite')} retrains)`,
    );
  }
  return { epoch, runs, size, weights, momentum };
}
