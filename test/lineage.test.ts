/**
 * lineage: recorded links (a fork's manifest) and inferred ones (identify --record) kept
 * apart, a reference's family, and --dot that Graphviz renders.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { forkCheckpoint } from '../src/pipeline/fork.ts';
import { zooLineage } from '../src/pipeline/lineage.ts';
import { findChromium, launchChromium, renderPage } from '../src/plot/browser.ts';
import { openCatalog } from '../src/store/catalog.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { exportCheckpoint, runCliSync, tempDir, tinyConfig } from './helpers.ts';

let root: string;
let exported: string;

beforeAll(async () => {
  root = tempDir('wsvc-lineage-');
  await trainZoo({
    dir: join(root, 'ffnn-l'),
    config: tinyConfig('ffnn', { seedCount: 4, epochs: 3, trainSize: 600 }),
  });
  await trainZoo({ dir: join(root, 'cnn-l'), config: tinyConfig('cnn', { seedCount: 2, epochs: 1 }) });
  await forkCheckpoint(openCatalog(root), 'ffnn-l:2@1', { name: 'ffnn-fork', epochs: 2 });
  exported = join(root, 'run3.safetensors');
  exportCheckpoint({ zoo: join(root, 'ffnn-l'), run: 3, epoch: 2, format: 'safetensors', out: exported });
  const id = runCliSync('identify', [exported, '--zoo', join(root, 'ffnn-l'), '--record']);
  expect(id.code, id.stderr).toBe(0);
  expect(id.stderr).toMatch(/^recorded: .* -> run 3 of /m);
}, 180_000);

/** "p < floor" with the floor identify recorded for the exported checkpoint's link, as every view prints it. */
function belowFloor(): string {
  const link = JSON.parse(readFileSync(join(root, 'ffnn-l', 'inferred.json'), 'utf8')).links[0];
  return `p < ${Number(link.pValueFloor.toPrecision(2))}`;
}

describe('lineage', () => {
  it('shows recorded links and inferred ones apart, with the verdict and p-value of the inferred', () => {
    const all = zooLineage(openCatalog(root));
    expect(all.nodes.map((n) => n.id).sort()).toEqual(
      [
        'cnn-l:0',
        'cnn-l:1',
        'ffnn-fork:0',
        'ffnn-l:0',
        'ffnn-l:1',
        'ffnn-l:2',
        'ffnn-l:3',
        `file:${exported}`,
      ].sort(),
    );
    expect(all.edges).toEqual([
      { from: 'ffnn-l:2', at: 1, to: 'ffnn-fork:0', kind: 'recorded' },
      expect.objectContaining({
        from: 'ffnn-l:3',
        to: `file:${exported}`,
        kind: 'inferred',
        verdict: 'member',
      }),
    ]);
    const inferred = JSON.parse(readFileSync(join(root, 'ffnn-l', 'inferred.json'), 'utf8'));
    expect(inferred.links[0]).toMatchObject({ run: 3, verdict: 'member', child: { file: exported } });
    expect(inferred.links[0].epoch).toBeCloseTo(2, 6);
    // the exported checkpoint is the run's own: its p-value is below what the calibration resolves
    expect(inferred.links[0].pValueFloor).toBeGreaterThan(0);
    expect(inferred.links[0].pValue).toBeLessThan(inferred.links[0].pValueFloor);
    expect(runCliSync('verify', ['--zoo', join(root, 'ffnn-l')]).code).toBe(0);
  });

  it("restricts to a reference's family: the fork and its parent run, nothing of the other zoo", () => {
    const family = zooLineage(openCatalog(root), 'ffnn-fork:0');
    expect(family.nodes.map((n) => n.id).sort()).toEqual(['ffnn-fork:0', 'ffnn-l:2']);
    expect(family.edges).toHaveLength(1);
    const text = runCliSync('lineage', ['ffnn-l:3', '--root', root]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`ffnn-l:3@2 -> file:${exported}  (inferred: member, ${belowFloor()})`);
  });

  it('writes DOT that Graphviz renders: a cluster per zoo, inferred links dashed', () => {
    const r = runCliSync('lineage', ['--dot', '--root', root]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^digraph lineage \{/);
    expect(r.stdout).toMatch(/"ffnn-l:2" -> "ffnn-fork:0" \[label="@1"\];/);
    expect(r.stdout).toMatch(
      /"ffnn-l:3" -> "file:.*run3\.safetensors" \[label="member @2\\np < [^"]*", style=dashed\];/,
    );
    const dot = spawnSync('dot', ['-V']);
    if (dot.error) {
      if (process.env.REQUIRE_GRAPHVIZ)
        throw new Error('REQUIRE_GRAPHVIZ is set but dot is missing (apt-get install graphviz)');
      return; // rendering is checked where Graphviz is installed (CI installs it)
    }
    const file = join(root, 'lineage.dot');
    writeFileSync(file, r.stdout);
    const svg = spawnSync('dot', ['-Tsvg', file], { encoding: 'utf8' });
    expect(svg.status, svg.stderr).toBe(0);
    expect(svg.stdout).toMatch(/<svg/);
    for (const title of ['ffnn-l:2', 'ffnn-fork:0', 'cnn-l:1'])
      expect(svg.stdout).toContain(`<title>${title.replace(/-/g, '&#45;')}</title>`); // Graphviz writes - as &#45;
    expect(svg.stdout).toContain('stroke-dasharray'); // the inferred link
    expect(existsSync(file)).toBe(true);
  });

  it('writes an offline page where a subtree folds and hovering a run shows its hash and metrics', async () => {
    const file = join(root, 'lineage.html');
    const r = runCliSync('lineage', ['--html', file, '--root', root]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`wrote ${file}\n`);
    const missing = runCliSync('lineage', ['--html', join(root, 'no', 'l.html'), '--root', root]);
    expect([missing.code, missing.stderr]).toEqual([
      2,
      `error: --html ${join(root, 'no', 'l.html')}: the folder ${join(root, 'no')} does not exist\n`,
    ]);
    const chromium = findChromium();
    if (!chromium) {
      if (process.env.REQUIRE_CHROMIUM) throw new Error('REQUIRE_CHROMIUM is set but no Chromium was found');
      return;
    }
    const lineage = zooLineage(openCatalog(root));
    const parentRun = lineage.nodes.find((n) => n.id === 'ffnn-l:2')!;
    const browser = await launchChromium(chromium);
    try {
      const drawn = await renderPage(browser, file);
      expect(drawn.errors).toEqual([]);
      expect(drawn.requests).toEqual([]);
      const page = await browser.newPage();
      await page.goto(`file://${file}`);
      await page.waitForFunction(() => (window as unknown as { plotsReady?: boolean }).plotsReady);
      const ids = await page.$$eval('li[data-id]', (lis) => lis.map((li) => (li as HTMLElement).dataset.id));
      expect([...ids].sort()).toEqual(lineage.nodes.map((n) => n.id).sort()); // every run once
      const fork = page.locator('li[data-id="ffnn-fork:0"]');
      expect(await fork.getAttribute('class')).toBe('recorded');
      expect(await page.locator('li[data-id="ffnn-l:2"] li[data-id="ffnn-fork:0"]').count()).toBe(1);
      expect(await page.locator(`li[data-id="file:${exported}"]`).getAttribute('class')).toBe('inferred');
      await expect.poll(() => fork.isVisible()).toBe(true);
      await page.locator('li[data-id="ffnn-l:2"] > button.fold').click();
      expect(await fork.isVisible()).toBe(false); // folded away
      await page.locator('li[data-id="ffnn-l:2"] > button.fold').click();
      expect(await fork.isVisible()).toBe(true);
      await page.locator('li[data-id="ffnn-l:2"] > span.node').hover();
      const tip = await page.locator('#tip').innerText();
      expect(tip).toContain(`sha256 ${parentRun.sha256}`);
      expect(tip).toContain(`test_accuracy ${Number(parentRun.metrics.test_accuracy.toPrecision(4))}`);
      await page.locator(`li[data-id="file:${exported}"] > span.node`).hover();
      expect(await page.locator('#tip').innerText()).toContain(
        `inferred link from ffnn-l:3@2: member, ${belowFloor()}`,
      );
      await page.close();
    } finally {
      await browser.close();
    }
  }, 120_000);
});
