/**
 * Sharded training: shard I/N trains a contiguous block of the seeds, from the flag or from a
 * scheduler's environment (Slurm job arrays, Kubernetes Indexed Jobs), and `zoo merge` joins
 * the shards into the zoo one machine writes, byte for byte: 4 shard processes run at once,
 * one of them killed and resumed, against the unsharded zoo trained by the same command.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseShard, shardConfig, shardFromEnv, shardRuns } from '../src/core/shards.ts';
import { presetConfig } from '../src/core/presets.ts';
import { readManifest } from '../src/store/manifest.ts';
import { verifyZoo } from '../src/store/verifyZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { crashZoo, runCliSync, startCli, tempDir } from './helpers.ts';

describe('which runs a shard trains', () => {
  it('shards are contiguous, disjoint, cover every run and differ in size by at most one', () => {
    for (let runs = 1; runs <= 40; runs++) {
      for (let count = 1; count <= runs; count++) {
        const owner: number[] = [];
        let next = 0;
        for (let index = 0; index < count; index++) {
          const [a, b] = shardRuns(runs, { index, count });
          expect(a).toBe(next); // contiguous, in order
          expect(b - a).toBeGreaterThanOrEqual(Math.floor(runs / count));
          expect(b - a).toBeLessThanOrEqual(Math.ceil(runs / count));
          for (let r = a; r < b; r++) owner[r] = index;
          next = b;
        }
        expect(next).toBe(runs);
        expect(owner.filter((o) => o !== undefined)).toHaveLength(runs);
      }
    }
  });

  it("a shard's config is the zoo's narrowed to its seeds; more shards than runs is refused", () => {
    const zoo = presetConfig('default', 'ffnn', { seedStart: 100, seedCount: 10 });
    expect(shardConfig(zoo, { index: 1, count: 3 })).toEqual({ ...zoo, seedStart: 103, seedCount: 3 });
    expect(shardConfig(zoo, { index: 2, count: 3 })).toEqual({ ...zoo, seedStart: 106, seedCount: 4 });
    expect(() => shardConfig(zoo, { index: 0, count: 11 })).toThrow(/at most 10 shards/);
  });

  it.each([
    ['2/4', { index: 2, count: 4 }],
    [' 0 / 1 ', { index: 0, count: 1 }],
  ])('parses %j', (text, shard) => expect(parseShard(text)).toEqual(shard));

  it.each([
    ['4/4', /index must be from 0 to N-1/],
    ['1/0', /index must be from 0 to N-1/],
    ['-1/4', /must be I\/N/],
    ['2', /must be I\/N/],
  ])('refuses %j', (text, message) => expect(() => parseShard(text)).toThrow(message));

  it('reads Slurm job arrays (from 0 or 1) and Kubernetes Indexed Jobs', () => {
    expect(shardFromEnv({})).toBeNull();
    const slurm = { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_COUNT: '4' };
    expect(shardFromEnv(slurm)!.shard).toEqual({ index: 2, count: 4 });
    expect(shardFromEnv({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2' })!.shard).toEqual({
      index: 0,
      count: 2,
    });
    expect(shardFromEnv({ JOB_COMPLETION_INDEX: '5', ZOO_SHARD_COUNT: '8' })).toEqual({
      shard: { index: 5, count: 8 },
      source: 'JOB_COMPLETION_INDEX 5 of ZOO_SHARD_COUNT 8',
    });
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '5' })).toThrow(/set ZOO_SHARD_COUNT/);
    expect(() => shardFromEnv({ JOB_COMPLETION_INDEX: '8', ZOO_SHARD_COUNT: '8' })).toThrow(/0 to N-1/);
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: '1' })).toThrow(/SLURM_ARRAY_TASK_COUNT is not/);
    expect(() =>
      shardFromEnv({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_STEP: '2' }),
    ).toThrow(/one contiguous range/);
    expect(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '3' })).toThrow(
      /SLURM_ARRAY_TASK_ID must be a non-negative integer/,
    );
  });
});

/** SHA-256 of every file under `dir`, the manifest included as it is. */
function bytesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; stderr: string }>((resolve) => {
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stderr }));
  });

describe('zoo --shard and zoo merge', () => {
  const SEEDS = 7;
  const ZOO = ['--arch', 'ffnn', '--seeds', String(SEEDS), '--epochs', '3'];
  const SMALL = ['--train-size', '300', '--test-size', '100', '--workers', '1', '--name', 'split'];
  // one time for every manifest, so that zoos written apart can be equal byte for byte
  const TIME = { SOURCE_DATE_EPOCH: '1764400000' };

  it('4 shards trained at once (one killed and resumed) merge into the unsharded zoo, byte for byte', async () => {
    const out = tempDir();
    const shardDir = (i: number) => join(out, `ffnn-split-shard-${i}-of-4`);
    const config = presetConfig('default', 'ffnn', {
      seedCount: SEEDS,
      epochs: 3,
      trainSize: 300,
      testSize: 100,
    });

    // shard 1 is killed (SIGKILL) inside epoch 1's commit, before its manifest is renamed
    const killed = crashZoo({
      dir: shardDir(1),
      config,
      at: [1, 'manifest', 'tmp-written'],
      shard: '1/4',
      env: TIME,
    });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    expect(readManifest(shardDir(1))).toMatchObject({ status: 'training', epochsCompleted: 0 });

    // the four shards at once, each told its shard another way; shard 1 resumes
    const args = [...ZOO, ...SMALL, '--out', out];
    const children = [
      startCli('zoo', [...args, '--shard', '0/4'], TIME),
      startCli('zoo', args, {
        ...TIME,
        SLURM_ARRAY_TASK_ID: '2',
        SLURM_ARRAY_TASK_MIN: '1',
        SLURM_ARRAY_TASK_COUNT: '4',
      }),
      startCli('zoo', args, { ...TIME, JOB_COMPLETION_INDEX: '2', ZOO_SHARD_COUNT: '4' }),
      startCli('zoo', [...args, '--shard', '3/4'], TIME),
    ];
    const results = await Promise.all(children.map(exited));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(results[1].stderr).toMatch(
      /shard 1\/4 \(from SLURM_ARRAY_TASK_ID 2 of SLURM_ARRAY_TASK_COUNT 4\), seeds 1-2 of 0-6/,
    );
    // epoch 1's checkpoint and resume state were written: recovery commits it, training goes on from there
    expect(results[1].stderr).toMatch(/resumed after epoch 1/);
    expect(results[2].stderr).toMatch(
      /shard 2\/4 \(from JOB_COMPLETION_INDEX 2 of ZOO_SHARD_COUNT 4\), seeds 3-4/,
    );
    expect(readManifest(shardDir(3)).config!.seedStart).toBe(5);

    // refused: a missing shard, a shard given twice, a shard of another config; nothing written
    const merged = join(tempDir(), 'ffnn-split');
    const refuse = (dirs: string[], message: RegExp) => {
      const r = runCliSync('zoo', ['merge', ...dirs, '--out', merged], { env: TIME });
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.code).toBe(2);
      expect(existsSync(merged)).toBe(false);
    };
    refuse([0, 1, 3].map(shardDir), /^error: shard 2\/4 \(seeds 3-4\) missing; train it with/);
    refuse([0, 1, 2, 3, 0].map(shardDir), /^error: shard 0\/4 is given twice/);
    const other = runCliSync('zoo', [
      ...ZOO,
      ...SMALL,
      '--lr',
      '0.02',
      '--name',
      'other',
      '--shard',
      '2/4',
      '--out',
      out,
    ]);
    expect(other.code, other.stderr).toBe(0);
    refuse(
      [shardDir(0), shardDir(1), join(out, 'ffnn-other-shard-2-of-4'), shardDir(3)],
      /is a shard of another zoo than .* \(learningRate 0.03 -> 0.02\)/,
    );

    const ok = runCliSync('zoo', ['merge', ...[3, 1, 0, 2].map(shardDir), '--out', merged], { env: TIME });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/merged 4 shards: 7 runs x 4 checkpoints/);

    // the same zoo trained by one process, unsharded
    const whole = tempDir();
    const single = runCliSync('zoo', [...ZOO, ...SMALL, '--workers', '2', '--out', whole], { env: TIME });
    expect(single.code, single.stderr).toBe(0);
    const reference = bytesOf(join(whole, 'ffnn-split'));
    expect(Object.keys(reference)).toEqual([
      'checkpoints/epoch-0000.arrow',
      'checkpoints/epoch-0001.arrow',
      'checkpoints/epoch-0002.arrow',
      'checkpoints/epoch-0003.arrow',
      'manifest.json',
      'resume.arrow',
    ]);
    expect(bytesOf(merged)).toEqual(reference);
    expect(verifyZoo(merged).sound).toBe(true);
    expect(readdirSync(join(merged, '..'))).toEqual(['ffnn-split']); // no temporary folder left

    // merging again over the finished zoo is refused and leaves it as it was
    const again = runCliSync('zoo', ['merge', ...[0, 1, 2, 3].map(shardDir), '--out', merged]);
    expect(again.stderr).toMatch(
      /^error: .* already exists and is not empty; choose a new folder with --out/,
    );
    expect(again.code).toBe(2);
    expect(bytesOf(merged)).toEqual(reference);
  }, 120_000);

  it('refuses a shard still training, a folder that is not a shard, and a shard folder reused for another split', async () => {
    const out = tempDir();
    const config = presetConfig('default', 'ffnn', { seedCount: 4, epochs: 2, trainSize: 100, testSize: 50 });
    const a = join(out, 'a');
    await trainZoo({ dir: a, config, shard: { index: 0, count: 2 }, workers: 1 });
    const notShard = join(out, 'whole');
    await trainZoo({ dir: notShard, config, workers: 1 });
    const merged = join(out, 'merged');
    let r = runCliSync('zoo', ['merge', a, notShard, '--out', merged]);
    expect(r.stderr).toMatch(/whole is not a shard \(its manifest has no shard field\)/);
    expect(r.code).toBe(2);

    const b = join(out, 'b');
    await trainZoo({ dir: b, config: { ...config, epochs: 1 }, shard: { index: 1, count: 2 }, workers: 1 });
    const m = JSON.parse(readFileSync(join(b, 'manifest.json'), 'utf8'));
    // the same shard, stopped after epoch 1 of 2 (as a killed one would be)
    m.shard.zoo.epochs = 2;
    m.config.epochs = 2;
    m.status = 'training';
    writeFileSync(join(b, 'manifest.json'), JSON.stringify(m));
    r = runCliSync('zoo', ['merge', a, b, '--out', merged]);
    expect(r.stderr).toMatch(
      /shard 1\/2 in .*b is still training \(epoch 1 of 2\); run its zoo command again/,
    );
    expect(existsSync(merged)).toBe(false);

    // seeds 0-1 as a whole zoo: the shard's config, but not a shard
    await expect(trainZoo({ dir: a, config: { ...config, seedCount: 2 }, workers: 1 })).rejects.toThrow(
      /holds shard 0\/2, not a whole zoo of this config/,
    );
    m.config.seedStart = 0; // a shard manifest whose config is not its shard of the zoo
    writeFileSync(join(b, 'manifest.json'), JSON.stringify(m));
    expect(() => readManifest(b)).toThrow(
      /shard: the config is not shard 1\/2 of the zoo's \(seedStart 2 -> 0\)/,
    );
  }, 60_000);
});
