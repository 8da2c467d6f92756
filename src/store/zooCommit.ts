/**
 * How a zoo grows on disk without ever losing or half-writing an epoch.
 *
 * The manifest is the commit record: an epoch exists once the manifest names it
 * (`epochsCompleted`). Each epoch writes, each file atomically (atomicWrite.ts):
 *
 *   1. checkpoints/epoch-<e>.arrow   the float32 checkpoints
 *   2. resume.arrow                  the float64 training state after epoch e
 *   3. manifest.json                 epochsCompleted = e (and status complete after the last) -- the commit
 *
 * A process killed anywhere leaves the committed epochs plus at most one epoch in flight.
 * `recoverZoo` settles that epoch before training continues: if its checkpoint file and
 * resume state are both written and agree (same hashes, parent chain intact), it is
 * committed (roll forward); otherwise its files are removed (roll back), and temp files of
 * killed writes are deleted. A folder holding nothing but an aborted start (temp files, an
 * empty checkpoints/ folder) is recognised as this command's own and started afresh.
 */
import { option } from '../core/errors.ts';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { sha256Hex } from './fileHashes.ts';
import { join } from 'node:path';
import type { ZooConfig } from '../core/zooConfig.ts';
import { TEMP_SUFFIX, tempFiles } from './atomicWrite.ts';
import { parseCheckpoints, writeCheckpointFile, type CheckpointRows } from './checkpointFile.ts';
import {
  CHECKPOINT_DIR,
  checkpointFileName,
  checkpointPath,
  configDifferences,
  manifestTime,
  MANIFEST_FILE,
  readManifest,
  RESUME_FILE,
  writeManifest,
  ZooError,
  zooShape,
  type ZooManifest,
} from './manifest.ts';
import { readResumeState, writeResumeState, type ResumeState } from './resumeState.ts';
import { weightsSha256 } from './sha256.ts';
import { checkpointEpoch, isDerivedFile } from './zooLayout.ts';

/** One write of the commit protocol, for progress and crash tests. */
export interface WriteEvent {
  epoch: number;
  file: 'checkpoint' | 'resume' | 'manifest';
  /** `tmp-written`: the temp file is complete, the rename not yet done; `done`: renamed into place. */
  stage: 'tmp-written' | 'done';
}
export type WriteObserver = (event: WriteEvent) => void;

export type ZooDirPlan = { kind: 'new' } | { kind: 'resume'; manifest: ZooManifest } | { kind: 'replace' };

/**
 * What `dir` holds and what training it with `config` will do, without touching the disk.
 * Throws a ZooError when the folder must not be written into.
 */
export function inspectZooDir(dir: string, config: ZooConfig, overwrite: boolean): ZooDirPlan {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new ZooError(
      `${dir} is a file, not a zoo directory; choose another location with ${option('dir')}`,
    );
  if (existsSync(join(dir, MANIFEST_FILE))) {
    const manifest = readManifest(dir);
    const diff = manifest.config ? configDifferences(manifest.config, config) : 'it holds an imported zoo';
    if (!diff) return { kind: 'resume', manifest };
    if (overwrite) return { kind: 'replace' };
    throw new ZooError(
      `${dir} already holds a zoo with another config (${diff}); pass ${option('overwrite')} to replace it or ${option('dir')} to choose another directory`,
    );
  }
  if (existsSync(dir) && !isAbortedStart(dir)) {
    throw new ZooError(
      `${dir} exists, is not empty and holds no zoo (no ${MANIFEST_FILE}); choose an empty or new directory with ${option('dir')}`,
    );
  }
  return { kind: 'new' };
}

/** True when `dir` holds only what a killed first write leaves: temp files and an empty checkpoints/ folder. */
function isAbortedStart(dir: string): boolean {
  return readdirSync(dir).every((name) => {
    if (name === CHECKPOINT_DIR) return readdirSync(join(dir, name)).every((f) => f.endsWith(TEMP_SUFFIX));
    return name.endsWith(TEMP_SUFFIX);
  });
}

/** Creates (or, for `replace`, empties) the zoo directory and commits the initial manifest. */
export function startZooDir(
  dir: string,
  plan: ZooDirPlan,
  manifest: ZooManifest,
  onWrite?: WriteObserver,
): void {
  if (plan.kind === 'resume') return;
  try {
    if (plan.kind === 'replace') {
      for (const name of readdirSync(dir)) {
        if (
          name === CHECKPOINT_DIR ||
          name === RESUME_FILE ||
          name === MANIFEST_FILE ||
          isDerivedFile(name) ||
          name.endsWith(TEMP_SUFFIX)
        )
          rmSync(join(dir, name), { recursive: true, force: true });
      }
    }
    for (const tmp of tempFiles(dir, join(dir, CHECKPOINT_DIR))) rmSync(tmp);
    mkdirSync(join(dir, CHECKPOINT_DIR), { recursive: true });
  } catch (err) {
    if (err instanceof ZooError) throw err;
    throw new ZooError(
      `cannot create zoo directory ${dir} (${(err as NodeJS.ErrnoException).code}); choose a writable location with ${option('dir')}`,
    );
  }
  commitManifest(dir, manifest, -1, onWrite);
}

/**
 * Settles a zoo interrupted during training (see the file comment) and returns the state to
 * continue from: null to start at epoch 0. `manifest` is updated when an epoch rolls forward.
 */
export function recoverZoo(dir: string, manifest: ZooManifest, onWrite?: WriteObserver): ResumeState | null {
  const checkpoints = join(dir, CHECKPOINT_DIR);
  for (const tmp of tempFiles(dir, checkpoints)) rmSync(tmp);
  if (manifest.status === 'complete') return null;
  const committed = manifest.epochsCompleted;
  // the recorded hash is checked before parsing, unless a newer state may be waiting for its commit
  const inFlight = existsSync(checkpointPath(dir, committed + 1));
  let state = readResumeState(dir, inFlight ? undefined : manifest.files?.[RESUME_FILE]);
  if (state && state.epoch === committed + 1 && epochAgrees(dir, state, committed + 1)) {
    manifest.epochsCompleted = committed + 1; // written and consistent: only the commit was missing
    const files = (manifest.files ??= {});
    files[checkpointFileName(committed + 1)] = sha256Hex(readFileSync(checkpointPath(dir, committed + 1)));
    files[RESUME_FILE] = sha256Hex(readFileSync(join(dir, RESUME_FILE)));
    if (manifest.epochsCompleted === zooShape(manifest).epochs) manifest.status = 'complete';
    commitManifest(dir, manifest, manifest.epochsCompleted, onWrite);
  } else if (state && state.epoch !== committed) {
    if (committed >= 0 || state.epoch !== 0) {
      throw new ZooError(
        `${join(dir, RESUME_FILE)} holds epoch ${state.epoch} but ${join(dir, MANIFEST_FILE)} has committed epoch ${committed}; the zoo was changed by hand (run \`npm run verify -- --zoo ${dir}\`, or ${option('overwrite')} to retrain)`,
      );
    }
    state = null; // epoch 0 half written before its commit: start again
  }
  if (!state && manifest.epochsCompleted >= 0 && manifest.status !== 'complete') {
    throw new ZooError(
      `${join(dir, RESUME_FILE)} is missing, so ${dir} cannot continue training (its committed epochs still load); pass ${option('overwrite')} to retrain it`,
    );
  }
  if (
    state &&
    state.epoch === manifest.epochsCompleted &&
    !epochAgrees(dir, state, state.epoch, manifest.files?.[checkpointFileName(state.epoch)])
  ) {
    throw new ZooError(
      `${join(dir, RESUME_FILE)} does not match ${checkpointPath(dir, state.epoch)} (different weights); run \`npm run verify -- --zoo ${dir}\`, or ${option('overwrite')} to retrain`,
    );
  }
  if (manifest.status !== 'complete' && manifest.epochsCompleted === zooShape(manifest).epochs) {
    manifest.status = 'complete'; // every epoch committed, only the status was left (zoos of format 1 wrote it apart)
    commitManifest(dir, manifest, manifest.epochsCompleted, onWrite);
  }
  // checkpoint files of epochs never committed are rewritten by training; remove them now
  for (const name of existsSync(checkpoints) ? readdirSync(checkpoints) : []) {
    const epoch = checkpointEpoch(name);
    if (epoch !== null && epoch > manifest.epochsCompleted) rmSync(join(checkpoints, name));
  }
  return manifest.status === 'complete' ? null : state;
}

/**
 * True when epoch `epoch`'s checkpoint file holds exactly the float32 weights of `state`.
 * With `recordedSha256` (a committed file), its bytes must match that before they are parsed.
 */
function epochAgrees(dir: string, state: ResumeState, epoch: number, recordedSha256?: string): boolean {
  const path = checkpointPath(dir, epoch);
  if (!existsSync(path)) return false;
  const bytes = readFileSync(path);
  if (recordedSha256 !== undefined && sha256Hex(bytes) !== recordedSha256) return false;
  const { rows } = parseCheckpoints(bytes, path);
  if (rows.size !== state.size || rows.run.length !== state.runs) return false;
  const w32 = Float32Array.from(state.weights);
  for (let r = 0; r < state.runs; r++) {
    if (rows.sha256[r] !== weightsSha256(w32.subarray(r * state.size, (r + 1) * state.size))) return false;
    if (weightsSha256(rows.weights.subarray(r * state.size, (r + 1) * state.size)) !== rows.sha256[r])
      return false;
  }
  return true;
}

/** Writes one epoch in commit order: checkpoint file, resume state, manifest (the commit). */
export function commitEpoch(
  dir: string,
  manifest: ZooManifest,
  checkpoint: { rows: CheckpointRows; metadata: Record<string, string> },
  state: ResumeState,
  onWrite?: WriteObserver,
): void {
  const { epoch } = state;
  const observed = (file: WriteEvent['file'], write: (beforeRename: () => void) => void) => {
    write(() => onWrite?.({ epoch, file, stage: 'tmp-written' }));
    onWrite?.({ epoch, file, stage: 'done' });
  };
  const files = (manifest.files ??= {});
  observed(
    'checkpoint',
    (hook) =>
      (files[checkpointFileName(epoch)] = writeCheckpointFile(
        checkpointPath(dir, epoch),
        checkpoint.rows,
        checkpoint.metadata,
        hook,
      )),
  );
  observed('resume', (hook) => (files[RESUME_FILE] = writeResumeState(dir, state, hook)));
  manifest.epochsCompleted = epoch;
  if (epoch === zooShape(manifest).epochs) manifest.status = 'complete';
  commitManifest(dir, manifest, epoch, onWrite);
}

function commitManifest(dir: string, manifest: ZooManifest, epoch: number, onWrite?: WriteObserver): void {
  manifest.updatedAt = manifestTime();
  writeManifest(dir, manifest, () => onWrite?.({ epoch, file: 'manifest', stage: 'tmp-written' }));
  onWrite?.({ epoch, file: 'manifest', stage: 'done' });
}

/** A committed checkpoint file that is missing or whose bytes differ from the SHA-256 the manifest records. */
export interface DamagedCheckpoint {
  epoch: number;
  path: string;
  what: string;
}

/** The committed checkpoint files that are damaged (none for a zoo written before file hashes were recorded). */
export function damagedCheckpoints(dir: string, manifest: ZooManifest): DamagedCheckpoint[] {
  if (!manifest.files) return [];
  const damaged: DamagedCheckpoint[] = [];
  for (let epoch = 0; epoch <= manifest.epochsCompleted; epoch++) {
    const path = checkpointPath(dir, epoch);
    if (!existsSync(path)) damaged.push({ epoch, path, what: 'missing' });
    else if (sha256Hex(readFileSync(path)) !== manifest.files[checkpointFileName(epoch)])
      damaged.push({ epoch, path, what: 'bytes differ from the recorded SHA-256' });
  }
  return damaged;
}

/** A committed epoch's checkpoints: its file checked against the manifest's hash, then parsed. */
export function readCommittedCheckpoints(dir: string, manifest: ZooManifest, epoch: number): CheckpointRows {
  const path = checkpointPath(dir, epoch);
  const bytes = readFileSync(path);
  if (sha256Hex(bytes) !== manifest.files?.[checkpointFileName(epoch)])
    throw new ZooError(
      `${path} does not match the SHA-256 its manifest records; run \`npm run verify -- --zoo ${dir}\``,
    );
  return parseCheckpoints(bytes, path).rows;
}

/** The row hashes of a committed epoch, for the parent chain. */
export const committedRowSha256 = (dir: string, manifest: ZooManifest, epoch: number): string[] =>
  readCommittedCheckpoints(dir, manifest, epoch).sha256;

/**
 * Commits one epoch of a zoo without training state (an import): its checkpoint file, then
 * the manifest naming it. `last`: the zoo is complete with it.
 */
export function commitCheckpoints(
  dir: string,
  manifest: ZooManifest,
  epoch: number,
  checkpoint: { rows: CheckpointRows; metadata: Record<string, string> },
  last: boolean,
): void {
  const files = (manifest.files ??= {});
  files[checkpointFileName(epoch)] = writeCheckpointFile(
    checkpointPath(dir, epoch),
    checkpoint.rows,
    checkpoint.metadata,
  );
  manifest.epochsCompleted = epoch;
  if (last) manifest.status = 'complete';
  commitManifest(dir, manifest, epoch);
}

/** Removes what an interrupted writer of a zoo without training state left: temp files, checkpoint files never committed. */
export function settleUncommitted(dir: string, manifest: ZooManifest): void {
  for (const path of zooTempFiles(dir)) rmSync(path);
  const checkpoints = join(dir, CHECKPOINT_DIR);
  for (const name of existsSync(checkpoints) ? readdirSync(checkpoints) : []) {
    const epoch = checkpointEpoch(name);
    if (epoch !== null && epoch > manifest.epochsCompleted) rmSync(join(checkpoints, name));
  }
}

/** Every temp file a killed writer can leave in a zoo. */
export const zooTempFiles = (dir: string) => tempFiles(dir, join(dir, CHECKPOINT_DIR));
