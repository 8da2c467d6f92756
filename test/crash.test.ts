/**
 * Crash at any point: the zoo writer is killed (SIGKILL, like a power cut) at every write of
 * an epoch's commit (store/zooCommit.ts) in the first, a middle and the last epoch with 1
 * worker, at every write of a middle epoch and the last manifest with 2, and at seeded random
 * moments of `npm run zoo`. Each time the same command
 * resumes, and the finished zoo is byte-identical to an uninterrupted one (the manifest up to
 * its timestamps), with no temp file left.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { readManifest } from '../src/store/manifest.ts';
import { presetConfig } from '../src/core/presets.ts';
import { crashZoo, runCliSync, startCli, tempDir, treeFingerprint } from './helpers.ts';

const EPOCHS = 3;
const config = presetConfig('default', 'ffnn', {
  seedCount: 3,
  epochs: EPOCHS,
  trainSize: 300,
  testSize: 100,
});

/** Every boundary of one epoch: inside each atomic write (temp file complete, not renamed) and after it. */
const BOUNDARIES = ['checkpoint', 'resume', 'manifest'].flatMap((file) =>
  ['tmp-written', 'done'].map((stage) => [file, stage] as const),
);
const POINTS = [
  // before any manifest exists, and with the initial (empty) manifest committed
  [-1, 'manifest', 'tmp-written'],
  [-1, 'manifest', 'done'],
  ...[0, 1, EPOCHS].flatMap((epoch) => BOUNDARIES.map(([file, stage]) => [epoch, file, stage] as const)),
] as const;

let reference: Promise<Record<string, string>> | null = null;
/** The uninterrupted zoo (the same name: it is stored in each checkpoint file's metadata). */
function referenceZoo(): Promise<Record<string, string>> {
  reference ??= (async () => {
    const dir = join(tempDir(), 'ffnn-crash');
    await trainZoo({ dir, config, workers: 1 });
    return treeFingerprint(dir);
  })();
  return reference;
}

/** With 2 workers, the writes where their runs meet: a middle epoch's, and the manifest that completes the zoo. */
const TWO_WORKER_POINTS = POINTS.filter(
  ([epoch, file]) => epoch === 1 || (epoch === EPOCHS && file === 'manifest'),
);

describe('killed at a write boundary, the zoo resumes to the same bytes', () => {
  it.each([
    ...POINTS.map(([epoch, file, stage]) => [1, epoch, file, stage] as const),
    ...TWO_WORKER_POINTS.map(([epoch, file, stage]) => [2, epoch, file, stage] as const),
  ])('%i worker(s), epoch %i, %s %s', async (workers, epoch, file, stage) => {
    const dir = join(tempDir(), 'ffnn-crash');
    const child = crashZoo({ dir, config, workers, at: [epoch, file, stage] });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    if (stage === 'tmp-written')
      expect(Object.keys(treeFingerprint(dir)).some((f) => f.endsWith('.tmp'))).toBe(true);

    const resumed = await trainZoo({ dir, config, workers });
    expect(resumed.manifest.status).toBe('complete');
    expect(treeFingerprint(dir)).toEqual(await referenceZoo());
  });
});

describe('npm run zoo killed at random moments', () => {
  it('resumes after each of 12 SIGKILLs and ends bit-identical to an uninterrupted run', async () => {
    const epochs = 400;
    const args = [
      '--arch',
      'ffnn',
      '--name',
      'kills',
      '--seeds',
      '3',
      '--epochs',
      String(epochs),
      '--train-size',
      '100',
      '--test-size',
      '50',
      '--workers',
      '2',
    ];
    const out = tempDir();
    const dir = join(out, 'ffnn-kills');
    const rng = new Rng(20261129, 0);
    const committed: number[] = [];
    for (let kill = 0; kill < 12; kill++) {
      const manifestTime = () =>
        existsSync(join(dir, 'manifest.json')) ? statSync(join(dir, 'manifest.json')).mtimeMs : 0;
      const before = manifestTime();
      const child = startCli('zoo', [...args, '--out', out]);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // wait until this process commits (training is under way), then kill at a random moment:
      // with epochs of a few milliseconds, mostly in the middle of an epoch's writes
      while (manifestTime() === before && child.exitCode === null) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, rng.nextFloat() * 120));
      child.kill('SIGKILL');
      await exited;
      const m = readManifest(dir);
      expect(m.status, `kill ${kill} came after the zoo finished; lengthen the run`).toBe('training');
      committed.push(m.epochsCompleted);
    }
    const done = runCliSync('zoo', [...args, '--out', out]);
    expect(done.code, done.stderr).toBe(0);
    expect(new Set(committed).size).toBeGreaterThan(6); // the kills landed all along the run
    expect(Object.keys(treeFingerprint(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const reference = join(tempDir(), 'ffnn-kills');
    await trainZoo({
      dir: reference,
      config: presetConfig('default', 'ffnn', { seedCount: 3, epochs, trainSize: 100, testSize: 50 }),
      workers: 1,
    });
    expect(treeFingerprint(dir)).toEqual(treeFingerprint(reference));
    console.log(`committed epochs after each kill: ${committed.join(' ')}`);
  });
});

describe('states a killed writer leaves (built by hand, independent of the crash hook)', () => {
  it('a kill between the resume state and the manifest of the last epoch loses no epoch', async () => {
    const dir = join(tempDir(), 'ffnn-crash');
    await trainZoo({ dir, config, workers: 1 });
    // what the old write order left: resume.arrow and the checkpoint file of the last epoch written, the manifest one epoch behind
    const manifest = readManifest(dir);
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ ...manifest, status: 'training', epochsCompleted: EPOCHS - 1 }, null, 2) + '\n',
    );
    const resumed = await trainZoo({ dir, config, workers: 1 });
    expect(resumed.manifest.epochsCompleted).toBe(EPOCHS);
    expect(loadZoo(dir).epochs).toBe(EPOCHS);
    expect(treeFingerprint(dir)).toEqual(await referenceZoo());
  });

  it('temp files of killed writes are removed by the next run', async () => {
    const dir = join(tempDir(), 'ffnn-crash');
    await trainZoo({ dir, config: { ...config, epochs: 1 }, workers: 1 });
    const manifest = readManifest(dir);
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ ...manifest, config, status: 'training' }, null, 2) + '\n',
    ); // as if stopped after epoch 1 of 3
    writeFileSync(join(dir, 'manifest.json.4242.tmp'), '{"half": ');
    writeFileSync(join(dir, 'checkpoints', 'epoch-0002.arrow.4242.tmp'), 'ARROW1');
    await trainZoo({ dir, config, workers: 1 });
    expect(Object.keys(treeFingerprint(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a folder holding only an aborted start (empty checkpoints/, a temp manifest) is started by the same command', () => {
    const out = tempDir();
    const dir = join(out, 'ffnn-default');
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    writeFileSync(join(dir, 'manifest.json.777.tmp'), '');
    const r = runCliSync('zoo', [
      '--arch',
      'ffnn',
      '--seeds',
      '2',
      '--epochs',
      '1',
      '--train-size',
      '200',
      '--test-size',
      '50',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readManifest(dir).status).toBe('complete');
    expect(Object.keys(treeFingerprint(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
