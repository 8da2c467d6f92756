/**
 * `npm run import` on checkpoints written the way other tools write them: safetensors files
 * built here from the format's specification (not our exporter), in common folder layouts,
 * of an architecture the toolkit does not know (biases, other sizes, an integer buffer).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadZoo } from '../src/store/loadZoo.ts';
import { readManifest } from '../src/store/manifest.ts';
import { runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { bf16Bits, bf16Value, f16Bits, f16Value, safetensorsBytes } from './support/safetensorsSpec.ts';

/** A 196 -> 32 -> 16 -> 10 MLP with biases, and a BatchNorm-style integer buffer. */
const TENSORS = [
  { name: 'fc1.weight', shape: [32, 196] },
  { name: 'fc1.bias', shape: [32] },
  { name: 'fc2.weight', shape: [16, 32] },
  { name: 'fc2.bias', shape: [16] },
  { name: 'fc3.weight', shape: [10, 16] },
  { name: 'fc3.bias', shape: [10] },
];
const SIZE = TENSORS.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);

/** A deterministic generator (xorshift32), so the test data does not depend on the code under test. */
function random(seed: number): () => number {
  let x = seed * 2654435761 + 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) / 2 ** 32) * 2 - 1;
  };
}

/** Run r's weights at checkpoint e: a random start and a random walk, as training would drift. */
function weightsAt(run: number, epoch: number): number[] {
  const start = random(run + 1);
  const w = Array.from({ length: SIZE }, () => 0.3 * start());
  for (let e = 1; e <= epoch; e++) {
    const step = random(1000 * (run + 1) + e);
    for (let j = 0; j < SIZE; j++) w[j] += 0.02 * step();
  }
  return w;
}

function splitTensors(flat: number[]) {
  let at = 0;
  return TENSORS.map((t) => {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const values = flat.slice(at, at + n);
    at += n;
    return { ...t, values };
  });
}

/** Writes a source folder: `path(run, epoch)` names each file. */
function writeSource(
  root: string,
  runs: number,
  epochs: number,
  path: (run: number, epoch: number) => string,
  dtype = 'F32',
) {
  for (let r = 0; r < runs; r++)
    for (let e = 0; e < epochs; e++) {
      const file = join(root, path(r, e));
      mkdirSync(dirname(file), { recursive: true });
      const tensors = [
        ...splitTensors(weightsAt(r, e)).map((t) => ({ ...t, dtype })),
        { name: 'bn.num_batches_tracked', shape: [], values: [BigInt(100 * e)], dtype: 'I64' },
      ];
      writeFileSync(file, safetensorsBytes(tensors));
    }
}

const RUNS = 6;
const EPOCHS = 5;

describe('npm run import', () => {
  let root: string;
  let zooDir: string;
  let source: string;
  beforeAll(() => {
    root = tempDir('wsvc-import-');
    source = join(root, 'runs');
    writeSource(source, RUNS, EPOCHS, (r, e) => `run-${r}/epoch-${String(e).padStart(2, '0')}.safetensors`);
    const r = runCliSync('import', [source, '--name', 'mlp', '--out', join(root, 'zoos')]);
    expect(r.code, r.stderr).toBe(0);
    zooDir = join(root, 'zoos', 'mlp');
  });

  it('writes a zoo with the weights of every file, the architecture as the tensors in file order, the integer buffer skipped', () => {
    const zoo = loadZoo(zooDir);
    expect([zoo.runs, zoo.epochs, zoo.dim]).toEqual([RUNS, EPOCHS - 1, SIZE]);
    expect(zoo.manifest.architecture.params.map((p) => [p.name, p.shape])).toEqual(
      TENSORS.map((t) => [t.name, t.shape]),
    );
    expect(zoo.manifest.origin!.skippedTensors).toEqual(['bn.num_batches_tracked (I64)']);
    expect(zoo.manifest.origin!.runLabels).toEqual(Array.from({ length: RUNS }, (_, r) => `run-${r}`));
    for (const [r, e] of [
      [0, 0],
      [3, 2],
      [5, 4],
    ]) {
      const row = e * RUNS + r;
      expect(Array.from(zoo.weights.subarray(row * SIZE, (row + 1) * SIZE))).toEqual(
        weightsAt(r, e).map(Math.fround),
      );
      expect(zoo.run[row]).toBe(r);
      expect(zoo.epoch[row]).toBe(e);
    }
  });

  it('gives a zoo that verify calls sound, and that cluster and identify analyse', () => {
    const v = runCliSync('verify', ['--zoo', zooDir]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const out = join(root, 'results');
    const c = runCliSync('cluster', ['--zoo', zooDir, '--svd', '10', '--full', '--out', out]);
    expect(c.code, c.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'cluster-mlp.json'), 'utf8'));
    for (const row of report.rows) expect(row.purityMean).toBe(1);
    const query = join(source, 'run-4', 'epoch-03.safetensors');
    const id = runCliSync('identify', [query, '--zoo', zooDir, '--json']);
    expect(id.code, id.stderr).toBe(0);
    const who = JSON.parse(id.stdout);
    expect([who.run, who.verdict]).toEqual([4, 'member']);
    expect(who.epoch).toBeCloseTo(3, 5);
  });

  it('does nothing when run again, and continues with checkpoints the source has gained', () => {
    const before = treeFingerprint(zooDir);
    const again = runCliSync('import', [source, '--name', 'mlp', '--out', join(root, 'zoos')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr + again.stdout).toMatch(/already up to date/);
    expect(treeFingerprint(zooDir)).toEqual(before);
    // a copy imported in two steps equals one imported at once
    const grown = join(root, 'grown');
    writeSource(grown, RUNS, 3, (r, e) => `run-${r}/epoch-${String(e).padStart(2, '0')}.safetensors`);
    expect(runCliSync('import', [grown, '--name', 'mlp', '--out', join(root, 'two-steps')]).code).toBe(0);
    writeSource(grown, RUNS, EPOCHS, (r, e) => `run-${r}/epoch-${String(e).padStart(2, '0')}.safetensors`);
    const more = runCliSync('import', [grown, '--name', 'mlp', '--out', join(root, 'two-steps')]);
    expect(more.code, more.stderr).toBe(0);
    const a = loadZoo(zooDir);
    const b = loadZoo(join(root, 'two-steps', 'mlp'));
    expect(b.sha256).toEqual(a.sha256);
    expect(readdirSync(join(root, 'two-steps', 'mlp', 'checkpoints'))).toEqual(
      readdirSync(join(zooDir, 'checkpoints')),
    );
    expect(runCliSync('verify', ['--zoo', join(root, 'two-steps', 'mlp')]).code).toBe(0);
  });

  it('recognises common layouts and listings', () => {
    const layouts: [string, (r: number, e: number) => string][] = [
      [
        '{run}/checkpoint-{step}/model.safetensors',
        (r, e) => `seed${r}/checkpoint-${500 * e}/model.safetensors`,
      ],
      ['seed{run}_step{step}.safetensors', (r, e) => `seed${r}_step${1200 * e}.safetensors`],
      ['{run}/epoch_{epoch}.safetensors', (r, e) => `r${r}/epoch_${e}.safetensors`],
    ];
    for (const [i, [layout, path]] of layouts.entries()) {
      const dir = join(root, `layout-${i}`);
      writeSource(dir, 3, 3, path);
      const r = runCliSync('import', [dir, '--name', 'l', '--out', join(dir, 'zoo')]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr + r.stdout).toContain(`layout ${layout}`);
      const m = readManifest(join(dir, 'zoo', 'l'));
      expect([m.origin!.runs, m.origin!.epochs]).toEqual([3, 2]);
    }
    const listing = join(root, 'listing.csv');
    // metric columns: a known one fills the zoo's test-loss column, another gets its own
    const rows = ['path,run,epoch,val_loss,lr'];
    for (let r = 0; r < RUNS; r++)
      for (let e = 0; e < EPOCHS; e++)
        rows.push(
          `runs/run-${r}/epoch-${String(e).padStart(2, '0')}.safetensors,${r},${e},${r + e / 10},${0.1 / (e + 1)}`,
        );
    writeFileSync(listing, rows.join('\n') + '\n');
    const viaListing = runCliSync('import', [listing, '--name', 'mlp', '--out', join(root, 'listed')]);
    expect(viaListing.code, viaListing.stderr).toBe(0);
    const listed = loadZoo(join(root, 'listed', 'mlp'));
    expect(listed.sha256).toEqual(loadZoo(zooDir).sha256);
    expect(listed.testLoss[3 * RUNS + 2]).toBeCloseTo(2.3, 12); // run 2, epoch 3
    expect(Object.keys(listed.metrics)).toEqual(['lr']);
    expect(listed.metrics.lr[3 * RUNS + 2]).toBeCloseTo(0.025, 12);
  });

  it('analyses a folder holding zoos of several architectures per architecture, each reported apart', async () => {
    const folder = join(root, 'mixed');
    await trainZoo({ dir: join(folder, 'ffnn-t'), config: tinyConfig('ffnn', { seedCount: 3, epochs: 3 }) });
    expect(runCliSync('import', [source, '--name', 'mlp', '--out', folder]).code).toBe(0);
    const out = join(root, 'mixed-results');
    const r = runCliSync('cluster', ['--zoo', folder, '--svd', '5', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mixed\/ffnn-t \(ffnn\): 3 runs, 12 checkpoints/);
    expect(r.stdout).toMatch(/mixed\/mlp \(mlp\): 6 runs, 30 checkpoints/);
    const arch = (name: string) =>
      JSON.parse(readFileSync(join(out, `cluster-${name}.json`), 'utf8')).zoo.arch;
    expect([arch('ffnn-t'), arch('mlp')]).toEqual(['ffnn', 'mlp']);
  });

  it('converts F16 and BF16 sources as the specification defines them', () => {
    for (const dtype of ['F16', 'BF16']) {
      const dir = join(root, dtype);
      writeSource(dir, 2, 2, (r, e) => `${r}/epoch_${e}.safetensors`, dtype);
      const r = runCliSync('import', [dir, '--name', 'h', '--out', join(dir, 'zoo')]);
      expect(r.code, r.stderr).toBe(0);
      const zoo = loadZoo(join(dir, 'zoo', 'h'));
      const expected = weightsAt(1, 1).map((v) =>
        dtype === 'F16' ? f16Value(f16Bits(v)) : bf16Value(bf16Bits(v)),
      );
      const row = 1 * 2 + 1;
      expect(Array.from(zoo.weights.subarray(row * SIZE, (row + 1) * SIZE))).toEqual(
        expected.map(Math.fround),
      );
      expect(zoo.manifest.architecture.params[0].dtype).toBe(dtype);
    }
  });

  it.each([
    [
      'a tensor of another shape',
      (dir: string) => {
        const file = join(dir, 'run-1', 'epoch-01.safetensors');
        const t = splitTensors(weightsAt(1, 1)).map((x) => ({ ...x, dtype: 'F32' }));
        t[1] = { name: 'fc1.bias', shape: [16, 2], values: t[1].values, dtype: 'F32' };
        writeFileSync(file, safetensorsBytes(t));
      },
      /run-1\/epoch-01\.safetensors: tensor 'fc1\.bias' has shape \[16,2\], .* has \[32\]/,
    ],
    [
      'a missing tensor',
      (dir: string) => {
        writeFileSync(
          join(dir, 'run-2', 'epoch-00.safetensors'),
          safetensorsBytes(
            splitTensors(weightsAt(2, 0))
              .slice(0, 5)
              .map((x) => ({ ...x, dtype: 'F32' })),
          ),
        );
      },
      /run-2\/epoch-00\.safetensors has no tensor 'fc3\.bias'/,
    ],
    [
      'a NaN weight',
      (dir: string) => {
        const w = weightsAt(0, 2);
        w[7] = NaN;
        writeFileSync(
          join(dir, 'run-0', 'epoch-02.safetensors'),
          safetensorsBytes(splitTensors(w).map((x) => ({ ...x, dtype: 'F32' }))),
        );
      },
      /run-0\/epoch-02\.safetensors: tensor 'fc1\.weight' holds NaN at index 7; only finite weights can be imported/,
    ],
    [
      'a run with fewer checkpoints',
      (dir: string) => {
        writeFileSync(
          join(dir, 'run-3', 'epoch-05.safetensors'),
          readFileSync(join(dir, 'run-3', 'epoch-04.safetensors')),
        );
      },
      /^error: runs need the same number of checkpoints: run-3 has 6; the others have 5\n$/,
    ],
    [
      'a PyTorch pickle',
      (dir: string) => {
        for (const r of readdirSync(dir))
          for (const f of readdirSync(join(dir, r)))
            writeFileSync(join(dir, r, f.replace('.safetensors', '.pt')), 'x');
        for (const r of readdirSync(dir))
          for (const f of readdirSync(join(dir, r)))
            if (f.endsWith('.safetensors')) (writeFileSync(join(dir, r, f), ''), void 0);
      },
      /not a valid safetensors file|pickle/,
    ],
  ])('refuses %s with one line and exit code 2, writing nothing', (_, damage, message) => {
    const dir = join(tempDir('wsvc-import-bad-'), 'src');
    writeSource(dir, 4, 5, (r, e) => `run-${r}/epoch-${String(e).padStart(2, '0')}.safetensors`);
    damage(dir);
    const out = join(dirname(dir), 'zoos');
    const r = runCliSync('import', [dir, '--name', 'bad', '--out', out]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(() => readdirSync(out)).toThrow(/ENOENT/);
  });

  it('refuses a pickle-only folder, a pattern that matches nothing, --strict with an integer buffer, and a changed source file', () => {
    const dir = tempDir('wsvc-import-misc-');
    mkdirSync(join(dir, 'pt'));
    writeFileSync(join(dir, 'pt', 'model_epoch1.pt'), 'not read');
    const pickle = runCliSync('import', [join(dir, 'pt'), '--name', 'p', '--out', join(dir, 'z1')]);
    expect(pickle.code).toBe(2);
    expect(pickle.stderr).toMatch(
      /model_epoch1\.pt is a PyTorch pickle .* save_file\(torch\.load\(p, weights_only=True\)/,
    );
    const nothing = runCliSync('import', [
      source,
      '--name',
      'n',
      '--out',
      join(dir, 'z2'),
      '--layout',
      '{run}/ckpt_{step}.safetensors',
    ]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(
      /^error: --layout '\{run\}\/ckpt_\{step\}\.safetensors' matches none of the 30 \.safetensors files/,
    );
    const strict = runCliSync('import', [source, '--name', 's', '--out', join(dir, 'z3'), '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toMatch(
      /tensor 'bn\.num_batches_tracked' has dtype I64; only F32, F64, F16 and BF16 are read/,
    );
    // a source file changed after its import is reported, not silently replaced
    const copy = join(dir, 'copy');
    writeSource(copy, 3, 3, (r, e) => `run-${r}/epoch-${e}.safetensors`);
    expect(runCliSync('import', [copy, '--name', 'c', '--out', join(dir, 'z4')]).code).toBe(0);
    const before = treeFingerprint(join(dir, 'z4'));
    writeFileSync(
      join(copy, 'run-1', 'epoch-1.safetensors'),
      safetensorsBytes(splitTensors(weightsAt(2, 2)).map((x) => ({ ...x, dtype: 'F32' }))),
    );
    const changed = runCliSync('import', [copy, '--name', 'c', '--out', join(dir, 'z4')]);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(
      /run-1\/epoch-1\.safetensors changed since it was imported as run 1 epoch 1/,
    );
    expect(treeFingerprint(join(dir, 'z4'))).toEqual(before);
  });
});
