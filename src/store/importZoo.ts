/**
 * Imports checkpoints trained elsewhere (safetensors files, e.g. PyTorch state_dicts) as an
 * ordinary zoo: the same Arrow checkpoint files with row hashes and parent chain, and a
 * manifest whose `origin` records every source file and its SHA-256.
 *
 * Two passes. The first reads every source file and checks it (the same tensor names,
 * shapes and dtypes as the first file, finite values, unchanged since an earlier import)
 * before anything is written, so bad input leaves the disk as it was. The second writes
 * epoch by epoch, each committed by the manifest (zooCommit.ts), so an interrupted import
 * continues where it stopped when run again.
 */
import { option } from '../core/errors.ts';
import { networkProblem, type Network } from '../core/network.ts';
import { withZooLockSync } from './zooLock.ts';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineArchitecture, type Architecture } from '../core/architectures.ts';
import { sha256Hex } from './fileHashes.ts';
import {
  checkpointRows,
  COLUMN_METRICS,
  isColumnMetric,
  ZOO_METADATA_KEY,
  type CheckpointRows,
} from './checkpointFile.ts';
import { parseSafetensors, type SafetensorsContent } from './formats/safetensors.ts';
import { readTfjsTensors } from './formats/tfjsModel.ts';
import { tfjsFolderNetwork } from './formats/tfjsNetwork.ts';
import { ImportError, planSource, type SourceEntry, type SourcePlan } from './importSources.ts';
import {
  manifestTime,
  MANIFEST_FILE,
  readManifest,
  softwareVersions,
  writeManifest,
  ZOO_FORMAT,
  type ParentLink,
  type ZooManifest,
  type ZooOrigin,
} from './manifest.ts';
import { CHECKPOINT_DIR } from './zooLayout.ts';
import { weightsSha256 } from './sha256.ts';
import { commitCheckpoints, committedRowSha256, settleUncommitted } from './zooCommit.ts';

export interface ImportOptions {
  /** A folder of .safetensors files, or a .csv/.json listing of them. */
  source: string;
  /** The zoo folder to write (created; an earlier import into it is continued). */
  dir: string;
  /** The zoo's name (and its architecture's, unless `arch` is given). */
  name: string;
  arch?: string;
  /** Layout pattern of the files' paths (default: auto-detected from the common ones). */
  layout?: string;
  /** Refuse tensors that are not floating point instead of skipping them. */
  strict?: boolean;
  /**
   * The computation the checkpoints' tensors define (core/network.ts), stored in the
   * manifest; it must describe the imported tensors. Given again for an earlier import, it
   * is added (or replaced) without rewriting any checkpoint.
   */
  network?: Network;
  /**
   * Scores each checkpoint written (its weights in the architecture's order), filling the
   * test loss and accuracy columns a listing leaves empty (the CLI's --evaluate runs the
   * network on MNIST).
   */
  evaluate?: (weights: Float32Array, arch: Architecture) => { testLoss: number; testAccuracy: number };
  /** Files checked, then files written. */
  onProgress?: (phase: 'checking' | 'writing', done: number, total: number) => void;
  /** The checkpoint the runs were fine-tuned from, in another zoo (resolved by the caller: store/refs.ts). */
  parent?: ParentLink;
}

/** The parent reference a JSON listing names (its entries' `parent`, which must agree), or undefined. */
export function listingParent(source: string): string | undefined {
  if (!/\.json$/i.test(source)) return undefined;
  const plan = planSource(source);
  const named = [...new Set(plan.entries.flat().flatMap((e) => (e.parent ? [e.parent] : [])))];
  if (named.length > 1)
    throw new ImportError(
      `${source} names ${named.length} parents (${named.join(', ')}); a zoo records one, import the runs apart`,
    );
  return named[0];
}

export interface ImportResult {
  manifest: ZooManifest;
  layout: string;
  /** Epochs written by this call (0 when the zoo was already up to date). */
  epochsWritten: number;
  resumedAfterEpoch: number | null;
  skippedTensors: string[];
}

/**
 * The network a source describes by itself: a folder of TensorFlow.js model folders carries
 * its topology (the first model.json's is read); safetensors files carry none (null).
 */
export async function sourceNetwork(
  source: string,
  layout?: string,
): Promise<{ network: Network | null; note: string | null } | null> {
  const plan = planSource(source, layout);
  if (plan.format !== 'tfjs') return null;
  return tfjsFolderNetwork(join(plan.root, plan.entries[0][0].path));
}

/** Imports (or continues importing) the zoo, holding its lock (zooLock.ts). */
export function importZoo(options: ImportOptions): ImportResult {
  return withZooLockSync(options.dir, `import under another ${option('name')}`, () => importLocked(options));
}

function importLocked(options: ImportOptions): ImportResult {
  const plan = planSource(options.source, options.layout);
  const runs = plan.runLabels.length;
  const epochs = plan.entries[0].length - 1;
  const existing = existingImport(options.dir, plan);
  const { arch, skipped, sha256 } = checkSources(plan, options, existing);
  if (existing && JSON.stringify(existing.architecture) !== JSON.stringify(arch))
    throw new ImportError(
      `${options.dir} holds an import of another architecture; choose another ${option('dir')} or ${option('name')}`,
    );
  const networkMismatch = options.network && networkProblem(options.network, arch);
  if (networkMismatch)
    throw new ImportError(`the network given does not describe the imported tensors: ${networkMismatch}`);

  const manifest: ZooManifest = existing ?? newManifest(options, plan, arch);
  const addsNetwork =
    options.network !== undefined && JSON.stringify(options.network) !== JSON.stringify(manifest.network);
  if (options.network) manifest.network = options.network;
  const origin = manifest.origin!;
  origin.epochs = epochs;
  origin.source = options.source;
  origin.skippedTensors = skipped;
  if (options.parent) origin.parent = options.parent;
  // run tags a listing gives: the last entry of a run that has them
  plan.entries.forEach((list, r) => {
    const tags = [...list].reverse().find((e) => e.tags)?.tags;
    if (tags) (origin.runInfo ??= {})[r] = { ...origin.runInfo?.[r], tags };
  });
  if (manifest.epochsCompleted < epochs) manifest.status = 'training';
  const resumedAfterEpoch = existing ? existing.epochsCompleted : null;
  const first = manifest.epochsCompleted + 1;
  if (existing) settleUncommitted(options.dir, manifest);
  else mkdirSync(join(options.dir, CHECKPOINT_DIR), { recursive: true });

  // the parent chain continues from the last committed epoch's rows
  let parents: (string | null)[] =
    first > 0 ? committedRowSha256(options.dir, manifest, first - 1) : new Array(runs).fill(null);
  for (let e = first; e <= epochs; e++) {
    const rows = epochRows(plan, e, arch, parents, options.evaluate);
    for (let r = 0; r < runs; r++) {
      const entry = plan.entries[r][e];
      origin.files.push({ run: r, epoch: e, step: entry.step, path: entry.path, sha256: sha256[r][e] });
    }
    const meta = JSON.stringify({ name: manifest.name, architecture: arch, origin: { kind: 'import' } });
    commitCheckpoints(
      options.dir,
      manifest,
      e,
      { rows, metadata: { [ZOO_METADATA_KEY]: meta } },
      e === epochs,
    );
    parents = rows.sha256;
    options.onProgress?.('writing', (e - first + 1) * runs, (epochs - first + 1) * runs);
  }
  if (first > epochs && addsNetwork) writeManifest(options.dir, manifest); // only the network is new
  return {
    manifest,
    layout: plan.layout,
    epochsWritten: Math.max(0, epochs - first + 1),
    resumedAfterEpoch,
    skippedTensors: skipped,
  };
}

/** An earlier import into `dir` to continue, or null for a new zoo; refuses folders that hold something else. */
function existingImport(dir: string, plan: SourcePlan): ZooManifest | null {
  if (!existsSync(dir)) return null;
  if (!existsSync(join(dir, MANIFEST_FILE))) {
    if (readdirSync(dir).length)
      throw new ImportError(
        `${dir} exists and is not a zoo; choose an empty or new folder with ${option('dir')}/${option('name')}`,
      );
    return null;
  }
  const manifest = readManifest(dir);
  if (!manifest.origin)
    throw new ImportError(
      `${dir} holds a zoo trained by \`npm run zoo\`, not an import; choose another ${option('dir')} or ${option('name')}`,
    );
  if (JSON.stringify(manifest.origin.runLabels) !== JSON.stringify(plan.runLabels))
    throw new ImportError(
      `${dir} was imported from runs ${manifest.origin.runLabels.slice(0, 4).join(', ')}..., the source now has ${plan.runLabels.slice(0, 4).join(', ')}...; import into another folder`,
    );
  if (plan.entries[0].length - 1 < manifest.epochsCompleted)
    throw new ImportError(
      `the source has ${plan.entries[0].length} checkpoints per run, fewer than the ${manifest.epochsCompleted + 1} already imported into ${dir}`,
    );
  return manifest;
}

/**
 * Reads every source file once: the architecture is the first file's floating-point tensors
 * in the order of their bytes; every other file must have the same names, shapes and dtypes,
 * finite values, and (already imported) the same bytes as before.
 */
function checkSources(
  plan: SourcePlan,
  options: ImportOptions,
  existing: ZooManifest | null,
): { arch: Architecture; skipped: string[]; sha256: string[][] } {
  const total = plan.entries.length * plan.entries[0].length;
  let arch: Architecture | null = null;
  let reference: SafetensorsContent | null = null;
  let firstPath = '';
  const skipped = new Set<string>();
  const sha256 = plan.entries.map((list) => list.map(() => ''));
  const before = new Map(existing?.origin?.files.map((f) => [`${f.run}/${f.epoch}`, f]) ?? []);
  let done = 0;
  plan.entries.forEach((list, r) =>
    list.forEach((entry, e) => {
      const path = join(plan.root, entry.path);
      const { content, bytes } = readSource(plan, path, options.strict ? 'refuse' : 'skip');
      sha256[r][e] = sha256Hex(bytes);
      const earlier = before.get(`${r}/${e}`);
      if (earlier && e <= existing!.epochsCompleted && earlier.sha256 !== sha256[r][e])
        throw new ImportError(
          `${path} changed since it was imported as run ${r} epoch ${e} (SHA-256 ${earlier.sha256.slice(0, 12)}…, now ${sha256[r][e].slice(0, 12)}…); import into a new folder to keep both`,
        );
      for (const s of content.skipped) skipped.add(`${s.name} (${s.dtype})`);
      if (!reference) {
        if (!content.tensors.size) throw new ImportError(`${path} holds no floating-point tensors`);
        reference = content;
        firstPath = path;
        arch = defineArchitecture(
          options.arch ?? options.name,
          `${content.tensors.size} tensors imported from ${plan.format}`,
          [...content.tensors].map(([name, t]) => ({
            name,
            shape: t.shape,
            dtype: content.dtypes.get(name),
          })),
        );
      } else sameTensors(reference, firstPath, content, path);
      for (const [name, t] of content.tensors) {
        const bad = t.values.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0)
          throw new ImportError(
            `${path}: tensor '${name}' holds ${t.values[bad]} at index ${bad}; only finite weights can be imported`,
          );
      }
      options.onProgress?.('checking', ++done, total);
    }),
  );
  return { arch: arch!, skipped: [...skipped].sort(), sha256 };
}

function sameTensors(
  reference: SafetensorsContent,
  refPath: string,
  content: SafetensorsContent,
  path: string,
): void {
  for (const [name, t] of reference.tensors) {
    const other = content.tensors.get(name);
    if (!other)
      throw new ImportError(
        `${path} has no tensor '${name}', which ${refPath} has; every checkpoint must have the same tensors`,
      );
    if (other.shape.join(',') !== t.shape.join(','))
      throw new ImportError(
        `${path}: tensor '${name}' has shape [${other.shape}], ${refPath} has [${t.shape}]`,
      );
    const [dtype, refDtype] = [content.dtypes.get(name), reference.dtypes.get(name)];
    if (dtype !== refDtype)
      throw new ImportError(`${path}: tensor '${name}' is ${dtype}, ${refPath} has ${refDtype}`);
  }
  const extra = [...content.tensors.keys()].filter((name) => !reference.tensors.has(name));
  if (extra.length)
    throw new ImportError(
      `${path} has tensor(s) ${extra.join(', ')} that ${refPath} lacks; every checkpoint must have the same tensors`,
    );
}

/** One epoch of every run as checkpoint rows, each file read again and laid out by the architecture's index map. */
function epochRows(
  plan: SourcePlan,
  e: number,
  arch: Architecture,
  parents: (string | null)[],
  evaluate: ImportOptions['evaluate'],
): CheckpointRows {
  const runs = plan.entries.length;
  const weights = new Float32Array(runs * arch.size);
  const step = new Int32Array(runs);
  plan.entries.forEach((list, r) => {
    const entry: SourceEntry = list[e];
    const path = join(plan.root, entry.path);
    const { tensors } = readSource(plan, path, 'skip').content;
    for (const p of arch.params) weights.set(tensors.get(p.name)!.values, r * arch.size + p.offset);
    const s = entry.step ?? entry.order;
    if (s > 0x7fffffff)
      throw new ImportError(`${path}: step ${s} does not fit the step column (at most 2^31 - 1)`);
    step[r] = s;
  });
  // a listing's metric columns: the known ones fill the zoo's metric columns, others get their own
  const metric = (r: number, names: readonly string[]) =>
    names.map((n) => plan.entries[r][e].metrics?.[n]).find((v) => v !== undefined) ?? NaN;
  const others = [...new Set(plan.entries.flatMap((list) => Object.keys(list[e].metrics ?? {})))]
    .filter((k) => !isColumnMetric(k))
    .sort();
  const row = (r: number) => weights.subarray(r * arch.size, (r + 1) * arch.size);
  const sha256 = Array.from({ length: runs }, (_, r) => weightsSha256(row(r)));
  const testLoss = Float64Array.from({ length: runs }, (_, r) => metric(r, COLUMN_METRICS.testLoss));
  const testAccuracy = Float64Array.from({ length: runs }, (_, r) => metric(r, COLUMN_METRICS.testAccuracy));
  if (evaluate)
    for (let r = 0; r < runs; r++) {
      if (!Number.isNaN(testLoss[r]) && !Number.isNaN(testAccuracy[r])) continue;
      const score = evaluate(row(r), arch);
      if (Number.isNaN(testLoss[r])) testLoss[r] = score.testLoss;
      if (Number.isNaN(testAccuracy[r])) testAccuracy[r] = score.testAccuracy;
    }
  return checkpointRows({
    size: arch.size,
    weights,
    run: Array.from({ length: runs }, (_, r) => r),
    seed: Array.from({ length: runs }, (_, r) => r),
    epoch: new Int32Array(runs).fill(e),
    step,
    trainLoss: Float64Array.from({ length: runs }, (_, r) => metric(r, COLUMN_METRICS.trainLoss)),
    testLoss,
    testAccuracy,
    sha256,
    parentSha256: parents,
    metrics: Object.fromEntries(
      others.map((name) => [name, Float64Array.from({ length: runs }, (_, r) => metric(r, [name]))]),
    ),
  });
}

/** A source checkpoint's tensors, and the bytes that identify it (for the change check). */
function readSource(
  plan: SourcePlan,
  path: string,
  otherDtypes: 'refuse' | 'skip',
): { content: SafetensorsContent; bytes: Uint8Array } {
  if (plan.format === 'tfjs') {
    const content = readTfjsTensors(path, otherDtypes);
    return { content, bytes: content.bytes };
  }
  const bytes = readFileSync(path);
  return { content: parseSafetensors(bytes, path, { otherDtypes }), bytes };
}

function newManifest(options: ImportOptions, plan: SourcePlan, arch: Architecture): ZooManifest {
  const now = manifestTime();
  const origin: ZooOrigin = {
    kind: 'import',
    source: options.source,
    runs: plan.runLabels.length,
    epochs: plan.entries[0].length - 1,
    runLabels: plan.runLabels,
    files: [],
    skippedTensors: [],
  };
  return {
    format: ZOO_FORMAT,
    name: options.name,
    origin,
    architecture: arch,
    engine: { name: `import (${plan.format})`, precision: 'float32' },
    software: softwareVersions(),
    data: { source: 'unknown (imported checkpoints)', preprocessing: 'unknown', fileSha256: {} },
    status: 'training',
    files: {},
    epochsCompleted: -1,
    createdAt: now,
    updatedAt: now,
  };
}
