/**
 * A checkpoint history as `log`, `show` and `tag` read and write it: every checkpoint's
 * labels, hash, parent, metrics and tags (metadata; no weights), and for `show` one
 * checkpoint's per-tensor profile. The CLI commands are thin layers over these functions.
 */
import { statSync } from 'node:fs';
import { zooRowIndex, type ZooRow } from '../core/zoo.ts';
import { weightProfile, moments, type Moments, type TensorProfile } from '../reduce/profile.ts';
import type { Catalog, CatalogZoo } from '../store/catalog.ts';
import { readCheckpointFile } from '../store/checkpointFile.ts';
import { ZooIntegrityError } from '../store/loadZoo.ts';
import { checkpointPath, zooShape } from '../store/manifest.ts';
import {
  describeRef,
  resolveCheckpoint,
  runCheckpoint,
  RefError,
  type CheckpointRef,
} from '../store/refs.ts';
import { weightsSha256 } from '../store/sha256.ts';
import { addTag, deleteTag, type Tag, type Tags } from '../store/tags.ts';

/** One checkpoint as `log` lists it. */
export interface LogEntry {
  /** `zoo:run@epoch`. */
  ref: string;
  zoo: string;
  run: number;
  epoch: number;
  /** Optimizer steps so far. */
  step: number;
  sha256: string;
  /** The parent checkpoint's SHA-256 (null at a root). */
  parent: string | null;
  /** For epoch 0 of a fork (the checkpoint it starts from): the parent's reference in its zoo, as the manifest records it. */
  forkedFrom: string | null;
  /** The metrics recorded for it (finite ones only), by column name. */
  metrics: Record<string, number>;
  /** Tags naming this checkpoint. */
  tags: string[];
  /** The run's tags and note (imported and recorded zoos). */
  runTags: Record<string, string>;
  note: string | null;
  /** The file it was imported from, for imported zoos. */
  source: string | null;
  /** When its epoch was committed (the checkpoint file's time). */
  time: string;
}

export interface LogOptions {
  /** One run (default: every run). */
  run?: number;
  /** At most this many entries, newest first (default: all). */
  limit?: number;
}

/** A zoo's history, newest first within each run, runs in order: like `git log` over every branch. */
export function zooLog(zoo: CatalogZoo, options: LogOptions = {}): LogEntry[] {
  return [...zooLogEntries(zoo, options)];
}

/** zooLog one entry at a time, so that a long history prints its first page at once. */
export function* zooLogEntries(zoo: CatalogZoo, options: LogOptions = {}): Generator<LogEntry> {
  const { runs } = zooShape(zoo.manifest);
  const last = zoo.manifest.epochsCompleted;
  if (options.run !== undefined) runCheckpoint(zoo, options.run); // refuses a run the zoo lacks
  const limit = options.limit ?? Infinity;
  const chosen = options.run === undefined ? Array.from({ length: runs }, (_, r) => r) : [options.run];
  const times: string[] = [];
  const time = (e: number) => (times[e] ??= statSync(checkpointPath(zoo.dir, e)).mtime.toISOString());
  let count = 0;
  for (const run of chosen)
    for (let epoch = last; epoch >= 0 && count < limit; epoch--, count++)
      yield logEntry(zoo, run, epoch, time(epoch));
}

export function logEntry(zoo: CatalogZoo, run: number, epoch: number, time: string): LogEntry {
  return { ...checkpointEntry(zoo, run, epoch), time };
}

// shared by every entry that has none, so that a search of 10^5 rows allocates no empty ones
const NO_TAGS: string[] = Object.freeze([]) as unknown as string[];
const NO_RUN_TAGS: Record<string, string> = Object.freeze({});

/** One checkpoint's entry without its time (search and show; log adds the file's time). */
export function checkpointEntry(zoo: CatalogZoo, run: number, epoch: number): Omit<LogEntry, 'time'> {
  const info = zoo.info();
  const row = zooRowIndex(info.run.length / (info.epochs + 1), run, epoch);
  const sha256 = info.sha256[row];
  const origin = zoo.manifest.origin;
  const runInfo = origin?.runInfo?.[run];
  const sources = sourcesOf(zoo);
  return {
    ref: describeRef({ zoo, run, epoch }),
    zoo: zoo.name,
    run,
    epoch,
    step: info.step[row],
    sha256,
    parent: info.parentSha256[row],
    forkedFrom: origin?.parent && origin.parent.sha256 === sha256 && epoch === 0 ? origin.parent.ref : null,
    metrics: metricsOf(zoo, row),
    tags: tagsAt(zoo, sha256),
    runTags: runInfo?.tags ?? NO_RUN_TAGS,
    note: runInfo?.note ?? null,
    source: sources.size ? (sources.get(`${run}@${epoch}`) ?? null) : null,
  };
}

/** A row's finite metrics by column name (the three metric columns, then any others). */
export function metricsOf(zoo: CatalogZoo, row: ZooRow): Record<string, number> {
  const info = zoo.info();
  const out: Record<string, number> = {};
  // a loop, not a closure per call: search builds one of these per hit
  const columns = [info.trainLoss, info.testLoss, info.testAccuracy];
  for (let k = 0; k < 3; k++) if (Number.isFinite(columns[k][row])) out[FIXED_METRICS[k]] = columns[k][row];
  for (const name in info.metrics)
    if (Number.isFinite(info.metrics[name][row])) out[name] = info.metrics[name][row];
  return out;
}

const FIXED_METRICS = ['train_loss', 'test_loss', 'test_accuracy'] as const;

// per zoo, built on first use: what every entry of a long log or search looks up
const tagNames = new WeakMap<Tags, Map<string, string[]>>();
const sources = new WeakMap<CatalogZoo, Map<string, string>>();

/** The names of the tags naming a checkpoint. */
export function tagsAt(zoo: CatalogZoo, sha256: string): string[] {
  const tags = zoo.tags();
  let bySha = tagNames.get(tags);
  if (!bySha) {
    bySha = new Map();
    for (const [name, t] of Object.entries(tags)) bySha.set(t.sha256, [...(bySha.get(t.sha256) ?? []), name]);
    tagNames.set(tags, bySha);
  }
  return bySha.get(sha256) ?? NO_TAGS;
}

/** The source file of each imported checkpoint, by `run@epoch`. */
function sourcesOf(zoo: CatalogZoo): Map<string, string> {
  let bySlot = sources.get(zoo);
  if (!bySlot) {
    bySlot = new Map((zoo.manifest.origin?.files ?? []).map((f) => [`${f.run}@${f.epoch}`, f.path]));
    sources.set(zoo, bySlot);
  }
  return bySlot;
}

/** One checkpoint as `show` describes it. */
export interface CheckpointShow extends Omit<LogEntry, 'time'> {
  dir: string;
  architecture: string;
  /** The parent's reference (null at a root, or when the parent is not under the root). */
  parentRef: string | null;
  /** Every ancestor, parent first, to the root (with `ancestors`). */
  ancestors?: string[];
  /** The checkpoints whose parent this is, in every zoo under the root. */
  children: string[];
  /** Every descendant, breadth first (with `descendants`). */
  descendants?: string[];
  /** Per tensor, then all weights and all biases together. */
  profile: TensorProfile[];
  weights: Moments;
  biases: Moments | null;
}

export interface ShowOptions {
  ancestors?: boolean;
  descendants?: boolean;
}

/** What `show REF` prints: the checkpoint, its family, its metrics and its profile. */
export function showCheckpoint(catalog: Catalog, ref: string, options: ShowOptions = {}): CheckpointShow {
  const c = resolveCheckpoint(catalog, ref);
  const family = familyOf(catalog);
  const w = checkpointWeights(c);
  const profile = weightProfile(w, c.zoo.manifest.architecture.params);
  const gather = (kind: TensorProfile['kind']) => {
    const parts = c.zoo.manifest.architecture.params.filter((_, i) => profile[i].kind === kind);
    return parts.length
      ? moments(parts.flatMap((p) => Array.from(w.subarray(p.offset, p.offset + p.size))))
      : null;
  };
  const entry = checkpointEntry(c.zoo, c.run, c.epoch);
  const parentRef = entry.parent ? (family.bySha.get(entry.parent)?.map(describeRef)[0] ?? null) : null;
  return {
    ...entry,
    dir: c.zoo.dir,
    architecture: c.zoo.manifest.architecture.name,
    parentRef,
    ...(options.ancestors && { ancestors: ancestorsOf(family, c) }),
    children: (family.children.get(c.sha256) ?? []).map(describeRef),
    ...(options.descendants && { descendants: descendantsOf(family, c) }),
    profile,
    weights: gather('weight') ?? moments(w),
    biases: gather('bias'),
  };
}

/** Every checkpoint under the root by its hash, and by its parent's hash. */
interface Family {
  bySha: Map<string, CheckpointRef[]>;
  children: Map<string, CheckpointRef[]>;
}

function familyOf(catalog: Catalog): Family {
  const bySha = new Map<string, CheckpointRef[]>();
  const children = new Map<string, CheckpointRef[]>();
  const add = (map: Map<string, CheckpointRef[]>, key: string, c: CheckpointRef) =>
    map.set(key, [...(map.get(key) ?? []), c]);
  for (const zoo of catalog.zoos) {
    const info = zoo.info();
    info.sha256.forEach((sha256, i) => {
      const c = runCheckpoint(zoo, info.run[i], String(info.epoch[i]));
      add(bySha, sha256, c);
      const parent = info.parentSha256[i];
      if (parent) add(children, parent, c);
    });
  }
  return { bySha, children };
}

/**
 * The parent chain to the root. A checkpoint held by two zoos (a fork's epoch 0 is its parent
 * checkpoint itself) is one ancestor, named by every zoo holding it (`a = b`), and the chain
 * goes on through whichever copy records a parent.
 */
function ancestorsOf(family: Family, c: CheckpointRef): string[] {
  const chain: string[] = [];
  const seen = new Set<string>([c.sha256]);
  const parentOf = (sha256: string) =>
    (family.bySha.get(sha256) ?? [c]).map((t) => t.zoo.info().parentSha256[t.row]).find((p) => p) ?? null;
  for (let at = c.sha256; ;) {
    const parent = parentOf(at);
    const copies = parent ? family.bySha.get(parent) : undefined;
    if (!parent || !copies || seen.has(parent)) return chain;
    seen.add(parent);
    chain.push(copies.map(describeRef).join(' = '));
    at = parent;
  }
}

function descendantsOf(family: Family, c: CheckpointRef): string[] {
  const out: string[] = [];
  const seen = new Set<string>([c.sha256]);
  for (let queue = [c]; queue.length;) {
    const next: CheckpointRef[] = [];
    for (const q of queue)
      for (const child of family.children.get(q.sha256) ?? [])
        if (!seen.has(child.sha256)) {
          seen.add(child.sha256);
          out.push(describeRef(child));
          next.push(child);
        }
    queue = next;
  }
  return out;
}

/** A checkpoint's weights, read from its epoch file and checked against its own SHA-256. */
export function checkpointWeights(c: CheckpointRef): Float32Array {
  const path = checkpointPath(c.zoo.dir, c.epoch);
  const { rows } = readCheckpointFile(path);
  const w = rows.weights.slice(c.run * rows.size, (c.run + 1) * rows.size);
  if (weightsSha256(w) !== c.sha256)
    throw new ZooIntegrityError(
      `${path}: run ${c.run}'s weights do not match their SHA-256; run \`npm run verify -- --zoo ${c.zoo.dir}\``,
    );
  return w;
}

/** Tags the checkpoint `ref` names as `name` in its zoo. */
export function tagCheckpoint(
  catalog: Catalog,
  ref: string,
  name: string,
  options: { note?: string; force?: boolean } = {},
): { zoo: string; ref: string; tag: Tag } {
  const c = resolveCheckpoint(catalog, ref);
  return { zoo: c.zoo.name, ref: describeRef(c), tag: addTag(c.zoo.dir, name, c.sha256, options) };
}

/** Deletes tag `name` from the one zoo under the root that has it (or from `zoo`). */
export function untag(catalog: Catalog, name: string, zoo?: string): { zoo: string; tag: Tag } {
  const holders = catalog.zoos.filter((z) => (zoo === undefined || z.name === zoo) && z.tags()[name]);
  if (holders.length === 0)
    throw new RefError(`no zoo under ${catalog.root}${zoo ? ` named ${zoo}` : ''} has a tag '${name}'`);
  if (holders.length > 1)
    throw new RefError(
      `tag '${name}' is in ${holders.length} zoos (${holders.map((z) => z.name).join(', ')}); name one with its zoo`,
    );
  return { zoo: holders[0].name, tag: deleteTag(holders[0].dir, name) };
}

/** Every tag under the root, by zoo. */
export function listTags(catalog: Catalog): { zoo: string; name: string; ref: string; tag: Tag }[] {
  return catalog.zoos.flatMap((zoo) =>
    Object.entries(zoo.tags()).map(([name, tag]) => {
      const found = zoo.info().sha256.indexOf(tag.sha256);
      const info = zoo.info();
      return {
        zoo: zoo.name,
        name,
        ref: found >= 0 ? describeRef({ zoo, run: info.run[found], epoch: info.epoch[found] }) : '(missing)',
        tag,
      };
    }),
  );
}

/**
 * `log --graph`: every run as a line of `*` (newest first), the runs forked from one of its
 * checkpoints drawn in a lane to the right just above it and joined with `|/`, as
 * `git log --graph` draws branches. `line` formats one checkpoint's entry.
 */
export function logGraph(catalog: Catalog, line: (e: LogEntry) => string, zooName?: string): string[] {
  const zoos = zooName === undefined ? catalog.zoos : catalog.zoos.filter((z) => z.name === zooName);
  const logs = new Map(catalog.zoos.map((z) => [z.name, zooLog(z)]));
  // runs that start from a checkpoint of a run under the root, by that checkpoint's reference
  const forksAt = new Map<string, { zoo: string; run: number }[]>();
  const attached = new Set<string>();
  for (const zoo of catalog.zoos) {
    const parent = zoo.manifest.origin?.parent;
    if (!parent || !catalog.zoos.some((z) => z.name === parent.zoo)) continue;
    for (let run = 0; run < zooShape(zoo.manifest).runs; run++) {
      forksAt.set(parent.ref, [...(forksAt.get(parent.ref) ?? []), { zoo: zoo.name, run }]);
      attached.add(`${zoo.name}:${run}`);
    }
  }
  const out: string[] = [];
  const draw = (zoo: string, run: number, lane: number) => {
    const entries = logs.get(zoo)!.filter((e) => e.run === run);
    // a fork's epoch 0 is its parent's checkpoint, drawn on the parent's line
    const own = attached.has(`${zoo}:${run}`) ? entries.filter((e) => e.epoch > 0) : entries;
    for (const e of own) {
      for (const fork of forksAt.get(e.ref) ?? []) {
        draw(fork.zoo, fork.run, lane + 1);
        out.push(`${'| '.repeat(lane)}|/`);
      }
      out.push(`${'| '.repeat(lane)}* ${line(e)}`);
    }
  };
  for (const zoo of zoos)
    for (let run = 0; run < zooShape(zoo.manifest).runs; run++)
      if (!attached.has(`${zoo.name}:${run}`) || zooName !== undefined) draw(zoo.name, run, 0);
  return out;
}
