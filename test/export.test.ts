/**
 * `npm run export` on bad input: each refused with one line naming the problem, exit 2, and
 * nothing written (the working folder and the zoos as they were).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainZoo } from '../src/train/trainZoo.ts';
import { runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';

let root: string;

beforeAll(async () => {
  root = tempDir('wsvc-export-');
  await trainZoo({
    dir: join(root, 'zoo', 'ffnn-t'),
    config: tinyConfig('ffnn', { seedCount: 2, epochs: 2 }),
  });
  // an imported zoo of an architecture the toolkit does not build
  for (let run = 0; run < 2; run++)
    for (let epoch = 0; epoch < 2; epoch++) {
      mkdirSync(join(root, 'runs', `run-${run}`), { recursive: true });
      writeFileSync(
        join(root, 'runs', `run-${run}`, `epoch-${epoch}.safetensors`),
        safetensorsBytes([
          {
            name: 'fc.weight',
            shape: [3, 4],
            dtype: 'F32',
            values: Array.from({ length: 12 }, (_, i) => i + run + epoch),
          },
        ]),
      );
    }
  expect(runCliSync('import', ['runs', '--name', 'tiny'], { cwd: root }).code).toBe(0);
  mkdirSync(join(root, 'a-folder'));
  writeFileSync(join(root, 'a-file'), 'not a folder');
}, 60_000);

describe('export: bad input', () => {
  const ffnn = ['--zoo', 'zoo/ffnn-t', '--run', '1', '--epoch', '2'];
  it.each([
    [
      'no --format',
      ['--zoo', 'zoo/ffnn-t', '--run', '1', '--epoch', '2'],
      /^error: missing --format; see npm run export -- --help$/,
    ],
    ['nothing', [], /^error: missing --zoo, --run, --epoch, --format; see npm run export -- --help$/],
    [
      'an unknown format',
      [...ffnn, '--format', 'onnx'],
      /^error: --format must be one of arrow, safetensors, tfjs, got 'onnx'$/,
    ],
    [
      'a run the zoo lacks',
      ['--zoo', 'zoo/ffnn-t', '--run', '2', '--epoch', '0', '--format', 'arrow'],
      /^error: ffnn-t has runs 0-1 and epochs 0-2; no run 2 epoch 0$/,
    ],
    [
      'an epoch the zoo lacks',
      ['--zoo', 'zoo/ffnn-t', '--run', '0', '--epoch', '3', '--format', 'arrow'],
      /^error: ffnn-t has runs 0-1 and epochs 0-2; no run 0 epoch 3$/,
    ],
    [
      'a negative run',
      ['--zoo', 'zoo/ffnn-t', '--run', '-1', '--epoch', '0', '--format', 'arrow'],
      /^error: --run must be a whole number of 0 or more, got '-1'$/,
    ],
    [
      'a zoo that does not exist',
      ['--zoo', 'zoo/nope', '--run', '0', '--epoch', '0', '--format', 'arrow'],
      /zoo\/nope/,
    ],
    [
      'a folder as the output file',
      [...ffnn, '--format', 'safetensors', '--out', 'a-folder'],
      /^error: the output a-folder is a folder; give a file path, e\.g\. a-folder\/model\.safetensors$/,
    ],
    [
      'a file where a folder must be',
      [...ffnn, '--format', 'arrow', '--out', 'a-file/x.arrow'],
      /^error: cannot write a-file\/x\.arrow: a-file is a file, not a folder$/,
    ],
    [
      'a file as the tfjs folder',
      [...ffnn, '--format', 'tfjs', '--out', 'a-file'],
      /^error: the output a-file is a file; tfjs export writes a folder/,
    ],
    [
      'tfjs of an architecture it does not build',
      ['--zoo', 'zoo/tiny', '--run', '0', '--epoch', '1', '--format', 'tfjs', '--out', 'out-tfjs'],
      /^error: tfjs export builds the built-in FFNN and CNN models only, and tiny is tiny; export it as safetensors or arrow$/,
    ],
  ])('refuses %s, writing nothing', (_, args, message) => {
    const before = treeFingerprint(root);
    const r = runCliSync('export', args as string[], { cwd: root });
    expect(r.code, r.stdout).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(treeFingerprint(root)).toEqual(before);
  });
});
