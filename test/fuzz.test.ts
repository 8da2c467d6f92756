/**
 * Corrupt and foreign input, seeded: every file kind the toolkit reads (checkpoint Arrow
 * files, resume.arrow, manifest.json, index.arrow, safetensors, tfjs model.json + weights.bin,
 * .npy) is damaged in the ways files get damaged (truncation, bit flips) and made wrong in the
 * ways other tools make them wrong (missing, renamed or retyped columns, wrong dims, NaN/Inf,
 * invalid JSON, header lengths past the end, duplicate names, unsupported dtypes). Each case
 * goes through the reader the commands use, and must get its case's outcome (Case.expected):
 *  - rejected: a user error (one line, naming the file), and nothing on disk changed; every
 *    named case and every truncation must be rejected;
 *  - a bit flip may instead give the same result as the intact file (a bit the format does
 *    not use), or, for formats without a checksum (safetensors, tfjs, .npy), other (finite)
 *    numbers when it lands inside the tensor data: nothing can tell, and the case says so.
 * Anything else (an internal error, a changed result where a checksum should have caught
 * it) fails. A sample of cases also goes through the real commands: exit 2 (verify: 1), one
 * line, no stack.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  makeData,
  RecordBatchReader,
  tableFromIPC,
  Utf8,
  vectorFromArray,
  type Data,
  type DataType,
} from 'apache-arrow';
import { ByteBuffer } from 'flatbuffers';
import { Message as FbMessage } from 'apache-arrow/fb/message';
import { RecordBatch as FbRecordBatch } from 'apache-arrow/fb/record-batch';
import { beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../src/core/errors.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { Rng } from '../src/core/rng.ts';
import { presetConfig } from '../src/core/presets.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { columnsToIPC, type Column } from '../src/store/arrowColumns.ts';
import { checkpointsToIPC } from '../src/store/checkpointFile.ts';
import { readCheckpointFileWithin } from '../src/store/untrustedCheckpoint.ts';
import { exportModel } from '../src/store/formats/exportModel.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { readManifest } from '../src/store/manifest.ts';
import { npyBytes, readNpy } from '../src/store/formats/npy.ts';
import { readModel } from '../src/store/formats/readModel.ts';
import { recoverZoo } from '../src/store/zooCommit.ts';
import { weightsSha256 } from '../src/store/sha256.ts';
import { loadSavedIndex, saveIndex, crashZoo, runCliSync, tempDir, treeFingerprint } from './helpers.ts';

const config = presetConfig('default', 'ffnn', { seedCount: 4, epochs: 3, trainSize: 300, testSize: 100 });
const rng = new Rng(20261129, 12);
const randomInt = (n: number) => rng.nextInt(n);

type Kind =
  | 'checkpoint'
  | 'resume'
  | 'manifest'
  | 'index'
  | 'index-json'
  | 'safetensors'
  | 'tfjs-json'
  | 'tfjs-bin'
  | 'npy';
interface Case {
  kind: Kind;
  name: string;
  /** The damaged file's new bytes, from the intact ones. */
  mutate: (bytes: Buffer) => Buffer;
  /** For bit flips: the byte offsets flipped (to tell whether they hit tensor data). */
  flipped?: number[];
  /**
   * The outcome the case must get. Named damage and truncations: rejected. Bit flips (where
   * they land is random): rejected or the same result, or other numbers where the flip hit
   * values no checksum covers.
   */
  expected?: Outcome;
}
type Outcome = 'rejected' | 'same result' | 'stale' | 'other numbers (no checksum in the format)';

// ---- fixtures: a complete zoo with an index and a linkage, a zoo stopped after epoch 1, exported models ----
let complete: string; // zoo dir
let training: string; // zoo dir
let models: string; // folder with model.safetensors, tfjs/, linkage.npy
let zoo: Zoo;
const pristine: Record<string, unknown> = {};

beforeAll(async () => {
  complete = join(tempDir(), 'ffnn-fz');
  await trainZoo({ dir: complete, config });
  zoo = loadZoo(complete);
  saveIndex(complete, ZooIndex.build(zoo));
  // a zoo killed right after committing epoch 1, as a power cut leaves it
  training = join(tempDir(), 'ffnn-fz');
  const kill = crashZoo({ dir: training, config, at: [1, 'manifest', 'done'] });
  expect(kill.signal, kill.stderr).toBe('SIGKILL');
  models = tempDir();
  await exportModel(zoo, 2, 3, 'safetensors', join(models, 'model.safetensors'));
  await exportModel(zoo, 2, 3, 'tfjs', join(models, 'tfjs'));
  writeFileSync(
    join(models, 'linkage.npy'),
    npyBytes(
      Float64Array.from({ length: 44 }, (_, i) => i / 7),
      [11, 4],
    ),
  );
  for (const kind of [
    'checkpoint',
    'resume',
    'manifest',
    'index',
    'safetensors',
    'tfjs-json',
    'npy',
  ] as const)
    pristine[kind] = consume(kind, fixtureRoot(kind));
  pristine['tfjs-bin'] = pristine['tfjs-json'];
  pristine['index-json'] = pristine.index;
}, 120_000);

/** The folder a case copies and damages. */
const fixtureRoot = (kind: Kind) =>
  kind === 'resume'
    ? training
    : kind === 'safetensors' || kind.startsWith('tfjs') || kind === 'npy'
      ? models
      : complete;

/** The damaged file, relative to its fixture folder. */
const FILE: Record<Kind, string> = {
  checkpoint: 'checkpoints/epoch-0001.arrow',
  resume: 'resume.arrow',
  manifest: 'manifest.json',
  index: 'index.arrow',
  'index-json': 'index.json',
  safetensors: 'model.safetensors',
  'tfjs-json': 'tfjs/model.json',
  'tfjs-bin': 'tfjs/weights.bin',
  npy: 'linkage.npy',
};

/** What the commands do with the file: the value they go on with. */
function consume(kind: Kind, dir: string): unknown {
  switch (kind) {
    case 'checkpoint':
    case 'manifest': {
      const z = loadZoo(dir);
      return {
        weights: Array.from(z.weights),
        sha256: z.sha256,
        config: z.manifest.config,
        // what defines the weights; the summary is display text, which a flip may change unnoticed
        arch: { ...z.manifest.architecture, summary: undefined },
        run: Array.from(z.run),
        epoch: Array.from(z.epoch),
        test: Array.from(z.testAccuracy),
      };
    }
    case 'resume': {
      const state = recoverZoo(dir, readManifest(dir));
      return (
        state && {
          epoch: state.epoch,
          weights: Array.from(state.weights),
          momentum: Array.from(state.momentum),
        }
      );
    }
    case 'index':
    case 'index-json': {
      const index = loadSavedIndex(dir, zoo);
      if (!index) return 'stale';
      const value = { calibration: index.calibration, k: index.k };
      index.close();
      return value;
    }
    case 'safetensors':
      return Array.from(readModel(join(dir, FILE.safetensors), zoo.manifest.architecture).weights);
    case 'tfjs-json':
    case 'tfjs-bin':
      return Array.from(readModel(join(dir, FILE['tfjs-json']), zoo.manifest.architecture).weights);
    case 'npy': {
      const { data, shape } = readNpy(join(dir, FILE.npy));
      return { data: Array.from(data), shape };
    }
  }
}

// ---- mutations ----
const truncate = (at: number) => (b: Buffer) => b.subarray(0, at);
/** Random positions as fractions of the file: cases are made before the fixtures exist. */
function flips(kind: Kind, count: number): Case {
  const where = Array.from({ length: count }, () => rng.nextFloat());
  const bits = where.map(() => 1 << randomInt(8));
  const c: Case = {
    kind,
    name: `${count} bit(s) flipped at ${where.map((f) => `${(100 * f).toFixed(1)} %`).join(', ')}`,
    mutate: (b) => {
      const out = Buffer.from(b);
      c.flipped = where.map((f) => Math.floor(f * b.length));
      c.flipped.forEach((o, i) => (out[o] ^= bits[i]));
      return out;
    },
  };
  return c;
}

/** An Arrow file rebuilt with its columns edited (metadata kept unless `meta` edits it). */
function arrowEdit(edit: (columns: Column[], meta: Map<string, string>) => void) {
  return (b: Buffer) => {
    const table = tableFromIPC(b);
    const columns: Column[] = table.schema.fields.map((f) => ({
      name: f.name,
      data: table.getChild(f.name)!.data[0] as Data<DataType>,
      nullable: f.nullable,
    }));
    const meta = new Map(table.schema.metadata);
    edit(columns, meta);
    return Buffer.from(columnsToIPC(columns, Object.fromEntries(meta)));
  };
}
const col = (columns: Column[], name: string) => columns.find((c) => c.name === name)!;
const drop = (name: string) =>
  arrowEdit((c) =>
    c.splice(
      c.findIndex((x) => x.name === name),
      1,
    ),
  );
const rename = (name: string, to: string) => arrowEdit((c) => (col(c, name).name = to));
const asFloat64 = (name: string) =>
  arrowEdit((c) => {
    const d = col(c, name).data;
    col(c, name).data = makeData({
      type: new Float64(),
      length: d.length,
      data: Float64Array.from(d.values as Int32Array),
    });
  });
/** The list column `name` as fixed_size_list<precision>[resize(its size)]. */
const listAs = (name: string, resize: (size: number) => number, precision: 'float32' | 'float64') =>
  arrowEdit((c) => {
    const d = col(c, name).data;
    const size = resize((d.type as FixedSizeList).listSize);
    const values = d.children[0].values as Float32Array | Float64Array;
    const rows = d.length;
    const flat = (precision === 'float32' ? Float32Array : Float64Array).from(
      values.subarray(0, rows * size),
    );
    const child =
      precision === 'float32'
        ? makeData({ type: new Float32(), length: flat.length, data: flat as Float32Array })
        : makeData({ type: new Float64(), length: flat.length, data: flat as Float64Array });
    col(c, name).data = makeData({
      type: new FixedSizeList(size, new Field('item', child.type, false)),
      length: rows,
      child,
    });
  });
/** A weight set to `value` with its row's SHA-256 recomputed, so only the value is wrong. */
const badWeight = (value: number) =>
  arrowEdit((c) => {
    const d = col(c, 'weights').data;
    const size = (d.type as FixedSizeList).listSize;
    const w = Float32Array.from(d.children[0].values as Float32Array);
    w[size + 3] = value;
    col(c, 'weights').data = makeData({
      type: d.type as FixedSizeList,
      length: d.length,
      child: makeData({ type: new Float32(), length: w.length, data: w }),
    });
    const sha = (
      col(c, 'sha256').data.length
        ? Array.from({ length: d.length }, (_, r) => weightsSha256(w.subarray(r * size, (r + 1) * size)))
        : []
    ) as string[];
    col(c, 'sha256').data = vectorFromArray(sha, new Utf8()).data[0];
  });
const json = (edit: (m: Record<string, any>) => void) => (b: Buffer) => {
  const m = JSON.parse(b.toString('utf8'));
  edit(m);
  return Buffer.from(JSON.stringify(m));
};
const text = (f: (s: string) => string) => (b: Buffer) => Buffer.from(f(b.toString('latin1')), 'latin1');

/** safetensors from a header object and data bytes, written from the specification. */
function safetensors(header: unknown, data: Uint8Array, headerText?: string): Buffer {
  const h = Buffer.from(headerText ?? JSON.stringify(header));
  const out = Buffer.alloc(8 + h.length + data.length);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(out, 8);
  out.set(data, 8 + h.length);
  return out;
}
/** Edits an intact safetensors file's header (and data). */
const stEdit =
  (
    edit: (
      header: Record<string, any>,
      data: Buffer,
    ) => { header?: Record<string, any>; data?: Uint8Array; text?: string } | void,
  ) =>
  (b: Buffer) => {
    const n = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.toString('utf8', 8, 8 + n));
    const data = Buffer.from(b.subarray(8 + n));
    const r = edit(header, data) ?? {};
    return safetensors(r.header ?? header, r.data ?? data, r.text);
  };

function cases(): Case[] {
  const out: Case[] = [];
  const add = (kind: Kind, name: string, mutate: (b: Buffer) => Buffer) =>
    out.push({ kind, name, mutate, expected: 'rejected' });
  const random = (kind: Kind, truncations: number, flipCases: number) => {
    for (let i = 0; i < truncations; i++) {
      const f = rng.nextFloat();
      add(kind, `truncated at ${(100 * f).toFixed(1)} %`, (b) => truncate(Math.floor(f * b.length))(b));
    }
    for (let i = 0; i < flipCases; i++) out.push(flips(kind, 1 + randomInt(8)));
  };
  // checkpoint files
  for (const name of ['run', 'sha256', 'weights', 'parent_sha256'])
    add('checkpoint', `column ${name} missing`, drop(name));
  add('checkpoint', 'column weights renamed', rename('weights', 'weight'));
  add('checkpoint', 'column run as float64', asFloat64('run'));
  add(
    'checkpoint',
    'weights as float64',
    listAs('weights', (n) => n, 'float64'),
  );
  add(
    'checkpoint',
    'weights of 2,159 per row (wrong dims)',
    listAs('weights', (n) => n - 1, 'float32'),
  );
  add('checkpoint', 'a NaN weight (hash recomputed)', badWeight(NaN));
  add('checkpoint', 'an infinite weight (hash recomputed)', badWeight(-Infinity));
  add(
    'checkpoint',
    'zoo metadata not JSON',
    arrowEdit((_, m) => m.set('weightspace.zoo', '{"config": ')),
  );
  add(
    'checkpoint',
    'zoo metadata with another learning rate',
    arrowEdit((_, m) =>
      m.set(
        'weightspace.zoo',
        m.get('weightspace.zoo')!.replace('"learningRate":0.03', '"learningRate":0.3'),
      ),
    ),
  );
  add('checkpoint', 'not Arrow at all', () => Buffer.from('epoch,run,weights\n1,0,0.5\n'));
  random('checkpoint', 10, 24);
  // resume state
  add('resume', 'column momentum missing', drop('momentum'));
  add(
    'resume',
    'weights as float32',
    listAs('weights', (n) => n, 'float32'),
  );
  add(
    'resume',
    'epoch metadata missing',
    arrowEdit((_, m) => m.delete('epoch')),
  );
  add(
    'resume',
    'epoch metadata not a number',
    arrowEdit((_, m) => m.set('epoch', 'one')),
  );
  add(
    'resume',
    'epoch metadata ahead of the manifest',
    arrowEdit((_, m) => m.set('epoch', '3')),
  );
  add(
    'resume',
    'momentum of 2,159 per row (wrong dims)',
    listAs('momentum', (n) => n - 1, 'float64'),
  );
  random('resume', 8, 20);
  // manifest
  add(
    'manifest',
    'invalid JSON',
    text((s) => s.replace('{', '{{')),
  );
  add('manifest', 'truncated JSON', (b) => b.subarray(0, b.length >> 1));
  for (const field of ['config', 'architecture', 'epochsCompleted', 'status', 'format', 'data'])
    add(
      'manifest',
      `field ${field} missing`,
      json((m) => delete m[field]),
    );
  add(
    'manifest',
    'seedCount as a string',
    json((m) => (m.config.seedCount = '4')),
  );
  add(
    'manifest',
    'epochsCompleted beyond the epochs',
    json((m) => (m.epochsCompleted = 9)),
  );
  add(
    'manifest',
    'a tensor of another shape',
    json((m) => (m.architecture.params[1].shape = [10, 11])),
  );
  add(
    'manifest',
    'architecture of another size',
    json((m) => (m.architecture.size = 1376)),
  );
  add(
    'manifest',
    'more runs than the files hold',
    json((m) => (m.config.seedCount = 5)),
  );
  add(
    'manifest',
    'another learning rate than the files',
    json((m) => (m.config.learningRate = 0.3)),
  );
  add('manifest', 'an array instead of an object', () => Buffer.from('[]'));
  random('manifest', 6, 16);
  // identify's index
  add('index', 'column coords missing', drop('coords'));
  add('index', 'column run as float64', asFloat64('run'));
  add(
    'index',
    'coords as float64',
    listAs('coords', (n) => n, 'float64'),
  );
  random('index', 6, 14);
  add(
    'index-json',
    'not JSON',
    text((s) => s.slice(0, 40)),
  );
  add(
    'index-json',
    'an unknown format',
    json((m) => (m.format = 'other/1')),
  );
  add(
    'index-json',
    'a calibration number changed',
    json((m) => (m.calibration.memberRatio *= 2)),
  );
  add(
    'index-json',
    'the hash of index.arrow changed',
    json((m) => (m.files['index.arrow'] = '0'.repeat(64))),
  );
  add(
    'index-json',
    'files missing',
    json((m) => delete m.files),
  );
  add('index-json', 'an array', () => Buffer.from('[]'));
  random('index-json', 4, 10);
  // safetensors, written from the specification
  add('safetensors', 'header length beyond the file', (b) => {
    const out = Buffer.from(b);
    out.writeBigUInt64LE(BigInt(b.length), 0);
    return out;
  });
  add('safetensors', 'header length 2^63', (b) => {
    const out = Buffer.from(b);
    out.writeBigUInt64LE(1n << 63n, 0);
    return out;
  });
  add(
    'safetensors',
    'header not JSON',
    stEdit((h) => ({ text: JSON.stringify(h).slice(0, -3) })),
  );
  add(
    'safetensors',
    'header a JSON array',
    stEdit(() => ({ text: '[1,2]' })),
  );
  add(
    'safetensors',
    'a tensor name twice',
    stEdit((h) => ({ text: JSON.stringify(h).replace('"fc2.weight":', '"fc1.weight":') })),
  );
  for (const dtype of ['I32', 'I64', 'U8', 'BOOL', 'F8_E4M3'])
    add(
      'safetensors',
      `dtype ${dtype}`,
      stEdit((h) => void (h['fc3.weight'].dtype = dtype)),
    );
  add(
    'safetensors',
    'shape that does not fit the bytes',
    stEdit((h) => void (h['fc2.weight'].shape = [10, 9])),
  );
  add(
    'safetensors',
    'a gap between tensors',
    stEdit((h, d) => {
      for (const t of Object.values(h))
        if (t.data_offsets && t.data_offsets[0] > 0)
          t.data_offsets = t.data_offsets.map((o: number) => o + 4);
      return { header: h, data: Buffer.concat([d.subarray(0, 7840), Buffer.alloc(4), d.subarray(7840)]) };
    }),
  );
  add(
    'safetensors',
    'overlapping tensors',
    stEdit((h) => void (h['fc3.weight'].data_offsets = [7840, 8240])),
  );
  add('safetensors', 'bytes after the last tensor', (b) => Buffer.concat([b, Buffer.alloc(16)]));
  add(
    'safetensors',
    'a NaN value',
    stEdit((_, d) => void d.writeFloatLE(NaN, 40)),
  );
  add(
    'safetensors',
    'an infinite value',
    stEdit((_, d) => void d.writeFloatLE(Infinity, 8000)),
  );
  add(
    'safetensors',
    'tensor fc3.weight missing',
    stEdit((h, d) => {
      delete h['fc3.weight'];
      return { header: h, data: d.subarray(0, 8240) };
    }),
  );
  add(
    'safetensors',
    'an extra tensor',
    stEdit((h, d) => {
      h['fc4.weight'] = { dtype: 'F32', shape: [1], data_offsets: [8640, 8644] };
      return { header: h, data: Buffer.concat([d, Buffer.alloc(4)]) };
    }),
  );
  add(
    'safetensors',
    'metadata not strings',
    stEdit((h) => void (h.__metadata__ = { epoch: 3 })),
  );
  random('safetensors', 8, 20);
  // tfjs
  add(
    'tfjs-json',
    'model.json not JSON',
    text((s) => s.slice(0, 100)),
  );
  add(
    'tfjs-json',
    'weightsManifest missing',
    json((m) => delete m.weightsManifest),
  );
  add(
    'tfjs-json',
    'a weight of dtype int32',
    json((m) => (m.weightsManifest[0].weights[0].dtype = 'int32')),
  );
  add(
    'tfjs-json',
    'a weight of another shape',
    json((m) => (m.weightsManifest[0].weights[1].shape = [10, 9])),
  );
  add(
    'tfjs-json',
    'a weight named twice',
    json((m) => (m.weightsManifest[0].weights[1].name = m.weightsManifest[0].weights[0].name)),
  );
  add(
    'tfjs-json',
    'a weight file outside the folder',
    json((m) => (m.weightsManifest[0].paths = ['../../weights.bin'])),
  );
  add(
    'tfjs-json',
    'a weight file that is not there',
    json((m) => (m.weightsManifest[0].paths = ['weights-2.bin'])),
  );
  add(
    'tfjs-json',
    'shape as a string',
    json((m) => (m.weightsManifest[0].weights[0].shape = '196,10')),
  );
  add('tfjs-bin', 'weights.bin 4 bytes short', (b) => b.subarray(0, b.length - 4));
  add('tfjs-bin', 'weights.bin with 8 bytes extra', (b) => Buffer.concat([b, Buffer.alloc(8)]));
  add('tfjs-bin', 'a NaN in weights.bin', (b) => {
    const out = Buffer.from(b);
    out.writeFloatLE(NaN, 400);
    return out;
  });
  random('tfjs-json', 4, 8);
  random('tfjs-bin', 4, 10);
  // .npy
  add('npy', 'no magic string', (b) => Buffer.concat([Buffer.from('NOTNPY'), b.subarray(6)]));
  add('npy', 'format version 3.0', (b) =>
    Buffer.concat([b.subarray(0, 6), Buffer.from([3, 0]), b.subarray(8)]),
  );
  add('npy', 'header length beyond the file', (b) => {
    const out = Buffer.from(b);
    out.writeUInt16LE(60000, 8);
    return out;
  });
  add(
    'npy',
    "dtype '<f4'",
    text((s) => s.replace("'<f8'", "'<f4'")),
  );
  add(
    'npy',
    "dtype '>f8' (big-endian)",
    text((s) => s.replace("'<f8'", "'>f8'")),
  );
  add(
    'npy',
    'Fortran order',
    text((s) => s.replace('False', 'True ')),
  );
  add(
    'npy',
    'shape larger than the data',
    text((s) => s.replace('(11, 4)', '(12, 4)')),
  );
  add(
    'npy',
    'no shape',
    text((s) => s.replace("'shape'", "'shope'")),
  );
  random('npy', 6, 12);
  return out;
}

/** Where each format keeps numbers no checksum covers: a flip there changes values undetectably. */
function inUncheckedData(kind: Kind, bytes: Buffer, offsets: number[]): boolean {
  if (kind === 'safetensors') return offsets.some((o) => o >= 8 + Number(bytes.readBigUInt64LE(0)));
  if (kind === 'tfjs-bin') return true;
  if (kind === 'npy') return offsets.some((o) => o >= 10 + bytes.readUInt16LE(8));
  return false;
}

const outcomes: { kind: Kind; name: string; outcome: Outcome }[] = [];

describe('corrupt and foreign input, seeded', () => {
  const all = cases(); // the rng makes the same cases every run
  it(`has at least 200 cases (${all.length})`, () => {
    expect(all.length).toBeGreaterThanOrEqual(200);
  });

  it.each(all.map((c, i) => [i, c.kind, c.name, c] as const))('%i %s: %s', (_, kind, name, c) => {
    const root = join(tempDir(), 'ffnn-fz');
    cpSync(fixtureRoot(kind), root, { recursive: true });
    const path = join(root, FILE[kind]);
    const intact = readFileSync(path);
    const damaged = c.mutate(intact);
    writeFileSync(path, damaged);
    const before = treeFingerprint(root);
    let outcome: Outcome;
    try {
      const value = consume(kind, root);
      if (value === 'stale') outcome = 'stale';
      else if (JSON.stringify(value) === JSON.stringify(pristine[kind])) outcome = 'same result';
      else {
        expect(
          c.flipped && inUncheckedData(kind, damaged, c.flipped),
          `accepted with another result: ${name}`,
        ).toBe(true);
        outcome = 'other numbers (no checksum in the format)';
      }
    } catch (err) {
      expect(isUserError(err), `internal error for ${name}: ${(err as Error).stack}`).toBe(true);
      const message = (err as Error).message;
      expect(message).not.toMatch(/\n/);
      // the message names the damaged file (tfjs errors name the model.json that lists weights.bin)
      const named = kind === 'tfjs-bin' ? join(root, FILE['tfjs-json']) : path;
      expect(message, message).toContain(named);
      outcome = 'rejected';
    }
    expect(treeFingerprint(root), 'nothing on disk may change').toEqual(before);
    if (c.expected) expect(outcome, name).toBe(c.expected);
    else
      expect(['rejected', 'same result', 'other numbers (no checksum in the format)'], name).toContain(
        outcome,
      );
    outcomes.push({ kind, name, outcome });
  });
});

describe('the commands, on a sample of the cases', () => {
  const sample: [Kind, string, (b: Buffer) => Buffer, (root: string) => string[], number][] = [
    ['checkpoint', 'verify', drop('sha256'), (root) => ['verify', '--zoo', root], 1],
    [
      'checkpoint',
      'cluster',
      badWeight(NaN),
      (root) => ['cluster', '--zoo', root, '--svd', '5', '--out', join(root, 'out')],
      2,
    ],
    [
      'manifest',
      'export',
      json((m) => (m.config.seedCount = '4')),
      (root) => [
        'export',
        '--zoo',
        root,
        '--run',
        '0',
        '--epoch',
        '0',
        '--format',
        'arrow',
        '--out',
        join(root, 'x.arrow'),
      ],
      2,
    ],
    [
      'index',
      'identify',
      truncate(300),
      (root) => ['identify', join(root, 'checkpoints/epoch-0002.arrow'), '--run', '1', '--zoo', root],
      2,
    ],
    [
      'safetensors',
      'identify',
      stEdit((h) => ({ text: JSON.stringify(h).replace('"fc2.weight":', '"fc1.weight":') })),
      (root) => ['identify', join(root, FILE.safetensors), '--zoo', complete, '--no-verify'],
      2,
    ],
    [
      'tfjs-bin',
      'identify',
      (b) => b.subarray(0, 100),
      (root) => ['identify', join(root, 'tfjs'), '--zoo', complete, '--no-verify'],
      2,
    ],
  ];
  it.each(sample)(
    '%s via %s: the documented exit code, one line, nothing changed',
    (kind, _, mutate, argv, code) => {
      const root = join(tempDir(), 'ffnn-fz');
      cpSync(fixtureRoot(kind), root, { recursive: true });
      writeFileSync(join(root, FILE[kind]), mutate(readFileSync(join(root, FILE[kind]))));
      const before = treeFingerprint(root);
      const [script, ...args] = argv(root);
      const r = runCliSync(script, args);
      expect(r.code, r.stdout + r.stderr).toBe(code);
      if (code === 2) {
        expect(r.stderr).toMatch(/^error: /);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain(root);
      } else expect(r.stdout).toMatch(/DAMAGED/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(treeFingerprint(root)).toEqual(before);
    },
  );

  it('npm run zoo on a damaged resume state', () => {
    const out = tempDir();
    cpSync(training, join(out, 'ffnn-fz'), { recursive: true });
    const path = join(out, 'ffnn-fz', 'resume.arrow');
    writeFileSync(path, drop('momentum')(readFileSync(path)));
    const before = treeFingerprint(out);
    const r = runCliSync('zoo', [
      '--arch',
      'ffnn',
      '--name',
      'fz',
      '--seeds',
      '4',
      '--epochs',
      '3',
      '--train-size',
      '300',
      '--test-size',
      '100',
      '--out',
      out,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: .*resume\.arrow is damaged \(its bytes do not match the SHA-256 the manifest recorded\)/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(treeFingerprint(out)).toEqual(before);
  });
});

describe('the outcomes of all cases', () => {
  it('reject damage in every kind of file (the table is printed with FUZZ_TABLE=1)', () => {
    const table: Record<string, Record<string, number>> = {};
    for (const { kind, outcome } of outcomes) {
      table[kind] ??= {};
      table[kind][outcome] = (table[kind][outcome] ?? 0) + 1;
    }
    if (process.env.FUZZ_TABLE)
      console.log(`fuzz outcomes (${outcomes.length} cases):\n${JSON.stringify(table, null, 1)}`);
    for (const counts of Object.values(table)) expect(counts.rejected).toBeGreaterThan(0);
    expect(Object.keys(table).length).toBeGreaterThanOrEqual(9);
  });
});

describe('a checkpoint file whose record batch claims millions of buffers', () => {
  // a fixed one-row file; flipping the top bit of byte 94 turns the count of the record
  // batch's buffers (23, at bytes 92-95 of the header) into 8,388,631: apache-arrow's reader
  // trusts the count and decodes that many buffer regions past the header (seconds of work)
  const weights = Float32Array.from({ length: 2160 }, (_, i) => Math.sin(i) / 10);
  const rows = {
    size: 2160,
    run: Int32Array.of(0),
    seed: Uint32Array.of(0),
    epoch: Int32Array.of(1),
    step: Int32Array.of(10),
    trainLoss: Float64Array.of(0.1),
    testLoss: Float64Array.of(0.1),
    testAccuracy: Float64Array.of(0.5),
    sha256: [weightsSha256(weights)],
    parentSha256: [null],
    weights,
  };
  const intact = Buffer.from(
    checkpointsToIPC(rows, { 'weightspace.zoo': JSON.stringify({ config: { arch: 'ffnn' } }) }),
  );
  const damaged = Buffer.from(intact);
  damaged[94] ^= 0x80;

  /** The buffer count of the first record batch, as apache-arrow's own generated FlatBuffers reader sees it. */
  const buffersClaimed = (bytes: Buffer): number => {
    const block = RecordBatchReader.from(bytes).open().footer!.getRecordBatch(0)!;
    const fb = new ByteBuffer(bytes.subarray(block.offset + 8, block.offset + block.metaDataLength));
    return FbMessage.getRootAsMessage(fb).header(new FbRecordBatch())!.buffersLength();
  };

  it('is what it claims: the flipped bit is the buffer count', () => {
    expect(buffersClaimed(intact)).toBe(23);
    expect(buffersClaimed(damaged)).toBe(23 + 2 ** 23);
  });

  it('is refused by the header check before the reader runs, naming the count', () => {
    const path = join(tempDir(), 'claims.arrow');
    writeFileSync(path, damaged);
    expect(() => readCheckpointFileWithin(path)).toThrow(
      /claims\.arrow.*record batch 0: its header claims 8388631 buffers \(134218096 bytes\) in a 632-byte header/,
    );
    writeFileSync(path, intact);
    expect(readCheckpointFileWithin(path).rows.weights).toEqual(weights);
  });

  it('keeps the time limit as a last guard: a reader that has not answered is stopped', () => {
    const path = join(tempDir(), 'intact.arrow');
    writeFileSync(path, intact);
    expect(() => readCheckpointFileWithin(path, 0)).toThrow(/intact\.arrow could not be read within 0 s/);
  });
});
