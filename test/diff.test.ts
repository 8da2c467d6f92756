/**
 * diff on a trained zoo: per-tensor figures against formulas written again here, only the
 * changed tensors unless --all, a permuted copy (a safetensors file written from the format's
 * specification) found aligned and computing the same predictions, and the relation identify
 * gives (same run, another run).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointWeights, zooRowIndex } from '../src/core/zoo.ts';
import { Rng } from '../src/core/rng.ts';
import { disguisedCopy, symmetriesOf } from '../src/identify/symmetry.ts';
import { diffCheckpoints } from '../src/pipeline/diff.ts';
import { openCatalog } from '../src/store/catalog.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';
import { findChromium, launchChromium, renderPage } from '../src/plot/browser.ts';

let root: string;
let zoo: Zoo;
const dir = () => join(root, 'ffnn-d');

/** A checkpoint's tensors as a safetensors file, per the specification. */
function writeModel(path: string, w: Float32Array): string {
  const tensors = zoo.manifest.architecture.params.map((p) => ({
    name: p.name,
    shape: p.shape,
    values: Array.from(w.subarray(p.offset, p.offset + p.size)),
    dtype: 'F32',
  }));
  writeFileSync(path, safetensorsBytes(tensors));
  return path;
}

beforeAll(async () => {
  root = tempDir('wsvc-diff-');
  await trainZoo({ dir: dir(), config: tinyConfig('ffnn', { seedCount: 6, epochs: 4 }) });
  zoo = loadZoo(dir());
}, 120_000);

describe('diff', () => {
  it('gives per-tensor figures as their formulas do, and the relation of two epochs of one run', () => {
    const d = diffCheckpoints(openCatalog(root), 'ffnn-d:2@2', 'ffnn-d:2@4', { testImages: 200 });
    const [a, b] = [checkpointWeights(zoo, 2, 2), checkpointWeights(zoo, 2, 4)];
    expect(d.tensors.map((t) => t.name)).toEqual(zoo.manifest.architecture.params.map((p) => p.name));
    for (const p of zoo.manifest.architecture.params) {
      const t = d.tensors.find((x) => x.name === p.name)!;
      const x = Array.from(a.subarray(p.offset, p.offset + p.size));
      const y = Array.from(b.subarray(p.offset, p.offset + p.size));
      const change = y.map((v, j) => v - x[j]);
      const norm = (v: number[]) => Math.sqrt(v.reduce((s, u) => s + u * u, 0));
      expect(t.l2).toBeCloseTo(norm(change), 10);
      expect(t.relative).toBeCloseTo(norm(change) / norm(x), 10);
      expect(t.cosine).toBeCloseTo(x.reduce((s, v, j) => s + v * y[j], 0) / (norm(x) * norm(y)), 10);
      expect(t.maxAbs).toBeCloseTo(Math.max(...change.map(Math.abs)), 12);
      expect(t.signFlips).toBeCloseTo(x.filter((v, j) => v * y[j] < 0).length / p.size, 12);
      expect(t.nearZero.after).toBeCloseTo(y.filter((v) => Math.abs(v) < 1e-3).length / p.size, 12);
      // rows of [out, in]: the one that moved most, by brute force
      const [rows, per] = [p.shape[0], p.size / p.shape[0]];
      const rowChange = Array.from({ length: rows }, (_, r) => norm(change.slice(r * per, (r + 1) * per)));
      expect(t.topUnits[0].unit).toBe(rowChange.indexOf(Math.max(...rowChange)));
    }
    const total = Math.hypot(...Array.from(b, (v, j) => v - a[j]));
    expect(d.total.l2).toBeCloseTo(total, 8);
    expect(d.aligned).toBeNull();
    expect(d.relation).toMatchObject({ sameRun: true, run: 2 });
    expect(d.summary).toMatch(/same run as A: B at epoch 4, A at 2 \(2 epoch\(s\) apart; p /);
    expect(d.outputs!.images).toBe(200);
  });

  it('lists only the tensors that changed unless --all, and a copy of A changes nothing', () => {
    const w = checkpointWeights(zoo, 1, 3).slice();
    const fc2 = zoo.manifest.architecture.params.find((p) => p.name === 'fc2.weight')!;
    w[fc2.offset + 5] += 0.25;
    const edited = writeModel(join(root, 'edited.safetensors'), w);
    const d = diffCheckpoints(openCatalog(root), 'ffnn-d:1@3', edited, { testImages: 0, relation: false });
    expect(d.tensors.map((t) => t.name)).toEqual(['fc2.weight']);
    expect(d.tensors[0].maxAbs).toBeCloseTo(0.25, 6);
    expect(d.unchanged).toBe(zoo.manifest.architecture.params.length - 1);
    const all = diffCheckpoints(openCatalog(root), 'ffnn-d:1@3', edited, {
      all: true,
      testImages: 0,
      relation: false,
    });
    expect(all.tensors).toHaveLength(zoo.manifest.architecture.params.length);
    const same = diffCheckpoints(
      openCatalog(root),
      'ffnn-d:1@3',
      writeModel(join(root, 'same.safetensors'), checkpointWeights(zoo, 1, 3)),
      {
        testImages: 100,
        relation: false,
      },
    );
    expect([same.tensors.length, same.total.l2, same.outputs!.disagreement, same.outputs!.outputL2]).toEqual([
      0, 0, 0, 0,
    ]);
    expect(same.summary).toMatch(/no tensor changed/);
  });

  it("says aligned for a permuted copy: the same predictions, nearly no change after aligning, A's run named", () => {
    const a = checkpointWeights(zoo, 4, 4);
    const copy = disguisedCopy(symmetriesOf(zoo.manifest.architecture), a, new Rng(5, 5), {
      permute: true,
      scale: false,
    });
    const path = writeModel(join(root, 'permuted.safetensors'), copy);
    const d = diffCheckpoints(openCatalog(root), 'ffnn-d:4@4', path, { testImages: 300 });
    expect(d.total.l2).toBeGreaterThan(0.1 * Math.hypot(...a)); // as given, far from A
    expect(d.aligned).not.toBeNull();
    expect(d.aligned!.l2After).toBeLessThan(1e-4);
    expect(d.outputs!.disagreement).toBe(0); // the same function
    expect(d.outputs!.accuracyA).toBe(d.outputs!.accuracyB);
    expect(d.relation).toMatchObject({ run: 4, sameRun: true });
    expect(d.summary).toMatch(/aligned: \d+ of \d+ units moved, \|change\| [\d.e-]+ after/);
  });

  it("names another run when B is not of A's run; the CLI prints the table and refuses bad input", () => {
    const d = diffCheckpoints(openCatalog(root), 'ffnn-d:0@4', 'ffnn-d:3@4', { testImages: 0 });
    expect(d.relation).toMatchObject({ run: 3, sameRun: false });
    expect(d.summary).toMatch(/B is a member of run 3 of ffnn-d, not of A's run 0/);
    const r = runCliSync('diff', ['ffnn-d:0@1', 'ffnn-d:0@2', '--root', root, '--test-images', '50']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^tensor +L2 change +relative +cosine/m);
    expect(r.stdout).toMatch(/^fc1\.weight +\d/m);
    const one = runCliSync('diff', ['ffnn-d:0@1', '--root', root]);
    expect([one.code, one.stderr]).toEqual([
      2,
      'error: give two checkpoints to diff (got 1); see npm run diff -- --help\n',
    ]);
    const bad = runCliSync('diff', ['ffnn-d:0@1', 'ffnn-d:9', '--root', root]);
    expect([bad.code, bad.stderr]).toEqual([2, 'error: ffnn-d has no run 9 (runs 0-5)\n']);
    expect(zooRowIndex(6, 0, 1)).toBe(6);
  });

  it('writes an offline page with a bar chart per layer, which Chromium draws with no error and no request', async () => {
    const page = join(root, 'diff.html');
    const r = runCliSync('diff', [
      'ffnn-d:1@2',
      'ffnn-d:1@4',
      '--root',
      root,
      '--test-images',
      '0',
      '--html',
      page,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const missing = runCliSync('diff', [
      'ffnn-d:1@2',
      'ffnn-d:1@4',
      '--root',
      root,
      '--html',
      join(root, 'no', 'd.html'),
    ]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      `error: --html ${join(root, 'no', 'd.html')}: the folder ${join(root, 'no')} does not exist\n`,
    ]);
    const chromium = findChromium();
    if (!chromium) {
      if (process.env.REQUIRE_CHROMIUM) throw new Error('REQUIRE_CHROMIUM is set but no Chromium was found');
      return;
    }
    const browser = await launchChromium(chromium);
    try {
      const drawn = await renderPage(browser, page);
      expect(drawn.errors).toEqual([]);
      expect(drawn.requests).toEqual([]);
      const tensors = zoo.manifest.architecture.params;
      expect(drawn.figures).toHaveLength(1 + tensors.length); // the overview, then one per layer
      expect(drawn.figures.every((f) => f.types.every((t) => t === 'bar'))).toBe(true);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
