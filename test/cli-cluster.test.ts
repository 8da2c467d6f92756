/** `npm run cluster` on a real (tiny) zoo: table, JSON report, SciPy/JSON dendrograms, bad input. */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { clusterZoo } from '../src/cluster/clusterZoo.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { checkpointPath } from '../src/store/manifest.ts';
import { runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';

const CLUSTER = 'cluster';
let root: string;
let ffnn: string;
let cnn: string;

beforeAll(async () => {
  root = tempDir();
  ffnn = join(root, 'zoos', 'ffnn-t');
  cnn = join(root, 'zoos', 'cnn-t');
  await trainZoo({ dir: ffnn, config: tinyConfig('ffnn', { seedCount: 4, epochs: 3 }) });
  await trainZoo({ dir: cnn, config: tinyConfig('cnn', { seedCount: 4, epochs: 3 }) });
});

/** Reads a .npy float64 matrix (format 1.0) as written for SciPy. */
function readNpy(path: string): { shape: number[]; data: Float64Array } {
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  expect(header).toMatch(/'descr': '<f8', 'fortran_order': False/);
  expect((10 + headerLength) % 64).toBe(0);
  const shape = header
    .match(/'shape': \(([^)]*)\)/)![1]
    .split(',')
    .filter((s) => s.trim())
    .map(Number);
  const body = bytes.subarray(10 + headerLength);
  return { shape, data: new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)) };
}

describe('npm run cluster', () => {
  it('analyses every zoo in a folder: table, JSON report and dendrograms', () => {
    const out = join(root, 'results');
    const r = runCliSync(CLUSTER, [
      '--zoo',
      join(root, 'zoos'),
      '--svd',
      '5,2',
      '--out',
      out,
      '--save-basis',
    ]);
    expect(r.stderr).toMatch(/done: 2 zoo\(s\), 6 space\(s\)/);
    expect(r.code).toBe(0);
    for (const name of ['cnn-t', 'ffnn-t']) {
      expect(r.stdout).toMatch(new RegExp(`${name} \\((cnn|ffnn)\\): 4 runs, 16 checkpoints`));
      const report = JSON.parse(readFileSync(join(out, `cluster-${name}.json`), 'utf8'));
      expect(report.rows.map((row: { space: string }) => row.space)).toEqual(['full', 'svd-5', 'svd-2']);
      for (const row of report.rows) {
        expect(row.purityMean).toBeGreaterThan(0);
        expect(row.purityMean).toBeLessThanOrEqual(1);
        expect(row.order.last.orderedInitialEpochs).toBeGreaterThanOrEqual(0);
        expect(row.order.merge.orderedPairs).toBeLessThanOrEqual(1);
        const npy = readNpy(row.files.linkageNpy);
        expect(npy.shape).toEqual([15, 4]);
        expect(npy.data[15 * 4 - 1]).toBe(16); // the last merge holds every checkpoint
        const json = JSON.parse(readFileSync(row.files.linkageJson, 'utf8'));
        expect(json.linkage.flat()).toEqual(Array.from(npy.data));
        expect(json.run).toHaveLength(16);
      }
      expect(existsSync(join(root, 'zoos', name, 'svd-5.arrow'))).toBe(true);
    }
    expect(r.stdout).toMatch(
      /space\s+dim\s+purity\s+purity \(global\)\s+ordered initial epochs\s+ordered pairs/,
    );
  });

  it('reports what clusterZoo computes on the same zoo, linkage and every metric', () => {
    const out = join(root, 'results-compare');
    const r = runCliSync(CLUSTER, ['--zoo', ffnn, '--svd', '0,5', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'cluster-ffnn-t.json'), 'utf8'));
    const zoo = loadZoo(ffnn);
    for (const svd of [0, 5]) {
      const ours = clusterZoo(zoo, { svd });
      const row = report.rows.find((x: { space: string }) => x.space === ours.space);
      expect([row.dim, row.checkpoints, row.runs]).toEqual([ours.dim, ours.checkpoints, ours.runs]);
      expect([row.purityMean, row.purityGlobal]).toEqual([ours.purityMean, ours.purityGlobal]);
      expect(row.order).toEqual(JSON.parse(JSON.stringify(ours.order)));
      const npy = readNpy(row.files.linkageNpy);
      expect(Array.from(npy.data)).toEqual(Array.from(ours.linkage.z));
    }
  });

  it('--help documents both epoch-order readings', () => {
    const r = runCliSync(CLUSTER, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/'last' = decreasing distance to the run's/);
    expect(r.stdout).toMatch(/'merge' = decreasing merge height/);
  });

  it.each([
    [
      ['--svd', '999'],
      /^error: --svd 999 is too large for .*ffnn-t: 16 checkpoints x 2160 weights \(k must be <= 16\)\n$/,
    ],
    [['--svd', 'fifty'], /^error: --svd must be a whole number of 0 or more, got 'fifty'\n$/],
    [['--order-by', 'alphabet'], /^error: --order-by must be one of last, merge, got 'alphabet'\n$/],
  ])('rejects %j with one line and exit code 2, writing nothing', (args, message) => {
    const [out, before] = [tempDir(), treeFingerprint(ffnn)];
    const r = runCliSync(CLUSTER, ['--zoo', ffnn, '--out', out, ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(readdirSync(out)).toEqual([]);
    expect(treeFingerprint(ffnn)).toEqual(before);
  });

  it('names the problem with missing, empty, single-run, mixed or incomplete zoos', async () => {
    const expectError = (zoo: string, message: RegExp) => {
      const out = tempDir();
      const before = existsSync(zoo) ? treeFingerprint(zoo) : null;
      const r = runCliSync(CLUSTER, ['--zoo', zoo, '--out', out]);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(readdirSync(out), 'nothing written').toEqual([]);
      expect(existsSync(zoo) ? treeFingerprint(zoo) : null).toEqual(before);
    };
    expectError(join(root, 'nope'), /^error: --zoo .*nope is not a folder/);
    const empty = tempDir();
    expectError(empty, /^error: no zoo found in .* \(no manifest.json\)/);

    const single = join(tempDir(), 'ffnn-one');
    await trainZoo({ dir: single, config: tinyConfig('ffnn', { seedCount: 1, epochs: 2 }) });
    expectError(single, /has 1 run; clustering needs at least 2 runs/);

    const mixed = join(tempDir(), 'ffnn-mixed');
    cpSync(ffnn, mixed, { recursive: true });
    copyFileSync(checkpointPath(cnn, 2), checkpointPath(mixed, 2));
    // the copied file is not the one the manifest recorded: refused before it is parsed
    expectError(
      mixed,
      /epoch-0002.arrow is damaged: its bytes do not match the SHA-256 recorded in .*manifest.json/,
    );

    const broken = join(tempDir(), 'ffnn-broken');
    cpSync(ffnn, broken, { recursive: true });
    rmSync(checkpointPath(broken, 1));
    expectError(broken, /is missing .*epoch-0001.arrow/);

    const untrained = join(tempDir(), 'z');
    mkdirSync(untrained);
    copyFileSync(join(ffnn, 'manifest.json'), join(untrained, 'manifest.json'));
    const manifest = JSON.parse(readFileSync(join(untrained, 'manifest.json'), 'utf8'));
    manifest.epochsCompleted = -1;
    manifest.status = 'training';
    (await import('node:fs')).writeFileSync(join(untrained, 'manifest.json'), JSON.stringify(manifest));
    expectError(untrained, /has no checkpoints yet/);
  });
});
