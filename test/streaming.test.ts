/**
 * The randomized SVD of a zoo streamed from disk, one epoch file at a time (zoos larger than
 * memory): the same singular values as the in-memory SVD, in memory that does not grow with
 * the zoo (measured in a child process from /proc/self/status).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineArchitecture } from '../src/core/architectures.ts';
import { StreamingProducts } from '../src/reduce/streamingProducts.ts';
import { TruncatedSVD } from '../src/reduce/svd.ts';
import { zooRow } from '../src/core/zoo.ts';
import { matrix } from '../src/core/matrix.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { checkpointFileName, readManifest } from '../src/store/manifest.ts';
import { weightsSha256 } from '../src/store/sha256.ts';
import { fileRows, zooLabels } from '../src/store/rowReader.ts';
import { zooBlocks } from '../src/store/zooBlocks.ts';
import { commitCheckpoints } from '../src/store/zooCommit.ts';
import { ZooWriter } from '../src/store/zooWriter.ts';
import { ROOT, runCliSync, tempDir } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';

/** A zoo of `runs` runs drifting from random starts, written epoch file by epoch file (no zoo in memory). */
async function writeZoo(dir: string, runs: number, epochs: number, dim: number): Promise<void> {
  await ZooWriter.open(dir, defineArchitecture('big', 'synthetic', [{ name: 'w', shape: [dim] }]), { runs });
  const manifest = readManifest(dir);
  let parents: (string | null)[] = new Array(runs).fill(null);
  for (let e = 0; e <= epochs; e++) {
    const w = new Float32Array(runs * dim);
    for (let r = 0; r < runs; r++)
      for (let j = 0; j < dim; j++)
        w[r * dim + j] = Math.sin(r * 12.9898 + j * 78.233) + 0.01 * e * Math.cos(r + j * 0.001 * (e + 1));
    const sha256 = Array.from({ length: runs }, (_, r) => weightsSha256(w.subarray(r * dim, (r + 1) * dim)));
    const nan = new Float64Array(runs).fill(NaN);
    manifest.origin!.epochs = e;
    const rows = {
      size: dim,
      run: Int32Array.from({ length: runs }, (_, r) => r),
      seed: Uint32Array.from({ length: runs }, (_, r) => r),
      epoch: new Int32Array(runs).fill(e),
      step: new Int32Array(runs).fill(e),
      trainLoss: nan,
      testLoss: nan,
      testAccuracy: nan,
      sha256,
      parentSha256: parents,
      weights: w,
    };
    commitCheckpoints(dir, manifest, e, { rows, metadata: {} }, true);
    parents = sha256;
  }
}

const zooBytes = (dir: string) =>
  readdirSync(join(dir, 'checkpoints')).reduce(
    (sum, f) => sum + statSync(join(dir, 'checkpoints', f)).size,
    0,
  );

describe('streamed SVD', () => {
  it('gives the singular values and coordinates of the in-memory SVD', async () => {
    const dir = join(tempDir('wsvc-stream-'), 'z');
    await writeZoo(dir, 30, 20, 3000);
    const blocks = zooBlocks(dir);
    const products = new StreamingProducts(blocks);
    const streamed = new TruncatedSVD({ components: 10 });
    const coords = streamed.fitTransform(products);
    products.close();
    expect(products.passes).toBe(4); // Y = X Omega, one power iteration (X^T Q, X Z), B = Q^T X
    const zoo = loadZoo(dir);
    const inMemory = new TruncatedSVD({ components: 10 });
    const reference = inMemory.fitTransform(matrix(zoo.weights, zoo.n, zoo.dim));
    for (let c = 0; c < 10; c++)
      expect(Math.abs(streamed.singularValues[c] / inMemory.singularValues[c] - 1)).toBeLessThan(1e-3);
    let worst = 0;
    for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(coords[i] - reference[i]));
    expect(worst).toBeLessThan(1e-3 * inMemory.singularValues[0]);
  });

  it('runs in memory that stays well below the zoo: a 230 MB zoo in less than a fifth of that beyond the warmed-up process', async () => {
    const root = tempDir('wsvc-stream-big-');
    await writeZoo(join(root, 'warm'), 100, 5, 6000);
    await writeZoo(join(root, 'big'), 100, 100, 6000);
    const bytes = zooBytes(join(root, 'big'));
    expect(bytes).toBeGreaterThan(230e6);
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'test/support/streamingSvdChild.ts'),
        join(root, 'big'),
        join(root, 'warm'),
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.singularValues[0]).toBeGreaterThan(0);
    expect(result.extraMegabytes).toBeLessThan(bytes / 5 / 2 ** 20);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('lets cluster analyse a zoo larger than --memory in SVD spaces, with the in-memory results, and refuses its full space', async () => {
    const root = tempDir('wsvc-stream-cli-');
    const dir = join(root, 'z');
    await writeZoo(dir, 30, 20, 3000);
    const streamed = runCliSync('cluster', [
      '--zoo',
      dir,
      '--svd',
      '5,2',
      '--memory',
      '3MB',
      '--out',
      join(root, 's'),
    ]);
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stderr).toMatch(
      /note: .*z: the full weight space is left out: the zoo is larger than --memory and is streamed/,
    );
    const loaded = runCliSync('cluster', ['--zoo', dir, '--svd', '5,2', '--out', join(root, 'm')]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const rows = (out: string) => JSON.parse(readFileSync(join(root, out, 'cluster-z.json'), 'utf8')).rows;
    const [s, m] = [rows('s'), rows('m').filter((r: { space: string }) => r.space !== 'full')];
    expect(s.map((r: { space: string }) => r.space)).toEqual(['svd-5', 'svd-2']);
    // the streamed SVD sums its products in another order, so distances differ in their last bits
    for (const [a, b] of s.map((r: object, i: number) => [r, m[i]])) {
      expect([a.purityMean, a.purityGlobal, a.zooDigest]).toEqual([
        b.purityMean,
        b.purityGlobal,
        b.zooDigest,
      ]);
      for (const by of ['last', 'merge'])
        expect(Math.abs(a.order[by].orderedPairs - b.order[by].orderedPairs)).toBeLessThan(0.02);
    }
    const full = runCliSync('cluster', ['--zoo', dir, '--full', '--memory', '1MB', '--out', join(root, 'f')]);
    expect(full.code).toBe(2);
    expect(full.stderr).toMatch(
      /^error: .*z holds [\d.]+ MB of weights, more than --memory 1 MB; the full weight space needs them in memory: analyse it with --svd k/,
    );
    expect(existsSync(join(root, 'f'))).toBe(false);
    // factors of 48 bytes x (k + 10) x 3,000 weights: SVD-100 needs 15.1 MB, SVD-11 2.9 MB
    const wide = runCliSync('cluster', [
      '--zoo',
      dir,
      '--svd',
      '100',
      '--memory',
      '3MB',
      '--out',
      join(root, 'w'),
    ]);
    expect(wide.code).toBe(2);
    expect(wide.stderr).toMatch(
      /^error: --svd 100 streamed from .*z needs about 15\.1 MB for its factors \(3000 weights each\), more than --memory 3 MB; choose k <= 11 or raise --memory\n$/,
    );
    expect(existsSync(join(root, 'w'))).toBe(false);
  });

  it('identifies checkpoints of a zoo larger than --memory from an index built from its files, as with the zoo in memory', async () => {
    const root = tempDir('wsvc-stream-id-');
    const dir = join(root, 'z');
    await writeZoo(dir, 20, 10, 3000); // 2.5 MB of weights
    const zoo = loadZoo(dir);
    // a query between epochs 6 and 7 of run 4, written from the safetensors specification
    const [a, b] = [6, 7].map((e) => zoo.weights.subarray((e * 20 + 4) * 3000, (e * 20 + 5) * 3000));
    const query = join(root, 'between.safetensors');
    writeFileSync(
      query,
      safetensorsBytes([
        { name: 'w', shape: [3000], dtype: 'F32', values: Array.from(a, (v, j) => (v + b[j]) / 2) },
      ]),
    );
    const exact = join(dir, checkpointFileName(3));
    const ask = (file: string, extra: string[]) => {
      const r = runCliSync('identify', [file, '--zoo', dir, '--json', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return { stderr: r.stderr, json: JSON.parse(r.stdout) };
    };
    const first = ask(exact, ['--run', '11', '--memory', '2.5MB']);
    expect(first.stderr).toMatch(/index of .*z: built in [\d.]+ s \(streamed from the files: SVD-8\)/);
    expect([first.json.verdict, first.json.run, first.json.epoch, first.json.distance]).toEqual([
      'member',
      11,
      3,
      0,
    ]);
    const between = ask(query, ['--memory', '2.5MB']); // the saved index, loaded
    expect(between.stderr).not.toMatch(/built/);
    expect([between.json.verdict, between.json.run]).toEqual(['member', 4]);
    expect(between.json.epoch).toBeCloseTo(6.5, 1);
    // the zoo in memory (its own index, with more components) finds the same candidates at the same distances
    const loaded = ask(query, ['--rebuild']);
    expect(loaded.stderr).not.toMatch(/streamed/);
    expect(loaded.json.candidates.map((c: { run: number }) => c.run)).toEqual(
      between.json.candidates.map((c: { run: number }) => c.run),
    );
    loaded.json.candidates.forEach((c: { distance: number }, i: number) =>
      expect(c.distance).toBeCloseTo(between.json.candidates[i].distance, 4),
    );
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('plots a zoo larger than --memory from its files: SVD spaces and their UMAP, no UMAP of the full space', async () => {
    const root = tempDir('wsvc-stream-plot-');
    const dir = join(root, 'z');
    await writeZoo(dir, 20, 30, 3000); // 7.4 MB of weights; --memory 4MB allows SVD-k up to k = 19
    const out = join(root, 'plots');
    const plot = runCliSync('plot', [
      ...['--zoo', dir, '--out', out, '--memory', '4MB'],
      ...['--svd', '10', '--umap-epochs', '20'],
    ]);
    expect(plot.code, plot.stderr).toBe(0);
    const pages = readdirSync(join(out, 'z'));
    expect(pages).toEqual(
      expect.arrayContaining([
        'trajectories-umap-svd-10.html',
        'trajectories-svd.html',
        'dendrogram.html',
        'weight-stats.html',
        'sweep.html',
      ]),
    );
    expect(pages).not.toContain('trajectories-umap-full.html');
    expect(readFileSync(join(out, 'z', 'index.html'), 'utf8')).toContain('streamed from its files');
    // the sweep it ran streamed every SVD space that fits the bound, and no full space
    const report = JSON.parse(readFileSync(join(out, 'cluster-z.json'), 'utf8'));
    expect(report.rows.map((r: { space: string }) => r.space)).toEqual(['svd-10', 'svd-5']);
    const loaded = runCliSync('cluster', ['--zoo', dir, '--svd', '10,5', '--out', join(root, 'm')]);
    expect(loaded.code, loaded.stderr).toBe(0);
    const inMemory = JSON.parse(readFileSync(join(root, 'm', 'cluster-z.json'), 'utf8')).rows;
    // sums in another order move a near tie or two (one checkpoint of 620 is 0.0016 of purity)
    report.rows.forEach((r: { purityMean: number }, i: number) =>
      expect(Math.abs(r.purityMean - inMemory[i].purityMean)).toBeLessThan(0.005),
    );
    rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('reads single rows from the epoch files: the loaded rows, and a changed row refused when rows are verified', async () => {
    const root = tempDir('wsvc-stream-rows-');
    const dir = join(root, 'z');
    await writeZoo(dir, 6, 3, 500);
    const loaded = loadZoo(dir);
    const blocks = zooBlocks(dir);
    const labels = zooLabels(blocks);
    const rows = fileRows(dir, labels, blocks, true);
    for (const i of [0, 5, 13, 23])
      expect(rows.row(zooRow(i))).toEqual(loaded.weights.subarray(i * 500, (i + 1) * 500));
    // change one weight of row 2 * 6 + 4 (epoch 2, run 4) in place, after the pass that checked the file
    const path = join(dir, checkpointFileName(2));
    const bytes = readFileSync(path);
    const at = blocks.weightsOffset(2) + (4 * 500 + 7) * 4;
    bytes.writeFloatLE(bytes.readFloatLE(at) + 1, at);
    writeFileSync(path, bytes);
    expect(() => rows.row(zooRow(16))).toThrow(
      /epoch-0002\.arrow: run 4's weights do not match their SHA-256/,
    );
    expect(fileRows(dir, labels, blocks).row(zooRow(16))[7]).toBe(
      Math.fround(loaded.weights[16 * 500 + 7] + 1),
    ); // unverified: read as is
    rmSync(root, { recursive: true, force: true });
  });
});
