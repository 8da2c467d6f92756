/**
 * `git fsck` for a zoo: checks everything a zoo directory claims about itself and names each
 * file and row that breaks a claim.
 *
 *  - manifest: readable, of this format, architecture consistent (tensor offsets and sizes add
 *    up to its size), config and architecture match;
 *  - every committed epoch's checkpoint file: readable, the manifest's architecture and
 *    dimension, one row per run in run order, epoch and seed columns right, every row's
 *    SHA-256 recomputed, weights finite, parent chain (epoch e's parent_sha256 is epoch e-1's
 *    hash of the same run; null at epoch 0);
 *  - resume.arrow (needed while training): dimensions, its epoch, and its weights rounded to
 *    float32 equal to that epoch's checkpoints;
 *  - identify's index: readable, its checksum, and whether it is current (a stale one is a
 *    note: identify rebuilds it);
 *  - notes (not damage): uncommitted checkpoint files and temp files a killed run left, which
 *    the next `npm run zoo` settles.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readTags, type Tags } from './tags.ts';
import { join } from 'node:path';
import type { ZooConfig } from '../core/zooConfig.ts';
import { isUserError } from '../core/errors.ts';
import { tempFiles } from './atomicWrite.ts';
import { parseCheckpoints } from './checkpointFile.ts';
import { readCheckpointFileWithin } from './untrustedCheckpoint.ts';
import { summarizeCheckpoints, type CheckpointSummary } from './checkpointSummary.ts';
import { sha256Hex } from './fileHashes.ts';
import { indexPaths, readIndex } from './indexFile.ts';
import { checkpointEpoch, INFERRED_FILE, TAGS_FILE } from './zooLayout.ts';
import { readInferredLinks } from './inferredLinks.ts';
import { zooDigest } from './loadZoo.ts';
import {
  CHECKPOINT_DIR,
  checkpointFileName,
  checkpointPath,
  configDifferences,
  MANIFEST_FILE,
  readManifest,
  RESUME_FILE,
  zooShape,
  incompleteNote,
  type ZooManifest,
} from './manifest.ts';
import { readResumeState } from './resumeState.ts';
import { weightsSha256 } from './sha256.ts';

export interface Finding {
  file: string;
  /** Row in that file, when the finding is about one. */
  row?: number;
  run?: number;
  epoch?: number;
  what: string;
}

export interface VerifyReport {
  zoo: string;
  sound: boolean;
  /** Damage: the zoo does not hold what it claims. */
  problems: Finding[];
  /** Not damage: leftovers of an interrupted run, a stale index. */
  notes: Finding[];
  /** Training stopped before the last epoch (manifest.ts incompleteNote), or null: not damage. */
  incomplete: string | null;
  checked: { epochs: number; runs: number; checkpoints: number; files: number };
  seconds: number;
}

/** Problems past this many in one file are summarised, so a wrecked file does not flood the report. */
const MAX_PER_FILE = 20;

export function verifyZoo(zooDir: string): VerifyReport {
  const start = performance.now();
  const problems: Finding[] = [];
  const notes: Finding[] = [];
  const checked = { epochs: 0, runs: 0, checkpoints: 0, files: 0 };
  let incomplete: string | null = null;
  const done = () => ({
    zoo: zooDir,
    sound: problems.length === 0,
    problems,
    notes,
    incomplete,
    checked,
    seconds: (performance.now() - start) / 1000,
  });

  const manifestPath = join(zooDir, MANIFEST_FILE);
  let manifest: ZooManifest;
  try {
    manifest = readManifest(zooDir);
  } catch (err) {
    if (!existsSync(manifestPath)) throw err; // not a zoo at all: bad usage, not damage
    if (!isUserError(err)) throw err;
    problems.push({ file: manifestPath, what: withoutPath((err as Error).message, manifestPath) });
    return done();
  }
  checked.files++;
  incomplete = incompleteNote(manifest);
  const shape = zooShape(manifest);
  const runs = shape.runs;
  const dim = manifest.architecture.size;
  const last = manifest.epochsCompleted;
  checked.runs = runs;

  const sha: (string | null)[][] = []; // stored hashes by epoch, then run
  for (let e = 0; e <= last; e++) {
    const path = checkpointPath(zooDir, e);
    const found: Finding[] = [];
    const add = (f: Omit<Finding, 'file'>) => found.push({ file: path, ...f });
    sha[e] = new Array(runs).fill(null);
    checked.files++;
    if (!existsSync(path)) {
      add({ epoch: e, what: `missing (the manifest has committed epochs 0-${last})` });
      problems.push(...found);
      continue;
    }
    const bytes = readFileSync(path);
    const recorded = manifest.files?.[checkpointFileName(e)];
    const actual = sha256Hex(bytes);
    const mismatch = manifest.files !== undefined && actual !== recorded;
    if (mismatch)
      add({
        epoch: e,
        what: `bytes do not match the SHA-256 the manifest recorded (${String(recorded).slice(0, 12)}…, found ${actual.slice(0, 12)}…)`,
      });
    let summary: CheckpointSummary | { error: string };
    try {
      // a file that failed its hash may hang the Arrow reader: it is read in a worker with a time limit
      summary = summarizeCheckpoints(
        mismatch ? readCheckpointFileWithin(path) : parseCheckpoints(bytes, path),
        path,
      );
    } catch (err) {
      if (!isUserError(err)) throw err;
      const what = withoutPath((err as Error).message, path);
      summary = { error: mismatch ? `and cannot be read row by row: ${what}` : what };
    }
    if ('error' in summary) {
      add({ epoch: e, what: summary.error });
      problems.push(...found);
      continue;
    }
    const rows = summary;
    if (rows.arch !== shape.arch)
      add({
        epoch: e,
        what: `holds ${rows.arch ?? 'unlabelled'} checkpoints, the manifest says ${shape.arch}`,
      });
    else if (
      manifest.config &&
      rows.config &&
      configDifferences(manifest.config, rows.config as unknown as ZooConfig)
    ) {
      add({
        epoch: e,
        what: `was trained with another config than the manifest says (${configDifferences(manifest.config, rows.config as unknown as ZooConfig)})`,
      });
    }
    if (rows.size !== dim)
      add({ epoch: e, what: `rows hold ${rows.size} weights, the manifest's architecture ${dim}` });
    const n = rows.run.length;
    if (n !== runs) add({ epoch: e, what: `${n} rows, the manifest has ${runs} runs` });
    if (rows.size === dim) {
      const seen = new Set<number>();
      for (let i = 0; i < n; i++) {
        const run = rows.run[i];
        const at = { row: i, run, epoch: rows.epoch[i] };
        if (run !== i)
          add({
            ...at,
            what: seen.has(run) ? `run ${run} appears twice` : `holds run ${run} where run ${i} belongs`,
          });
        seen.add(run);
        if (rows.epoch[i] !== e)
          add({ ...at, what: `epoch column says ${rows.epoch[i]}, the file is epoch ${e}` });
        if (run >= 0 && run < runs && rows.seed[i] !== shape.seedOf(run))
          add({
            ...at,
            what: `seed ${rows.seed[i]}, the ${manifest.config ? 'config' : 'manifest'} gives run ${run} seed ${shape.seedOf(run)}`,
          });
        if (rows.actualSha256[i] !== rows.sha256[i])
          add({
            ...at,
            what: `weights do not match their SHA-256 (stored ${String(rows.sha256[i]).slice(0, 12)}…, computed ${rows.actualSha256[i].slice(0, 12)}…)`,
          });
        if (rows.nonFinite[i] >= 0)
          add({ ...at, what: `weight ${rows.nonFinite[i]} is ${rows.nonFiniteValue[i]} (not finite)` });
        if (run === i) sha[e][i] = rows.sha256[i];
        const parent = rows.parentSha256[i];
        if (e === 0 && parent !== null) add({ ...at, what: 'has a parent_sha256 at epoch 0 (must be null)' });
        if (e > 0 && run === i && sha[e - 1]?.[i] && parent !== sha[e - 1][i])
          add({
            ...at,
            what: `parent_sha256 ${String(parent).slice(0, 12)}… is not epoch ${e - 1}'s hash of run ${i} (${sha[e - 1][i]!.slice(0, 12)}…)`,
          });
      }
      for (let r = 0; r < runs; r++) if (!seen.has(r)) add({ run: r, epoch: e, what: `run ${r} is missing` });
      checked.checkpoints += n;
    }
    problems.push(...found.slice(0, MAX_PER_FILE));
    if (found.length > MAX_PER_FILE)
      problems.push({ file: path, what: `and ${found.length - MAX_PER_FILE} more problems in this file` });
    checked.epochs++;
  }

  checkResume(zooDir, manifest, sha, problems, notes);
  checkLeftovers(zooDir, last, notes);
  checkIndex(zooDir, manifest, sha, problems, notes);
  checkTags(zooDir, sha, problems);
  checkInferredLinks(zooDir, problems);
  return done();
}

function checkResume(
  zooDir: string,
  manifest: ZooManifest,
  sha: (string | null)[][],
  problems: Finding[],
  notes: Finding[],
): void {
  const path = join(zooDir, RESUME_FILE);
  const training = manifest.status !== 'complete' && manifest.epochsCompleted >= 0;
  if (!existsSync(path)) {
    if (training)
      problems.push({
        file: path,
        what: 'missing, so training cannot continue (the committed epochs still load)',
      });
    return;
  }
  const recorded = manifest.files?.[RESUME_FILE];
  const uncommitted = existsSync(checkpointPath(zooDir, manifest.epochsCompleted + 1));
  if (recorded && !uncommitted && sha256Hex(readFileSync(path)) !== recorded) {
    problems.push({ file: path, what: 'bytes do not match the SHA-256 the manifest recorded' });
    return;
  }
  let state;
  try {
    state = readResumeState(zooDir);
  } catch (err) {
    if (!isUserError(err)) throw err;
    (training ? problems : notes).push({ file: path, what: withoutPath((err as Error).message, path) });
    return;
  }
  if (!state) return;
  const { runs, size } = { runs: zooShape(manifest).runs, size: manifest.architecture.size };
  if (state.runs !== runs || state.size !== size) {
    problems.push({
      file: path,
      what: `holds ${state.runs} x ${state.size} values, the zoo ${runs} x ${size}`,
    });
    return;
  }
  const committed = manifest.epochsCompleted;
  if (state.epoch === committed + 1) {
    notes.push({
      file: path,
      epoch: state.epoch,
      what: `epoch ${state.epoch} was written but not committed (an interrupted run; \`npm run zoo\` settles it)`,
    });
    return;
  }
  if (state.epoch !== committed) {
    problems.push({
      file: path,
      epoch: state.epoch,
      what: `holds epoch ${state.epoch}, the manifest has committed epoch ${committed}`,
    });
    return;
  }
  const w32 = Float32Array.from(state.weights);
  for (let r = 0; r < runs; r++) {
    const expected = sha[committed]?.[r];
    if (expected && weightsSha256(w32.subarray(r * size, (r + 1) * size)) !== expected) {
      problems.push({
        file: path,
        run: r,
        epoch: committed,
        what: `run ${r}'s weights differ from its epoch ${committed} checkpoint`,
      });
    }
  }
}

function checkLeftovers(zooDir: string, last: number, notes: Finding[]): void {
  const dir = join(zooDir, CHECKPOINT_DIR);
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const epoch = checkpointEpoch(name);
    if (epoch !== null && epoch > last)
      notes.push({
        file: join(dir, name),
        epoch,
        what: 'not committed (an interrupted run; `npm run zoo` settles it)',
      });
  }
  for (const tmp of tempFiles(zooDir, dir))
    notes.push({ file: tmp, what: 'temp file of an interrupted write (`npm run zoo` removes it)' });
}

function checkIndex(
  zooDir: string,
  manifest: ZooManifest,
  sha: (string | null)[][],
  problems: Finding[],
  notes: Finding[],
): void {
  const paths = indexPaths(zooDir);
  if (!existsSync(paths.meta)) {
    if (existsSync(paths.index))
      notes.push({ file: paths.index, what: 'an index of an older layout (identify rebuilds it)' });
    return;
  }
  try {
    const digest = zooDigest(sha.flat().map((s) => s ?? ''));
    if (!readIndex(zooDir, manifest, digest))
      notes.push({
        file: paths.meta,
        what: 'stale: built from other checkpoints than the zoo now holds, or an older layout (identify rebuilds it)',
      });
  } catch (err) {
    if (!isUserError(err)) throw err;
    const message = (err as Error).message;
    const file = [paths.meta, paths.index, paths.svd].find((p) => message.startsWith(p)) ?? paths.meta;
    problems.push({ file, what: withoutPath(message, file) });
  }
}

/** The tags file parses, and every tag names a checkpoint the zoo holds. */
function checkTags(zooDir: string, sha: (string | null)[][], problems: Finding[]): void {
  const path = join(zooDir, TAGS_FILE);
  if (!existsSync(path)) return;
  let tags: Tags;
  try {
    tags = readTags(zooDir);
  } catch (err) {
    if (!isUserError(err)) throw err;
    problems.push({ file: path, what: withoutPath((err as Error).message, path) });
    return;
  }
  const held = new Set(sha.flat());
  for (const [name, tag] of Object.entries(tags))
    if (!held.has(tag.sha256))
      problems.push({
        file: path,
        what: `tag '${name}' names ${tag.sha256.slice(0, 12)}, which is not a checkpoint of this zoo`,
      });
}

/** The inferred links file, when there is one, parses. */
function checkInferredLinks(zooDir: string, problems: Finding[]): void {
  const path = join(zooDir, INFERRED_FILE);
  if (!existsSync(path)) return;
  try {
    readInferredLinks(zooDir);
  } catch (err) {
    if (!isUserError(err)) throw err;
    problems.push({ file: path, what: withoutPath((err as Error).message, path) });
  }
}

/** An error message without the file name it starts with (a finding names its file apart). */
function withoutPath(message: string, path: string): string {
  return message.startsWith(path) ? message.slice(path.length).replace(/^:?\s*/, '') : message;
}

/** One line per finding, for people. */
export function formatFinding(f: Finding): string {
  const where = [
    f.row !== undefined ? `row ${f.row}` : '',
    f.run !== undefined ? `run ${f.run}` : '',
    f.epoch !== undefined ? `epoch ${f.epoch}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${f.file}${where ? ` (${where})` : ''}: ${f.what}`;
}
