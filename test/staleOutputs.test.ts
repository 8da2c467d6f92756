/**
 * Derived outputs belong to one zoo content: plot recomputes cluster exports made from other
 * checkpoints (a zoo retrained under the same name), and identify rebuilds a stale index.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterSweep } from '../src/pipeline/sweep.ts';
import { writeClusterReport } from '../src/pipeline/report.ts';
import { clusterZoo } from '../src/cluster/clusterZoo.ts';
import { ENGINE, trainZoo } from '../src/train/trainZoo.ts';
import { plotZoo } from '../src/plot/plotZoo.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { tempDir, tinyConfig } from './helpers.ts';

describe('plot with cluster exports of an earlier zoo of the same name', () => {
  it('recomputes them from the zoo it plots', async () => {
    const root = tempDir();
    const zooDir = join(root, 'z');
    const out = join(root, 'results');
    await trainZoo({ dir: zooDir, config: tinyConfig('ffnn', { seedCount: 4, epochs: 2 }) });
    const [rows] = await clusterSweep({ zoos: [{ dir: zooDir, spaces: [0, 5] }], outDir: out });
    writeClusterReport(out, zooDir, rows, {});
    // the same shape of zoo, other seeds: every checkpoint differs
    await trainZoo({
      dir: zooDir,
      config: tinyConfig('ffnn', { seedCount: 4, epochs: 2, seedStart: 100 }),
      overwrite: true,
    });

    await plotZoo(zooDir, { outDir: out, svd: 5, umapEpochs: 20 });
    const zoo = loadZoo(zooDir);
    const expected = clusterZoo(zoo, { svd: 5 }).linkage.z;
    const drawn = JSON.parse(readFileSync(join(out, 'z', 'linkage-svd-5.json'), 'utf8')) as {
      linkage: number[][];
    };
    expect(drawn.linkage.flat()).toEqual(Array.from(expected));
    const report = JSON.parse(readFileSync(join(out, 'cluster-z.json'), 'utf8'));
    expect(report.zoo.config.seedStart).toBe(100);
    expect(report.zoo.engine).toEqual(ENGINE);
  });
});
