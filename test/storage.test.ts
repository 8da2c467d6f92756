/** Arrow checkpoint files and resume state: round trips, plain types, atomic writes. */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  checkpointsToIPC,
  parseCheckpoints,
  readCheckpointFile,
  type CheckpointRows,
} from '../src/store/checkpointFile.ts';
import { readResumeState, writeResumeState } from '../src/store/resumeState.ts';
import { writeFileAtomic } from '../src/store/atomicWrite.ts';
import { weightsSha256 } from '../src/store/sha256.ts';
import { ROOT, tempDir } from './helpers.ts';

function sampleRows(n: number, size: number): CheckpointRows {
  const weights = Float32Array.from({ length: n * size }, (_, i) => Math.sin(i) * 0.3);
  const sha256 = Array.from({ length: n }, (_, r) =>
    weightsSha256(weights.subarray(r * size, (r + 1) * size)),
  );
  return {
    size,
    run: Int32Array.from({ length: n }, (_, i) => i),
    seed: Uint32Array.from({ length: n }, (_, i) => 4000000000 + i),
    epoch: new Int32Array(n).fill(3),
    step: new Int32Array(n).fill(7500),
    trainLoss: Float64Array.from({ length: n }, (_, i) => (i === 1 ? NaN : 0.05 + i)),
    testLoss: Float64Array.from({ length: n }, (_, i) => 0.04 + i),
    testAccuracy: Float64Array.from({ length: n }, (_, i) => 0.5 + i / 100),
    sha256,
    parentSha256: sha256.map((s, i) => (i === 0 ? null : s.split('').reverse().join(''))),
    weights,
  };
}

describe('checkpoint files (Arrow IPC)', () => {
  it('round-trip every column bit for bit, nulls included', () => {
    const rows = sampleRows(4, 1376);
    const { rows: back, metadata } = parseCheckpoints(
      checkpointsToIPC(rows, { 'weightspace.zoo': '{"x":1}' }),
    );
    expect(back).toEqual(rows);
    expect(Buffer.from(back.weights.buffer).equals(Buffer.from(rows.weights.buffer))).toBe(true);
    expect(metadata.get('weightspace.zoo')).toBe('{"x":1}');
  });

  it('use plain Arrow types that any Arrow reader understands', () => {
    const table = tableFromIPC(checkpointsToIPC(sampleRows(2, 10)));
    const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(types).toEqual({
      run: 'Int32',
      seed: 'Uint32',
      epoch: 'Int32',
      step: 'Int32',
      train_loss: 'Float64',
      test_loss: 'Float64',
      test_accuracy: 'Float64',
      sha256: 'Utf8',
      parent_sha256: 'Utf8',
      weights: 'FixedSizeList[10]<Float32>',
    });
    expect(table.getChild('train_loss')!.get(1)).toBeNull();
    expect(table.getChild('parent_sha256')!.get(0)).toBeNull();
  });

  it('reject files that are not checkpoints with a clear message', () => {
    const dir = tempDir();
    const junk = join(dir, 'junk.arrow');
    writeFileSync(junk, 'not arrow at all');
    expect(() => readCheckpointFile(junk)).toThrow(/is not an Arrow IPC file/);
    expect(() => readCheckpointFile(join(dir, 'missing.arrow'))).toThrow(
      /cannot read checkpoint file .*ENOENT/,
    );
  });
});

describe('resume state', () => {
  it('round-trips float64 weights and momentum exactly', () => {
    const dir = tempDir();
    const weights = Float64Array.from({ length: 3 * 5 }, (_, i) => Math.PI * i + 1e-17);
    const momentum = Float64Array.from({ length: 3 * 5 }, (_, i) => -i / 7);
    writeResumeState(dir, { epoch: 9, runs: 3, size: 5, weights, momentum });
    expect(readResumeState(dir)).toEqual({ epoch: 9, runs: 3, size: 5, weights, momentum });
  });

  it('is absent for a new zoo', () => {
    expect(readResumeState(tempDir())).toBeNull();
  });
});

describe('atomic writes', () => {
  it('replace the file whole and leave no temp file behind', () => {
    const dir = tempDir();
    const path = join(dir, 'f.bin');
    writeFileAtomic(path, 'first');
    writeFileAtomic(path, 'second');
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(dir)).toEqual(['f.bin']);
  });

  it('keep the old bytes when writing the target itself fails (file size limit: EFBIG)', () => {
    const dir = tempDir();
    const path = join(dir, 'f.bin');
    writeFileAtomic(path, 'old');
    // a real OS failure on the real target: the child may not write files past 1 KiB
    const code = `import { writeFileAtomic } from '${join(ROOT, 'src/store/atomicWrite.ts')}';
      try { writeFileAtomic('${path}', new Uint8Array(64 * 1024).fill(7)); } catch (err) { console.log(err.code); process.exit(3); }`;
    const r = spawnSync(
      'bash',
      [
        '-c',
        `trap '' XFSZ; ulimit -f 1; exec "${process.execPath}" --import tsx --input-type=module -e "$0"`,
        code,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.stdout.trim(), r.stderr).toBe('EFBIG');
    expect(r.status).toBe(3);
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['f.bin']);
  });

  it('keep the old bytes when the process fails between writing and renaming', () => {
    const dir = tempDir();
    const path = join(dir, 'f.bin');
    writeFileAtomic(path, 'old');
    expect(() =>
      writeFileAtomic(path, 'new', () => {
        expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(true); // the new bytes are complete beside it
        throw new Error('disk unplugged');
      }),
    ).toThrow('disk unplugged');
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['f.bin']);
  });
});
