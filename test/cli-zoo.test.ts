/**
 * `npm run zoo` as a user meets it: help, bad input (one line, exit 2, nothing lost),
 * and kill-and-resume giving the same bytes as an uninterrupted run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { presetConfig } from '../src/core/presets.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { checkpointPath, readManifest } from '../src/store/manifest.ts';
import { runCliSync, startCli, tempDir } from './helpers.ts';

const ZOO = 'zoo';
const TINY = ['--seeds', '2', '--epochs', '1', '--train-size', '200', '--test-size', '50'];

/** SHA-256 of every file in a zoo directory except the manifest (which has timestamps). */
function zooFingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(join(dir, 'checkpoints')).sort()) {
    out[f] = createHash('sha256')
      .update(readFileSync(join(dir, 'checkpoints', f)))
      .digest('hex');
  }
  out['resume.arrow'] = createHash('sha256')
    .update(readFileSync(join(dir, 'resume.arrow')))
    .digest('hex');
  return out;
}

describe('npm run zoo', () => {
  it('--help explains presets and options', () => {
    const r = runCliSync(ZOO, ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: npm run zoo/);
    expect(r.stdout).toMatch(/paper-tuned/);
    expect(r.stdout).toMatch(/--workers N/);
  });

  it.each([
    [['--seeds=-3'], /^error: --seeds must be a whole number from 1 to 100000, got '-3'\n$/],
    [['--seeds', '2.5'], /^error: --seeds must be a whole number from 1 to 100000, got '2.5'\n$/],
    [['--arch', 'resnet'], /^error: --arch must be one of ffnn, cnn, both, got 'resnet'\n$/],
    [['--preset', 'huge'], /^error: --preset must be one of default, paper, paper-tuned, got 'huge'\n$/],
    [['--lr', 'fast'], /^error: --lr must be a non-negative number, got 'fast'\n$/],
    [['--lr', '0'], /^error: learningRate must be a positive number, got 0\n$/],
    [['--momentum', '1'], /^error: momentum must be below 1, got 1\n$/],
    [['--frobnicate'], /^error: unknown option '--frobnicate' \(--help lists the options\)\n$/],
    [
      ['--mnist-dir', '/nonexistent/mnist'],
      /^error: MNIST file not found: \/nonexistent\/mnist\/train-images-idx3-ubyte \(run `npm ci`/,
    ],
    [['--mnist-dir', 'src'], /^error: MNIST file not found: src\/train-images-idx3-ubyte/],
  ])('rejects %j with one clear line and exit code 2, writing nothing', (args, message) => {
    const out = tempDir();
    const r = runCliSync(ZOO, [...TINY, '--arch', 'ffnn', '--out', out, ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(out)).toEqual([]);
  });

  it('after a bad --mnist-dir, the good command runs', () => {
    const out = tempDir();
    expect(
      runCliSync(ZOO, [...TINY, '--arch', 'ffnn', '--out', out, '--mnist-dir', '/nonexistent']).code,
    ).toBe(2);
    const r = runCliSync(ZOO, [...TINY, '--arch', 'ffnn', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('rejects an output folder it cannot create', () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'x');
    const r = runCliSync(ZOO, [...TINY, '--arch', 'ffnn', '--out', join(file, 'zoos')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: cannot create zoo directory .*a-file\/zoos\/ffnn-default \(ENOTDIR\); choose a writable location with --out\n$/,
    );
  });

  it('refuses to retrain an existing zoo with another config, touching nothing, unless --overwrite', () => {
    const out = tempDir();
    const ok = runCliSync(ZOO, [...TINY, '--arch', 'ffnn', '--out', out]);
    expect(ok.code).toBe(0);
    const dir = join(out, 'ffnn-default');
    const before = { files: zooFingerprint(dir), manifest: readFileSync(join(dir, 'manifest.json'), 'utf8') };

    const r = runCliSync(ZOO, [...TINY, '--epochs', '2', '--arch', 'ffnn', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /already holds a zoo with another config \(epochs 1 -> 2\); pass --overwrite to replace it or --out/,
    );
    expect({
      files: zooFingerprint(dir),
      manifest: readFileSync(join(dir, 'manifest.json'), 'utf8'),
    }).toEqual(before);

    const again = runCliSync(ZOO, [...TINY, '--arch', 'ffnn', '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already complete/);

    const replaced = runCliSync(ZOO, [
      ...TINY,
      '--epochs',
      '2',
      '--arch',
      'ffnn',
      '--out',
      out,
      '--overwrite',
    ]);
    expect(replaced.code).toBe(0);
    expect(readManifest(dir).config!.epochs).toBe(2);
  });

  it.each([
    ['SIGKILL', null],
    ['SIGINT', 130],
  ] as const)('after %s, running again resumes and gives a bit-identical zoo', async (signal, exitCode) => {
    const args = [
      '--arch',
      'cnn',
      '--seeds',
      '4',
      '--epochs',
      '12',
      '--train-size',
      '3000',
      '--test-size',
      '200',
      '--workers',
      '2',
    ];
    const config = presetConfig('default', 'cnn', {
      seedCount: 4,
      epochs: 12,
      trainSize: 3000,
      testSize: 200,
    });
    const reference = join(tempDir(), 'cnn-default'); // same name: the name is stored in each file's metadata
    await trainZoo({ dir: reference, config, workers: 1 });

    const out = tempDir();
    const dir = join(out, 'cnn-default');
    const child = startCli(ZOO, [...args, '--out', out]);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // interrupt once epoch 3 is on disk, i.e. in the middle of training
    while (!existsSync(checkpointPath(dir, 3))) {
      if (child.exitCode !== null) throw new Error(`zoo finished before it could be interrupted: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill(signal);
    expect(await exited).toBe(exitCode);
    if (signal === 'SIGINT')
      expect(stderr).toMatch(/interrupted: completed epochs are saved; run the same command again to resume/);
    const partial = readManifest(dir);
    expect(partial.status).toBe('training');
    expect(partial.epochsCompleted).toBeLessThan(12);

    const resumed = runCliSync(ZOO, [...args, '--out', out]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resumed after epoch \d+/);
    expect(readManifest(dir).status).toBe('complete');
    expect(zooFingerprint(dir)).toEqual(zooFingerprint(reference));
  });
});
