/**
 * Integrity: loadZoo refuses a damaged zoo (naming file and row) and every analysing command
 * does too; `npm run verify` names every bad file and row (exit 1), says sound (exit 0), and
 * treats bad usage as exit 2. Damage is made the way it happens: bytes flipped inside a
 * well-formed file, rows swapped, a file lost, a manifest edited by hand.
 */
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { beforeAll, describe, expect, it } from 'vitest';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { checkpointsToIPC, readCheckpointFile, ZOO_METADATA_KEY } from '../src/store/checkpointFile.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { checkpointPath } from '../src/store/manifest.ts';
import { weightsSha256 } from '../src/store/sha256.ts';
import { formatFinding, verifyZoo } from '../src/store/verifyZoo.ts';
import { loadSavedIndex, saveIndex, runCliSync, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';

let pristine: string;
beforeAll(async () => {
  pristine = join(tempDir(), 'ffnn-v');
  await trainZoo({ dir: pristine, config: tinyConfig('ffnn', { seedCount: 4, epochs: 3 }) });
  saveIndex(pristine, ZooIndex.build(loadZoo(pristine)));
});

/** A fresh copy of the sound zoo to damage. */
function copy(): string {
  const dir = join(tempDir(), 'ffnn-v');
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

/** Flips one bit of weight `j` of row `row` inside the Arrow file, which stays well-formed. */
function flipWeightBit(path: string, row: number, j: number): void {
  const { rows } = readCheckpointFile(path);
  const bytes = readFileSync(path);
  const at = bytes.indexOf(Buffer.from(new Float32Array([rows.weights[row * rows.size + j]]).buffer));
  expect(at).toBeGreaterThan(0);
  bytes[at] ^= 0x01;
  writeFileSync(path, bytes);
}

/**
 * Rewrites a checkpoint file with `change` applied to its rows (row hashes left as they were
 * unless changed) and records the new file's hash in the manifest, as a faulty writer would:
 * the row-level checks must find what is wrong.
 */
function rewrite(path: string, change: (rows: ReturnType<typeof readCheckpointFile>['rows']) => void): void {
  const { rows, metadata } = readCheckpointFile(path);
  change(rows);
  const bytes = checkpointsToIPC(rows, { [ZOO_METADATA_KEY]: metadata.get(ZOO_METADATA_KEY)! });
  writeFileSync(path, bytes);
  const manifestPath = join(path, '..', '..', 'manifest.json');
  const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
  m.files[`checkpoints/${basename(path)}`] = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(manifestPath, JSON.stringify(m));
}

describe('a sound zoo', () => {
  it('verifies clean: exit 0, JSON report', () => {
    const r = runCliSync('verify', ['--zoo', pristine, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      sound: true,
      problems: [],
      notes: [],
      checked: { epochs: 4, runs: 4, checkpoints: 16 },
    });
  });
});

describe('a bit flipped inside a well-formed checkpoint file', () => {
  let dir: string;
  beforeAll(() => {
    dir = copy();
    flipWeightBit(checkpointPath(dir, 2), 1, 5);
  });

  it('is refused by loadZoo before it is parsed, naming the file', () => {
    expect(() => loadZoo(dir)).toThrow(
      /epoch-0002\.arrow is damaged: its bytes do not match the SHA-256 recorded in .*manifest\.json .*npm run verify -- --zoo/,
    );
    expect(loadZoo(dir, { verify: false }).n).toBe(16); // --no-verify reads it anyway
  });

  it('is refused, naming the row, in a zoo written before file hashes (row hashes only)', () => {
    const legacy = copy();
    flipWeightBit(checkpointPath(legacy, 2), 1, 5);
    const m = JSON.parse(readFileSync(join(legacy, 'manifest.json'), 'utf8'));
    delete m.files;
    writeFileSync(join(legacy, 'manifest.json'), JSON.stringify(m));
    expect(() => loadZoo(legacy)).toThrow(
      /epoch-0002\.arrow row 1 \(run 1, epoch 2\): the weights do not match their SHA-256/,
    );
    expect(verifyZoo(legacy).problems.map(formatFinding)).toEqual([
      expect.stringMatching(
        /epoch-0002\.arrow \(row 1, run 1, epoch 2\): weights do not match their SHA-256/,
      ),
    ]);
  });

  it('is named, file and row, by npm run verify with exit code 1', () => {
    const r = runCliSync('verify', ['--zoo', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/DAMAGED: 2 problem/);
    expect(r.stdout).toMatch(
      /epoch-0002\.arrow \(epoch 2\): bytes do not match the SHA-256 the manifest recorded/,
    );
    // read row by row in a child process (a damaged file may hang the reader), it names the row
    expect(r.stdout).toMatch(
      /epoch-0002\.arrow \(row 1, run 1, epoch 2\): weights do not match their SHA-256/,
    );
  });

  it.each([
    ['cluster', ['cluster', '--svd', '5', '--out', 'OUT']],
    ['identify', ['identify', 'CKPT', '--zoo', 'DIR']],
    ['plot', ['plot', '--out', 'OUT']],
    [
      'export',
      ['export', '--run', '0', '--epoch', '1', '--format', 'safetensors', '--out', 'OUT/x.safetensors'],
    ],
  ])('stops %s with one line and exit 2, writing nothing', (_, args) => {
    const out = join(tempDir(), 'out');
    const before = treeFingerprint(dir);
    const argv = args
      .slice(1)
      .map((a) =>
        a === 'OUT'
          ? out
          : a === 'DIR'
            ? dir
            : a === 'CKPT'
              ? checkpointPath(pristine, 1)
              : a.replace('OUT', out),
      );
    const r = runCliSync(
      args[0],
      args[0].includes('identify') ? [...argv, '--run', '0'] : ['--zoo', dir, ...argv],
    );
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^error: .*epoch-0002\.arrow is damaged.*npm run verify/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(treeFingerprint(dir)).toEqual(before);
    expect(() => readFileSync(out)).toThrow();
  });
});

describe('npm run verify names each kind of damage', () => {
  it.each([
    [
      'a broken parent chain',
      (dir: string) => rewrite(checkpointPath(dir, 2), (rows) => (rows.parentSha256[3] = rows.sha256[0])),
      [/epoch-0002\.arrow \(row 3, run 3, epoch 2\): parent_sha256 \w+… is not epoch 1's hash of run 3/],
    ],
    [
      'a duplicated row and a missing run',
      (dir: string) =>
        rewrite(checkpointPath(dir, 1), (rows) => {
          rows.run[2] = 1;
          rows.weights.copyWithin(2 * rows.size, 1 * rows.size, 2 * rows.size);
          rows.sha256[2] = rows.sha256[1];
        }),
      [
        /epoch-0001\.arrow \(row 2, run 1, epoch 1\): run 1 appears twice/,
        /epoch-0001\.arrow \(row 2, run 1, epoch 1\): seed 2, the config gives run 1 seed 1/,
        /epoch-0001\.arrow \(run 2, epoch 1\): run 2 is missing/,
      ],
    ],
    [
      'a NaN weight with a matching hash',
      (dir: string) =>
        rewrite(checkpointPath(dir, 3), (rows) => {
          rows.weights[rows.size + 7] = NaN;
          rows.sha256[1] = weightsSha256(rows.weights.subarray(rows.size, 2 * rows.size));
        }),
      [
        /epoch-0003\.arrow \(row 1, run 1, epoch 3\): weight 7 is NaN \(not finite\)/,
        /resume\.arrow \(run 1, epoch 3\): run 1's weights differ from its epoch 3 checkpoint/,
      ],
    ],
    [
      'a lost checkpoint file',
      (dir: string) => rmSync(checkpointPath(dir, 1)),
      [/epoch-0001\.arrow \(epoch 1\): missing \(the manifest has committed epochs 0-3\)/],
    ],
    [
      'a manifest whose architecture does not add up',
      (dir: string) => {
        const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
        m.architecture.size = 2000;
        writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
      },
      [/manifest\.json: the tensors add up to 2160 weights, the architecture says 2000/],
    ],
    [
      'a manifest with another learning rate than the files (hashes recorded consistently)',
      (dir: string) => {
        const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
        m.config.learningRate = 0.3;
        writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
      },
      [0, 1, 2, 3].map(
        (e) =>
          new RegExp(
            `epoch-000${e}\\.arrow \\(epoch ${e}\\): was trained with another config than the manifest says \\(learningRate 0\\.3 -> 0\\.03\\)`,
          ),
      ),
    ],
    [
      'a truncated checkpoint file',
      (dir: string) =>
        writeFileSync(checkpointPath(dir, 0), readFileSync(checkpointPath(dir, 0)).subarray(0, 5000)),
      [
        /epoch-0000\.arrow \(epoch 0\): bytes do not match the SHA-256 the manifest recorded/,
        /epoch-0000\.arrow \(epoch 0\): and cannot be read row by row: is not an Arrow IPC file/,
      ],
    ],
    [
      'a damaged index',
      (dir: string) => {
        const path = join(dir, 'index.arrow');
        const coord = (
          tableFromIPC(readFileSync(path)).getChild('coords')!.get(3) as { get(i: number): number }
        ).get(2);
        const bytes = readFileSync(path);
        bytes[bytes.indexOf(Buffer.from(new Float32Array([coord]).buffer))] ^= 0x01;
        writeFileSync(path, bytes);
      },
      [/index\.arrow: is damaged \(its bytes do not match the SHA-256 in index\.json\)/],
    ],
  ])('%s', (_, damage, messages) => {
    const dir = copy();
    damage(dir);
    const r = runCliSync('verify', ['--zoo', dir]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    for (const m of messages) expect(r.stdout).toMatch(m);
    const json = verifyZoo(dir);
    expect(json.sound).toBe(false);
    expect(json.problems.length).toBe(messages.length);
  });

  it('calls an uncommitted epoch and temp files of a killed run notes, not damage', () => {
    const dir = copy();
    writeFileSync(join(dir, 'checkpoints', 'epoch-0009.arrow'), readFileSync(checkpointPath(dir, 3)));
    writeFileSync(join(dir, 'manifest.json.123.tmp'), '{');
    const r = runCliSync('verify', ['--zoo', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/note: .*epoch-0009\.arrow \(epoch 9\): not committed/);
    expect(r.stdout).toMatch(/note: .*manifest\.json\.123\.tmp: temp file of an interrupted write/);
  });

  it('calls an index of other checkpoints stale (a note)', async () => {
    const dir = copy();
    const other = join(tempDir(), 'ffnn-v');
    await trainZoo({ dir: other, config: tinyConfig('ffnn', { seedCount: 4, epochs: 3, seedStart: 50 }) });
    saveIndex(other, ZooIndex.build(loadZoo(other)));
    for (const f of ['index.json', 'index.arrow', 'index-svd.arrow']) cpSync(join(other, f), join(dir, f));
    const report = verifyZoo(dir);
    expect(report.sound).toBe(true);
    expect(report.notes.map((n) => n.what)).toEqual([expect.stringMatching(/^stale/)]);
    expect(loadSavedIndex(dir, loadZoo(dir))).toBeNull(); // identify rebuilds it
  });

  it('exits 2 on bad usage', () => {
    const r = runCliSync('verify', ['--zoo', join(tempDir(), 'none')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --zoo .* is not a folder/);
    expect(runCliSync('verify', ['--bogus']).code).toBe(2);
  });
});
