/**
 * Joins the shards of a zoo trained on several machines (`zoo --shard I/N`, core/shards.ts)
 * into one zoo, byte-identical to the zoo trained on one machine: each epoch's checkpoint
 * file holds every shard's rows in run order (run ids shifted by the shard's first run), the
 * resume state is the shards' states end to end, and the manifest is the one the unsharded
 * training writes (writeManifest orders its fields), with the shards' earliest createdAt and
 * latest updatedAt.
 *
 * Everything is checked before anything is written, and the zoo is assembled in a temporary
 * folder beside `out` that is renamed into place last: a failed or killed merge leaves `out`
 * as it was.
 */
import { option } from '../core/errors.ts';
import { withZooLockSync } from './zooLock.ts';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { shardRuns } from '../core/shards.ts';
import { seedOf } from '../core/zooConfig.ts';
import {
  concatCheckpointRows,
  writeCheckpointFile,
  ZOO_METADATA_KEY,
  type CheckpointRows,
} from './checkpointFile.ts';
import {
  CHECKPOINT_DIR,
  checkpointFileName,
  checkpointPath,
  configDifferences,
  readManifest,
  RESUME_FILE,
  writeManifest,
  ZooError,
  type ZooManifest,
} from './manifest.ts';
import { readResumeState, writeResumeState } from './resumeState.ts';
import { readCommittedCheckpoints } from './zooCommit.ts';

export interface MergeShardsResult {
  manifest: ZooManifest;
  /** The shard folders in shard order. */
  shards: string[];
}

export interface MergeShardsOptions {
  /** Called after each epoch's file is written. */
  onEpoch?: (epoch: number, epochs: number) => void;
}

/** Merges the shard folders `dirs` (any order) into the new zoo folder `out`. */
export function mergeZooShards(
  dirs: string[],
  out: string,
  options: MergeShardsOptions = {},
): MergeShardsResult {
  return withZooLockSync(out, `merge into another ${option('out')}`, () => mergeLocked(dirs, out, options));
}

function mergeLocked(dirs: string[], out: string, options: MergeShardsOptions): MergeShardsResult {
  if (dirs.length === 0) throw new ZooError('no shard folders given; pass every shard of the zoo');
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0))
    throw new ZooError(
      `${out} already exists and is not empty; choose a new folder with ${option('out')} (merging never overwrites a zoo)`,
    );
  const shards = orderedShards(dirs);
  const zoo = shards[0].manifest.shard!.zoo;
  const epochs = zoo.epochs;

  // a killed merge's leftovers are removed, then the zoo is built beside `out`
  const stale = `.${basename(out)}.merging-`;
  for (const name of existsSync(dirname(out)) ? readdirSync(dirname(out)) : [])
    if (name.startsWith(stale)) rmSync(join(dirname(out), name), { recursive: true, force: true });
  const tmp = join(dirname(out), `${stale}${process.pid}`);
  mkdirSync(join(tmp, CHECKPOINT_DIR), { recursive: true });
  try {
    const first = shards[0].manifest;
    const manifest: ZooManifest = {
      format: first.format,
      name: basename(out),
      config: zoo,
      architecture: first.architecture,
      engine: first.engine,
      software: first.software,
      data: first.data,
      status: 'complete',
      files: {},
      epochsCompleted: epochs,
      createdAt: shards.map((s) => s.manifest.createdAt).sort()[0],
      updatedAt: shards.map((s) => s.manifest.updatedAt).sort()[shards.length - 1],
    };
    const metadata = {
      [ZOO_METADATA_KEY]: JSON.stringify({
        name: manifest.name,
        config: zoo,
        architecture: first.architecture,
      }),
    };
    for (let epoch = 0; epoch <= epochs; epoch++) {
      const rows = concatCheckpointRows(shards.map((s) => shardRows(s.dir, s.manifest, epoch)));
      manifest.files![checkpointFileName(epoch)] = writeCheckpointFile(
        checkpointPath(tmp, epoch),
        rows,
        metadata,
      );
      options.onEpoch?.(epoch, epochs);
    }
    const states = shards.map((s) => readResumeState(s.dir, s.manifest.files?.[RESUME_FILE])!);
    manifest.files![RESUME_FILE] = writeResumeState(tmp, {
      epoch: epochs,
      runs: zoo.seedCount,
      size: first.architecture.size,
      weights: concatTyped(states.map((s) => s.weights)),
      momentum: concatTyped(states.map((s) => s.momentum)),
    });
    writeManifest(tmp, manifest);
    if (existsSync(out)) rmSync(out, { recursive: true }); // empty: checked above
    renameSync(tmp, out);
    return { manifest, shards: shards.map((s) => s.dir) };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

interface ShardZoo {
  dir: string;
  manifest: ZooManifest;
}

/**
 * Reads every shard's manifest and checks that together they are exactly the shards of one
 * complete zoo: one config, none missing, none twice, each trained to the end on the same data.
 * Returns them in shard order.
 */
function orderedShards(dirs: string[]): ShardZoo[] {
  const shards = dirs.map((dir): ShardZoo => ({ dir, manifest: readManifest(dir) }));
  for (const { dir, manifest } of shards) {
    if (!manifest.shard)
      throw new ZooError(
        `${dir} is not a shard (its manifest has no shard field); merge takes the folders written by \`npm run zoo -- --shard I/N\``,
      );
    if (manifest.status !== 'complete')
      throw new ZooError(
        `shard ${manifest.shard.index}/${manifest.shard.count} in ${dir} is still training (epoch ${manifest.epochsCompleted} of ${manifest.config!.epochs}); run its zoo command again to finish it, then merge`,
      );
  }
  const { dir: dir0, manifest: m0 } = shards[0];
  const zoo = m0.shard!.zoo;
  for (const { dir, manifest } of shards.slice(1)) {
    const diff = configDifferences(zoo, manifest.shard!.zoo);
    if (diff)
      throw new ZooError(
        `${dir} is a shard of another zoo than ${dir0} (${diff}); merge the shards of one config only`,
      );
    if (manifest.shard!.count !== m0.shard!.count)
      throw new ZooError(
        `${dir} is shard ${manifest.shard!.index}/${manifest.shard!.count} but ${dir0} is shard ${m0.shard!.index}/${m0.shard!.count}; merge shards of one split only`,
      );
    if (JSON.stringify(manifest.data.fileSha256) !== JSON.stringify(m0.data.fileSha256))
      throw new ZooError(
        `${dir} was trained on other MNIST files than ${dir0} (SHA-256 mismatch); retrain it`,
      );
    if (JSON.stringify(manifest.engine) !== JSON.stringify(m0.engine))
      throw new ZooError(
        `${dir} was trained by engine ${manifest.engine.name}, ${dir0} by ${m0.engine.name}; retrain the shards with one toolkit version`,
      );
  }
  const count = m0.shard!.count;
  const byIndex = new Map<number, string>();
  for (const { dir, manifest } of shards) {
    const other = byIndex.get(manifest.shard!.index);
    if (other !== undefined)
      throw new ZooError(
        `shard ${manifest.shard!.index}/${count} is given twice (${other} and ${dir}); pass each shard once`,
      );
    byIndex.set(manifest.shard!.index, dir);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) {
    const described = missing.map((index) => {
      const [a, b] = shardRuns(zoo.seedCount, { index, count });
      return `${index}/${count} (seeds ${seedOf(zoo, a)}-${seedOf(zoo, b - 1)})`;
    });
    throw new ZooError(
      `shard${missing.length > 1 ? 's' : ''} ${described.join(', ')} missing; train ${missing.length > 1 ? 'them' : 'it'} with \`npm run zoo -- --shard I/N\` and the same options, then merge all ${count}`,
    );
  }
  return [...shards].sort((a, b) => a.manifest.shard!.index - b.manifest.shard!.index);
}

/** One shard's rows of `epoch` (its file checked against its manifest), run ids made the zoo's. */
function shardRows(dir: string, manifest: ZooManifest, epoch: number): CheckpointRows {
  const rows = readCommittedCheckpoints(dir, manifest, epoch);
  const [first] = shardRuns(manifest.shard!.zoo.seedCount, manifest.shard!);
  for (let i = 0; i < rows.run.length; i++) rows.run[i] += first;
  return rows;
}

type Typed = Int32Array | Uint32Array | Float64Array | Float32Array;

/** The arrays end to end, in a new array of the first one's type. */
function concatTyped<T extends Typed>(arrays: T[]): T {
  const out = new (arrays[0].constructor as new (n: number) => T)(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a as never, at);
    at += a.length;
  }
  return out;
}
