/**
 * The engine's golden fingerprint: the SHA-256 of every checkpoint's float32 bytes of a tiny
 * zoo per architecture (default preset, 3 seeds, 2 epochs on 300 images), by engine version.
 * A kernel change that moves any bit fails here; if the change is meant, it is a new engine
 * version (ENGINE in src/train/trainZoo.ts, docs/zoo.md) with its own fingerprints added.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArchName } from '../src/core/architectures.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { ENGINE, trainZoo } from '../src/train/trainZoo.ts';
import { tempDir, tinyConfig } from './helpers.ts';

const GOLDEN: Record<string, Record<ArchName, string>> = {
  'lockstep/4': {
    ffnn: '2a3d048edbf1fe588ff50f40b15f29a8f786de7348eeaac33e533c9dc9a6b34f',
    cnn: 'd290cb5fd8957c0f354e4c0d3756065cd89074a152d45105786742ba088c3df0',
  },
};

describe(`the golden fingerprint of engine ${ENGINE.name}`, () => {
  it.each(['ffnn', 'cnn'] as ArchName[])('%s: a tiny zoo has the recorded bytes', async (arch) => {
    expect(GOLDEN[ENGINE.name], `no fingerprint recorded for engine ${ENGINE.name}: add it`).toBeDefined();
    const dir = join(tempDir('wsvc-golden-'), arch);
    await trainZoo({
      dir,
      config: tinyConfig(arch, { seedCount: 3, epochs: 2, trainSize: 300, testSize: 100 }),
    });
    const { weights } = loadZoo(dir);
    const sha = createHash('sha256')
      .update(Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength))
      .digest('hex');
    expect(sha).toBe(GOLDEN[ENGINE.name][arch]);
  });
});
