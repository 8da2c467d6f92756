/**
 * Plots: `npm run plot` on a real (tiny) zoo, every page opened in headless Chromium (Debian's
 * package): the traces and points Plotly drew against what the zoo holds, no console errors,
 * no network, a screenshot. Outside CI the browser test skips, saying so, when no Chromium is
 * installed; .ci/run installs it and sets REQUIRE_CHROMIUM, so there it always runs.
 * Also: the restricted dendrogram against brute-force cophenetic distances, and bad input.
 */
import { matrix } from '../src/core/matrix.ts';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { restrictLinkage } from '../src/plot/dendrogram.ts';
import { findChromium, launchChromium, renderPage, type RenderedPage } from '../src/plot/browser.ts';
import { quantile } from '../src/plot/zooStatistics.ts';
import { leafOrder, singleLinkage } from '../src/cluster/linkage.ts';
import { trajectoryFigure, UNCHOSEN_GREY } from '../src/plot/trajectories.ts';
import { runsSpreadOverTree } from '../src/plot/zooPages.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { Rng } from '../src/core/rng.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig } from './helpers.ts';

const RUNS = 4;
const EPOCHS = 5;
const POINTS = EPOCHS + 1; // epoch 0 is a checkpoint too
const chromiumPath = findChromium();
if (!chromiumPath) {
  if (process.env.REQUIRE_CHROMIUM)
    throw new Error('REQUIRE_CHROMIUM is set but no Chromium was found (apt-get install chromium)');
  console.warn(
    'plots.test.ts: browser test skipped: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)',
  );
}

/** Height at which leaves i and j first share a cluster, replaying the merges (brute force). */
function cophenetic(z: number[][], n: number, i: number, j: number): number {
  const members: number[][] = Array.from({ length: n }, (_, l) => [l]);
  for (const [a, b, h] of z) {
    const merged = [...members[a], ...members[b]];
    if (merged.includes(i) && merged.includes(j)) return h;
    members.push(merged);
  }
  throw new Error('leaves never merge');
}

describe('restrictLinkage', () => {
  it('keeps the merge height of every pair of chosen leaves', () => {
    const rng = new Rng(3, 1);
    const n = 40;
    const coords = Float64Array.from({ length: n * 3 }, () => rng.nextNormal());
    const { z } = singleLinkage(matrix(coords, n, 3)).linkage;
    const full = Array.from({ length: n - 1 }, (_, i) => Array.from(z.subarray(i * 4, i * 4 + 4)));
    const leaves = [3, 7, 8, 15, 22, 23, 31, 39];
    const sub = restrictLinkage(full, n, leaves);
    expect(sub.merges).toHaveLength(leaves.length - 1);
    const subZ = sub.merges.map(([a, b, h]) => [a, b, h, 0]);
    for (let p = 0; p < leaves.length; p++) {
      for (let q = p + 1; q < leaves.length; q++) {
        expect(cophenetic(subZ, leaves.length, p, q)).toBe(cophenetic(full, n, leaves[p], leaves[q]));
      }
    }
  });
});

describe('quantile', () => {
  it('interpolates linearly like numpy.quantile', () => {
    // numpy.quantile([1, 2, 4, 8], [0.1, 0.5, 0.9]) = [1.3, 3.0, 6.8]
    expect(quantile([1, 2, 4, 8], 0.1)).toBeCloseTo(1.3, 12);
    expect(quantile([1, 2, 4, 8], 0.5)).toBeCloseTo(3, 12);
    expect(quantile([1, 2, 4, 8], 0.9)).toBeCloseTo(6.8, 12);
  });
});

describe('npm run plot', () => {
  let root: string;
  let zooDir: string;
  let out: string;
  let cli: { code: number | null; stdout: string; stderr: string };

  beforeAll(async () => {
    root = tempDir();
    zooDir = join(root, 'tiny');
    out = join(root, 'results');
    await trainZoo({ dir: zooDir, config: tinyConfig('ffnn', { seedCount: RUNS, epochs: EPOCHS }) });
    const png = chromiumPath ? ['--png', '--chromium', chromiumPath] : [];
    cli = runCliSync('plot', [
      '--zoo',
      zooDir,
      '--out',
      out,
      '--svd',
      '10',
      '--runs',
      '3',
      '--umap-epochs',
      '50',
      ...png,
    ]);
  }, 180_000);

  const pageFiles = [
    'trajectories-umap-full',
    'trajectories-umap-svd-10',
    'trajectories-svd',
    'dendrogram',
    'weight-stats',
    'sweep',
    'training-curves',
  ];

  it('writes every page, an index linking them, and the cluster exports it drew from', () => {
    expect(cli.code, cli.stderr).toBe(0);
    const index = readFileSync(join(out, 'tiny', 'index.html'), 'utf8');
    for (const page of pageFiles) {
      expect(existsSync(join(out, 'tiny', `${page}.html`)), page).toBe(true);
      expect(index).toContain(`href="${page}.html"`);
    }
    expect(existsSync(join(out, 'cluster-tiny.json'))).toBe(true);
    expect(existsSync(join(out, 'tiny', 'linkage-svd-10.json'))).toBe(true);
  });

  it('rejects bad input with one line and exit code 2, writing nothing', async () => {
    const lonely = join(root, 'lonely');
    await trainZoo({ dir: lonely, config: tinyConfig('ffnn', { seedCount: 1, epochs: 2 }) });
    const oneRun = runCliSync('plot', ['--zoo', lonely, '--out', join(root, 'lonely-plots')]);
    expect(oneRun.code).toBe(2);
    expect(oneRun.stderr).toMatch(/has 1 run; .* need at least 2 \(train more seeds/);
    expect(existsSync(join(root, 'lonely-plots'))).toBe(false);
    const noZoo = runCliSync('plot', ['--zoo', join(root, 'nothing')]);
    expect(noZoo.code).toBe(2);
    expect(noZoo.stderr.trim().split('\n')).toHaveLength(1);
    expect(noZoo.stderr).toMatch(/is not a folder/);
    const badEpoch = runCliSync('plot', ['--zoo', zooDir, '--out', join(root, 'other'), '--epoch', '99']);
    expect(badEpoch.code).toBe(2);
    expect(badEpoch.stderr).toMatch(/epoch 99 is not in/);
    expect(existsSync(join(root, 'other'))).toBe(false);
    const badChromium = runCliSync('plot', [
      '--zoo',
      zooDir,
      '--png',
      '--chromium',
      join(root, 'no-such-chromium'),
    ]);
    expect(badChromium.code).toBe(2);
    expect(badChromium.stderr).toMatch(/does not exist/);
  });

  describe.skipIf(!chromiumPath)('in headless Chromium', () => {
    let browser: Browser;
    const rendered = new Map<string, RenderedPage>();

    beforeAll(async () => {
      browser = await launchChromium(chromiumPath!);
      for (const page of pageFiles)
        rendered.set(
          page,
          await renderPage(browser, join(out, 'tiny', `${page}.html`), { png: join(root, `${page}.png`) }),
        );
    }, 120_000);
    afterAll(async () => browser?.close());

    it('renders every page without console errors or network requests, and screenshots it', () => {
      for (const page of pageFiles) {
        const r = rendered.get(page)!;
        expect(r.errors, page).toEqual([]);
        expect(r.requests, page).toEqual([]);
        expect(r.figures.length, page).toBeGreaterThan(0);
        expect(statSync(join(root, `${page}.png`)).size, page).toBeGreaterThan(20_000);
      }
    });

    it('draws one trajectory per run with a point per checkpoint', () => {
      for (const page of ['trajectories-umap-full', 'trajectories-umap-svd-10']) {
        const [figure] = rendered.get(page)!.figures;
        expect(figure.types).toEqual(Array(RUNS).fill('scatter'));
        expect(figure.points).toEqual(Array(RUNS).fill(POINTS));
      }
      const [flat, cube] = rendered.get('trajectories-svd')!.figures;
      expect(flat.points).toEqual(Array(RUNS).fill(POINTS));
      expect(cube.types).toEqual(Array(RUNS).fill('scatter3d'));
      expect(cube.points).toEqual(Array(RUNS).fill(POINTS));
    });

    it('draws the dendrogram of the chosen runs and the detail of one cluster', () => {
      const [few, one] = rendered.get('dendrogram')!.figures;
      expect(few.traces).toBe(1 + 3); // links + one leaf trace per run
      expect(few.points.slice(1)).toEqual([POINTS, POINTS, POINTS]);
      // the cluster holding run 0's last checkpoint after the first n - runs merges, by replaying them
      const exported = JSON.parse(readFileSync(join(out, 'tiny', 'linkage-svd-10.json'), 'utf8'));
      const n = exported.n;
      const members: number[][] = Array.from({ length: n }, (_, l) => [l]);
      exported.linkage
        .slice(0, n - RUNS)
        .forEach(([a, b]: number[]) => members.push([...members[a], ...members[b]]));
      const anchor = exported.run.findIndex(
        (r: number, l: number) => r === 0 && exported.epoch[l] === EPOCHS,
      );
      const merged = new Set(exported.linkage.slice(0, n - RUNS).flatMap(([a, b]: number[]) => [a, b]));
      const cluster = members.find((m, id) => !merged.has(id) && m.includes(anchor))!;
      const perRun = new Map<number, number>();
      for (const leaf of cluster) perRun.set(exported.run[leaf], (perRun.get(exported.run[leaf]) ?? 0) + 1);
      expect(one.points.slice(1)).toEqual([...perRun].sort((p, q) => p[0] - q[0]).map(([, count]) => count));
    });

    it('draws weight statistics, the sweep and the training curves', () => {
      expect(rendered.get('weight-stats')!.figures[0].points).toEqual([RUNS]);
      // spaces below min(checkpoints, weights) = 24: full, SVD-10, SVD-5
      expect(rendered.get('sweep')!.figures[0].points).toEqual([3, 3, 3]);
      // per metric (test loss, train loss, test accuracy): band (no markers) twice, then the
      // median with a marker per epoch (no train loss at epoch 0: nothing was trained yet)
      expect(rendered.get('training-curves')!.figures[0].points).toEqual([
        0,
        0,
        POINTS,
        0,
        0,
        EPOCHS,
        0,
        0,
        POINTS,
      ]);
    });

    it('wrote a PNG of every page with --png', () => {
      expect(cli.stdout).toContain('.png');
      for (const page of pageFiles)
        expect(statSync(join(out, 'tiny', `${page}.png`)).size).toBeGreaterThan(20_000);
    });
  });
});

describe('highlighted runs (plot --highlight)', () => {
  it('draws the chosen runs in colour over the others in grey, without hover or legend for the grey', async () => {
    const root = tempDir();
    const dir = join(root, 'twelve');
    await trainZoo({ dir, config: tinyConfig('ffnn', { seedCount: 12, epochs: 2 }) });
    const zoo = loadZoo(dir);
    const coords = Float64Array.from({ length: zoo.n * 2 }, (_, i) => i);
    const figure = trajectoryFigure(zoo, coords, { title: 't', axes: ['a', 'b'], highlight: [7, 2] });
    const colour = (t: Record<string, unknown>) => (t.line as { color: string }).color;
    expect(figure.data.map((t) => t.name)).toEqual([
      ...[0, 1, 3, 4, 5, 6, 8, 9, 10, 11].map((r) => `run ${r}`),
      'run 7',
      'run 2',
    ]);
    expect(figure.data.slice(0, 10).every((t) => colour(t) === UNCHOSEN_GREY && t.hoverinfo === 'skip')).toBe(
      true,
    );
    expect(new Set(figure.data.slice(10).map(colour)).size).toBe(2);
    expect(figure.data.slice(10).some((t) => colour(t) === UNCHOSEN_GREY)).toBe(false);

    // the default: runs spread over the dendrogram's leaves, by their last checkpoints
    const { linkage } = singleLinkage(matrix(zoo.weights, zoo.n, zoo.dim));
    const exported = {
      zoo: 'twelve',
      zooDigest: zoo.digest,
      space: 'full',
      n: zoo.n,
      layout: '',
      run: Array.from(zoo.run),
      epoch: Array.from(zoo.epoch),
      linkage: Array.from({ length: zoo.n - 1 }, (_, i) => Array.from(linkage.z.subarray(4 * i, 4 * i + 4))),
    };
    const picked = runsSpreadOverTree(exported, zoo.epochs, 5);
    const lastOrder = [...leafOrder(linkage)]
      .filter((l) => zoo.epoch[l] === zoo.epochs)
      .map((l) => zoo.run[l]);
    expect(picked).toEqual([0, 3, 6, 8, 11].map((i) => lastOrder[i])); // round(i * 11 / 4), i = 0..4
    expect(picked[0]).toBe(lastOrder[0]);
    expect(picked.at(-1)).toBe(lastOrder[11]);
    expect(new Set(picked).size).toBe(5);

    const cli = runCliSync('plot', ['--zoo', dir, '--out', join(root, 'out'), '--highlight', '1,20']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/^error: --highlight names run 20; .* has runs 0-11\n$/);

    // the pages: the dendrogram shows the highlighted runs, each in its trajectory's colour
    const out = join(root, 'out');
    const drawn = runCliSync('plot', ['--zoo', dir, '--out', out, '--highlight', '7,2', '--svd', '5']);
    expect(drawn.code, drawn.stderr).toBe(0);
    type Trace = { name: string; showlegend?: boolean; line?: { color: string }; marker?: { color: string } };
    const figures = (page: string) =>
      JSON.parse(
        /const figures = (.*);\nPromise/.exec(readFileSync(join(out, 'twelve', `${page}.html`), 'utf8'))![1],
      ) as { data: Trace[] }[];
    const colours = (traces: Trace[], colour: (t: Trace) => string | undefined) =>
      Object.fromEntries(traces.filter((t) => /^run \d+$/.test(t.name)).map((t) => [t.name, colour(t)]));
    const [tree] = figures('dendrogram');
    const [umap] = figures('trajectories-umap-full');
    const chosen = colours(
      umap.data.filter((t) => t.showlegend !== false),
      (t) => t.line?.color,
    );
    expect(Object.keys(chosen).sort()).toEqual(['run 2', 'run 7']);
    expect(colours(tree.data, (t) => t.marker?.color)).toEqual(chosen);
  }, 120_000);
});
