/**
 * Files other tools write and read, checked against those tools or the formats' specifications
 * rather than against our own writer:
 *  - a second Arrow implementation (polars, Rust) reads a checkpoint file with the documented
 *    schema, row count and values;
 *  - safetensors F16, BF16 and F64 tensors written here byte by byte from the specification
 *    (https://huggingface.co/docs/safetensors) decode to the values the bytes encode.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pl from 'nodejs-polars';
import { describe, expect, it } from 'vitest';
import { ARCHITECTURES } from '../src/core/architectures.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { readCheckpointFile } from '../src/store/checkpointFile.ts';
import { checkpointPath } from '../src/store/manifest.ts';
import { readModel } from '../src/store/formats/readModel.ts';
import { parseSafetensors } from '../src/store/formats/safetensors.ts';
import { tempDir, tinyConfig } from './helpers.ts';

describe('checkpoint files read by polars', () => {
  it('have the documented schema, rows and values', async () => {
    const dir = join(tempDir(), 'z');
    await trainZoo({ dir, config: tinyConfig('ffnn', { seedCount: 3, epochs: 2 }) });
    const path = checkpointPath(dir, 2);
    const df = pl.readIPC(readFileSync(path));
    expect(df.columns).toEqual([
      'run',
      'seed',
      'epoch',
      'step',
      'train_loss',
      'test_loss',
      'test_accuracy',
      'sha256',
      'parent_sha256',
      'weights',
    ]);
    expect(df.dtypes.map(String)).toEqual([
      'DataType(Int32)',
      'DataType(UInt32)',
      'DataType(Int32)',
      'DataType(Int32)',
      'DataType(Float64)',
      'DataType(Float64)',
      'DataType(Float64)',
      'DataType(String)',
      'DataType(String)',
      'DataType(FixedSizeList(DataType(Float32),2160))',
    ]);
    expect(df.height).toBe(3);
    const ours = readCheckpointFile(path).rows;
    expect(df.getColumn('run').toArray()).toEqual([0, 1, 2]);
    expect(df.getColumn('epoch').toArray()).toEqual([2, 2, 2]);
    expect(df.getColumn('seed').toArray()).toEqual(Array.from(ours.seed));
    expect(df.getColumn('sha256').toArray()).toEqual(ours.sha256);
    expect(df.getColumn('parent_sha256').toArray()).toEqual(ours.parentSha256);
    expect(df.getColumn('test_accuracy').toArray()).toEqual(Array.from(ours.testAccuracy));
    const weights = df.getColumn('weights').explode().toArray() as number[];
    expect(weights).toHaveLength(3 * 2160);
    expect(Float32Array.from(weights)).toEqual(ours.weights);
    // epoch 0 stores no training loss: null, not NaN
    expect(
      pl
        .readIPC(readFileSync(checkpointPath(dir, 0)))
        .getColumn('train_loss')
        .nullCount(),
    ).toBe(3);
  });
});

/** A safetensors file from a header text and raw data bytes: 8-byte little-endian length, header, data. */
function safetensorsBytes(header: string, data: number[]): Uint8Array {
  const h = Buffer.from(header, 'utf8');
  const out = new Uint8Array(8 + h.length + data.length);
  out[0] = h.length & 0xff; // header length, u64 little-endian (short here)
  out[1] = h.length >> 8;
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors from the specification', () => {
  it('decodes F16, BF16 and F64 tensors', () => {
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"half":{"dtype":"F16","shape":[2,3],"data_offsets":[0,12]},' +
      '"brain":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]},' +
      '"double":{"dtype":"F64","shape":[2],"data_offsets":[18,34]}}';
    const data = [
      // F16 (sign, 5 exponent bits, 10 fraction bits), little-endian:
      0x00,
      0x3c, // 0x3C00 = 1.0
      0x00,
      0xc0, // 0xC000 = -2.0
      0x00,
      0x38, // 0x3800 = 0.5
      0xff,
      0x7b, // 0x7BFF = 65504, the largest half
      0x01,
      0x00, // 0x0001 = 2^-24, the smallest subnormal
      0x55,
      0xb5, // 0xB555 = -(1 + 341/1024) * 2^-2 = -0.333251953125
      // BF16 (the top 16 bits of a float32), little-endian:
      0x80,
      0x3f, // 0x3F80 = 1.0
      0x40,
      0xc0, // 0xC040 = -3.0
      0x49,
      0x40, // 0x4049 = 3.140625
      // F64, little-endian:
      0x9a,
      0x99,
      0x99,
      0x99,
      0x99,
      0x99,
      0xb9,
      0x3f, // 0x3FB999999999999A = 0.1
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x04,
      0xc0, // 0xC004000000000000 = -2.5
    ];
    const { tensors, metadata } = parseSafetensors(safetensorsBytes(header, data));
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.get('half')).toEqual({
      shape: [2, 3],
      values: Float32Array.from([1, -2, 0.5, 65504, 2 ** -24, -0.333251953125]),
    });
    expect(tensors.get('brain')).toEqual({ shape: [3], values: Float32Array.from([1, -3, 3.140625]) });
    expect(tensors.get('double')).toEqual({
      shape: [2],
      values: Float32Array.from([Math.fround(0.1), -2.5]),
    });
  });

  it('reads a whole FFNN state_dict stored as F64, laid out by the index map', () => {
    const arch = ARCHITECTURES.ffnn;
    const values = Float64Array.from({ length: arch.size }, (_, i) => Math.sin(i + 1) / 3);
    let offset = 0;
    const entries = arch.params.map((p) => {
      const entry = `"${p.name}":{"dtype":"F64","shape":[${p.shape.join(',')}],"data_offsets":[${offset},${offset + 8 * p.size}]}`;
      offset += 8 * p.size;
      return entry;
    });
    const raw = new Uint8Array(values.buffer); // little-endian on the machines this runs on
    const file = join(tempDir(), 'model.safetensors');
    writeFileSync(file, safetensorsBytes(`{${entries.join(',')}}`, Array.from(raw)));
    const { weights } = readModel(file, arch);
    expect(weights).toEqual(Float32Array.from(values));
  });
});
