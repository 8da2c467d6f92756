/**
 * trainZoo end to end on real MNIST: storage layout, lineage, determinism across runs and
 * worker counts, and that the models learn.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE, trainZoo } from '../src/train/trainZoo.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { readManifest } from '../src/store/manifest.ts';
import { weightsSha256 } from '../src/store/sha256.ts';
import { tempDir, tinyConfig } from './helpers.ts';

describe.each(['ffnn', 'cnn'] as const)('%s zoo', (arch) => {
  const config = tinyConfig(arch);

  it('stores every epoch of every run with metrics, hashes and lineage', async () => {
    const dir = join(tempDir(), 'z');
    await trainZoo({ dir, config, workers: 2 });
    const zoo = loadZoo(dir);
    const R = config.seedCount;
    expect(zoo.n).toBe(R * (config.epochs + 1));
    expect(zoo.dim).toBe(arch === 'ffnn' ? 2160 : 1376);
    expect(zoo.manifest.status).toBe('complete');
    expect(zoo.manifest.data.fileSha256['train-images-idx3-ubyte']).toMatch(/^[0-9a-f]{64}$/);
    expect(zoo.manifest.architecture.params.map((p) => p.name)).toHaveLength(3);
    const steps = Math.ceil(config.trainSize / config.batchSize);
    for (let i = 0; i < zoo.n; i++) {
      const e = zoo.epoch[i];
      expect(zoo.run[i]).toBe(i % R);
      expect(zoo.seed[i]).toBe(config.seedStart + zoo.run[i]);
      expect(zoo.step[i]).toBe(e * steps);
      expect(Number.isNaN(zoo.trainLoss[i])).toBe(e === 0);
      expect(zoo.testAccuracy[i]).toBeGreaterThanOrEqual(0);
      expect(zoo.sha256[i]).toBe(weightsSha256(zoo.weights.subarray(i * zoo.dim, (i + 1) * zoo.dim)));
    }
    // every checkpoint names the previous epoch's checkpoint of its run as parent
    const { readCheckpointFile } = await import('../src/store/checkpointFile.ts');
    const { checkpointPath } = await import('../src/store/manifest.ts');
    const e1 = readCheckpointFile(checkpointPath(dir, 1)).rows;
    const e0 = readCheckpointFile(checkpointPath(dir, 0)).rows;
    expect(e0.parentSha256).toEqual(new Array(R).fill(null));
    expect(e1.parentSha256).toEqual(e0.sha256);
  });

  it('gives bit-identical zoos for the same config, whatever the number of workers', async () => {
    const three = { ...config, seedCount: 5 };
    const a = join(tempDir(), 'a');
    const b = join(tempDir(), 'b');
    const c = join(tempDir(), 'c');
    await trainZoo({ dir: a, config: three, workers: 1 });
    await trainZoo({ dir: b, config: three, workers: 2 });
    await trainZoo({ dir: c, config: { ...three, seedStart: 1 }, workers: 2 });
    const [za, zb, zc] = [loadZoo(a), loadZoo(b), loadZoo(c)];
    expect(zb.sha256).toEqual(za.sha256);
    expect(Buffer.from(zb.weights.buffer).equals(Buffer.from(za.weights.buffer))).toBe(true);
    expect(zb.testLoss).toEqual(za.testLoss);
    // different seeds give different weights; seed s is the same run wherever it sits
    expect(zc.sha256[0]).not.toBe(za.sha256[0]);
    const lastRow = (z: Zoo, seed: number) => z.n - z.runs + (seed - z.manifest.config!.seedStart);
    expect(zc.sha256[lastRow(zc, 1)]).toBe(za.sha256[lastRow(za, 1)]);
  });
});

describe('training', () => {
  it.each(['ffnn', 'cnn'] as const)(
    '%s models learn: test accuracy well above chance after 4 epochs on 5,000 images',
    async (arch) => {
      const dir = join(tempDir(), 'learn');
      const config = tinyConfig(arch, { seedCount: 6, epochs: 4, trainSize: 5000, testSize: 500 });
      await trainZoo({ dir, config });
      const zoo = loadZoo(dir);
      const accuracy = (epoch: number) => {
        const xs = Array.from(zoo.testAccuracy).filter((_, i) => zoo.epoch[i] === epoch);
        return xs.reduce((a, b) => a + b, 0) / xs.length;
      };
      expect(accuracy(0)).toBeLessThan(0.2);
      expect(accuracy(4)).toBeGreaterThan(0.4); // chance is 0.1
      console.log(
        `${arch}: mean test accuracy ${accuracy(0).toFixed(3)} at init, ${accuracy(4).toFixed(3)} after 4 epochs`,
      );
    },
  );

  it('Table 1 CNN settings do not learn (the documented problem the tuned preset fixes)', async () => {
    const { presetConfig } = await import('../src/core/presets.ts');
    const dir = join(tempDir(), 'paper-cnn');
    const config = presetConfig('paper', 'cnn', { seedCount: 4, epochs: 3, trainSize: 2000, testSize: 500 });
    await trainZoo({ dir, config });
    const zoo = loadZoo(dir);
    const last = Array.from(zoo.testAccuracy).filter((_, i) => zoo.epoch[i] === 3);
    expect(Math.max(...last)).toBeLessThan(0.35);
  });

  it('an unfinished zoo of another engine version is not resumed (its bits would mix with ours)', async () => {
    const dir = join(tempDir(), 'old-engine');
    const config = tinyConfig('ffnn');
    await expect(
      trainZoo({
        dir,
        config,
        onWrite: (e) => {
          if (e.epoch === 1) throw new Error('stopped after epoch 0');
        },
      }),
    ).rejects.toThrow('stopped after epoch 0');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.epochsCompleted).toBe(0);
    manifest.engine.name = 'lockstep-js/1';
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await expect(trainZoo({ dir, config })).rejects.toThrow(
      `trained up to epoch 0 by engine lockstep-js/1; this toolkit's ${ENGINE.name} computes other bits`,
    );
  });

  it('a finished zoo is not trained again', async () => {
    const dir = join(tempDir(), 'done');
    const config = tinyConfig('ffnn');
    await trainZoo({ dir, config });
    const before = readManifest(dir).updatedAt;
    const again = await trainZoo({ dir, config });
    expect(again.epochsTrained).toBe(0);
    expect(readManifest(dir).updatedAt).toBe(before);
  });
});
