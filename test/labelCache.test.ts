/**
 * The label cache (store/labelCache.ts): one Arrow file per zoo content, outside the zoo. Its
 * labels equal a scan of the epoch files and what polars reads from the cache file itself; a
 * zoo that gains an epoch names another entry; damaged, misordered or unwritable entries fall
 * back to the scan; reading a zoo writes nothing into it.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineArchitecture } from '../src/core/architectures.ts';
import { openCatalog } from '../src/store/catalog.ts';
import { labelCachePath, readCachedLabels, writeCachedLabels } from '../src/store/labelCache.ts';
import { readManifest } from '../src/store/manifest.ts';
import { zooLabels } from '../src/store/rowReader.ts';
import { zooBlocks } from '../src/store/zooBlocks.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';
import { runCliSync, tempDir, treeFingerprint } from './helpers.ts';

const ARCH = defineArchitecture('tiny', 'a 3-2 layer', [
  { name: 'fc.weight', shape: [2, 3] },
  { name: 'fc.bias', shape: [2] },
]);
let root: string;
let cache: string;
const saved = process.env.WEIGHTSPACE_CACHE;
const zoo = () => join(root, 'tiny');

async function record(epochs: number[]) {
  const writer = await ZooWriter.open(zoo(), ARCH, { runs: 2 });
  for (const epoch of epochs)
    for (let run = 0; run < 2; run++)
      await writer.append({
        run,
        epoch,
        step: 5 * epoch,
        weights: Array.from({ length: ARCH.size }, (_, i) => Math.cos(i + run + 0.1 * epoch)),
        metrics: epoch ? { loss: 1 / epoch, val_acc: 0.1 * epoch, lr: 0.01 } : {},
      });
  await writer.close();
}

beforeAll(async () => {
  root = tempDir('wsvc-labels-');
  cache = join(root, 'cache');
  process.env.WEIGHTSPACE_CACHE = cache;
  await record([0, 1, 2]);
});
afterAll(() => {
  if (saved === undefined) delete process.env.WEIGHTSPACE_CACHE;
  else process.env.WEIGHTSPACE_CACHE = saved;
});

const scannedInfo = () => zooLabels(zooBlocks(zoo()));
/** The labels as a scan of the epoch files gives them, numbers as plain arrays. */
const scanned = () => plain(scannedInfo());
const plain = (info: object) => {
  const { manifest: _m, ...rest } = info as { manifest: unknown };
  return JSON.parse(JSON.stringify(rest, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as never) : v)));
};

describe('the label cache', () => {
  it('is filled by the first read, outside the zoo, and gives what a scan of the epoch files gives', () => {
    const before = treeFingerprint(zoo());
    const path = labelCachePath(readManifest(zoo()))!;
    expect(path.startsWith(join(cache, 'labels'))).toBe(true);
    const first = openCatalog(root).zoos[0].info(); // scans, and writes the cache
    expect(readdirSync(join(cache, 'labels'))).toEqual([path.split('/').pop()]);
    const second = openCatalog(root).zoos[0].info(); // from the cache
    expect(plain(second)).toEqual(scanned());
    expect(plain(first)).toEqual(scanned());
    expect(treeFingerprint(zoo())).toEqual(before); // nothing written into the zoo
    // the cache file is Arrow another reader opens: polars sees the same hashes and metrics
    const bytes = readFileSync(path);
    const df = pl.readIPC(bytes);
    expect([df.height, df.columns.includes('sha256')]).toEqual([6, true]);
    // polars does not hand binary to JS: the 32-byte hashes are found in the file, in row order
    const at = second.sha256.map((sha) => bytes.indexOf(Buffer.from(sha, 'hex')));
    expect(at.every((p, i) => p > 0 && (i === 0 || p === at[i - 1] + 32))).toBe(true);
    expect(df.getColumn('parent').toArray()).toEqual([0, 0, 1, 1, 1, 1]); // none, then the previous epoch's
    expect(df.getColumn('metric:lr').toArray().slice(2)).toEqual([0.01, 0.01, 0.01, 0.01]);
    expect(df.getColumn('train_loss').toArray()).toEqual([NaN, NaN, 1, 1, 0.5, 0.5]);
  });

  it('keeps parents that are not the previous epoch of their run (forks, imports) exactly', () => {
    const manifest = readManifest(zoo());
    const { manifest: _m, n: _n, dim: _d, runs: _r, epochs: _e, digest, ...labels } = scannedInfo();
    const odd = [...labels.parentSha256];
    odd[0] = 'ab'.repeat(32); // a fork's first checkpoint: a parent in another zoo
    odd[3] = null; // a root late in a run
    odd[4] = labels.sha256[3]; // the other run's checkpoint
    expect(writeCachedLabels(manifest, { ...labels, parentSha256: odd }, digest)).toBe(true);
    const back = readCachedLabels(manifest)!;
    expect(back.labels.parentSha256).toEqual(odd);
    expect(back.labels.sha256).toEqual(labels.sha256);
    expect(back.digest).toBe(digest);
    writeCachedLabels(manifest, labels, digest);
  });

  it('names another entry once the zoo gains an epoch, so an old entry is never read for it', async () => {
    const old = labelCachePath(readManifest(zoo()))!;
    await record([3]);
    const now = labelCachePath(readManifest(zoo()))!;
    expect(now).not.toBe(old);
    expect(readCachedLabels(readManifest(zoo()))).toBeNull();
    const info = openCatalog(root).zoos[0].info();
    expect(info.epochs).toBe(3);
    expect(plain(info)).toEqual(scanned());
    expect(readCachedLabels(readManifest(zoo()))).not.toBeNull();
  });

  it('falls back to the scan for a damaged or misordered entry, and rewrites it', () => {
    const manifest = readManifest(zoo());
    const path = labelCachePath(manifest)!;
    const good = readFileSync(path);
    writeFileSync(path, good.subarray(0, good.length >> 1)); // truncated
    expect(readCachedLabels(manifest)).toBeNull();
    expect(plain(openCatalog(root).zoos[0].info())).toEqual(scanned());
    expect(readFileSync(path)).toEqual(good); // written again, byte for byte
    // an entry of another zoo's labels copied under this zoo's name: its rows are not this zoo's order
    const swapped = Buffer.from(good);
    const run = swapped.indexOf(Buffer.from(Int32Array.from([0, 1, 0, 1]).buffer));
    expect(run).toBeGreaterThan(0);
    swapped.set(Buffer.from(Int32Array.from([1, 0, 1, 0]).buffer), run);
    writeFileSync(path, swapped);
    expect(readCachedLabels(manifest)).toBeNull();
    expect(plain(openCatalog(root).zoos[0].info())).toEqual(scanned());
  });

  it('is best effort: with a cache folder that cannot be made, the commands still answer', () => {
    const blocked = join(root, 'blocked');
    writeFileSync(blocked, 'a file where the cache folder would go');
    process.env.WEIGHTSPACE_CACHE = join(blocked, 'cache');
    try {
      expect(plain(openCatalog(root).zoos[0].info())).toEqual(scanned());
      const log = runCliSync('log', ['tiny', '--root', root], {
        env: { WEIGHTSPACE_CACHE: join(blocked, 'c') },
      });
      expect(log.code, log.stderr).toBe(0);
      expect(log.stdout.trim().split('\n')).toHaveLength(8);
    } finally {
      process.env.WEIGHTSPACE_CACHE = cache;
    }
  });
});
