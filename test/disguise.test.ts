/**
 * Disguised copies against identify: a checkpoint with its hidden units permuted (and, for the
 * CNN, rescaled), which computes the same function (test/symmetry.test.ts checks that), is
 * named as the checkpoint it is, through alignment; without alignment it is not. Seeds the
 * index does not hold stay unknown, permuted or not.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ArchName } from '../src/core/architectures.ts';
import { Rng } from '../src/core/rng.ts';
import { identify } from '../src/identify/identify.ts';
import { symmetriesOf } from '../src/identify/symmetry.ts';
import { disguisedCopy } from '../src/identify/symmetry.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';

const [RUNS, KNOWN, EPOCHS] = [10, 8, 5];

// every hidden layer permuted and, where the activation allows, rescaled by c in [0.5, 2]
const disguise = (zoo: Zoo, w: Float32Array, rng: Rng) =>
  disguisedCopy(symmetriesOf(zoo.manifest.architecture), w, rng, { permute: true, scale: true });

const rowOf = (zoo: Zoo, run: number, epoch: number) =>
  zoo.weights.slice((epoch * zoo.runs + run) * zoo.dim, (epoch * zoo.runs + run + 1) * zoo.dim);

describe.each(['ffnn', 'cnn'] as ArchName[])('identify of disguised copies, %s', (arch) => {
  let zoo: Zoo;
  let index: ZooIndex;
  let dir: string;
  beforeAll(async () => {
    dir = join(tempDir(), arch);
    await trainZoo({ dir, config: tinyConfig(arch, { seedCount: RUNS, epochs: EPOCHS }) });
    zoo = loadZoo(dir);
    index = ZooIndex.build(zoo, { runs: (r) => r < KNOWN });
  }, 120_000);

  it('names the run and epoch of permuted copies of its checkpoints, saying so', () => {
    const rng = new Rng(9, 0);
    for (let run = 0; run < KNOWN; run++) {
      const epoch = 1 + (run % (EPOCHS - 1));
      const copy = disguise(zoo, rowOf(zoo, run, epoch), rng);
      const plain = identify(index, copy, { align: false });
      const id = identify(index, copy);
      expect([id.verdict, id.run], `run ${run}`).toEqual(['member', run]);
      expect(Math.abs(id.epoch - epoch)).toBeLessThan(0.2);
      expect(id.aligned).toMatch(
        arch === 'cnn'
          ? /^permutation \(\d+ of 24 units moved\), scale$/
          : /^permutation \(\d+ of 20 units moved\)$/,
      );
      expect(id.distance).toBeLessThan(0.05 * plain.distance); // what alignment gained
      expect(plain.verdict === 'member' && plain.run === run).toBe(false); // and the search without it misses
    }
  });

  it('leaves seeds it does not hold unknown, permuted or not', () => {
    const rng = new Rng(10, 0);
    for (let run = KNOWN; run < RUNS; run++)
      for (const epoch of [2, EPOCHS]) {
        const w = rowOf(zoo, run, epoch);
        expect(identify(index, w).verdict).toBe('unknown');
        expect(identify(index, disguise(zoo, w, rng)).verdict).toBe('unknown');
      }
  });

  it('says which alignment it applied on the command line', () => {
    const file = join(dir, '..', `${arch}-disguised.safetensors`);
    const copy = disguise(zoo, rowOf(zoo, 3, 2), new Rng(12, 0));
    const tensors = zoo.manifest.architecture.params.map((p) => ({
      name: p.name,
      shape: p.shape,
      dtype: 'F32',
      values: Array.from(copy.subarray(p.offset, p.offset + p.size)),
    }));
    writeFileSync(file, safetensorsBytes(tensors));
    const cli = runCliSync('identify', [file, '--zoo', dir]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/verdict {5}MEMBER: on run 3 /);
    expect(cli.stdout).toMatch(
      arch === 'cnn'
        ? /aligned {5}permutation \(\d+ of 24 units moved\), scale\n/
        : /aligned {5}permutation \(\d+ of 20 units moved\); no scale alignment: sigmoid is not positively homogeneous\n/,
    );
  }, 60_000);
});
