/**
 * safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, and an
 * optional "__metadata__" of strings}, then the raw little-endian tensor bytes.
 * We write float32 tensors named and shaped as PyTorch's state_dict (the index map), so
 * `safetensors.torch.load_file` gives a state_dict for the equivalent nn.Module. We read
 * F32, F64, F16 and BF16 tensors.
 */
import { readFileSync } from 'node:fs';
import type { Architecture } from '../../core/architectures.ts';
import { writeFileAtomic } from '../atomicWrite.ts';
import { CheckpointFileError } from '../checkpointFile.ts';
import { bfloat16ToNumber, float16ToNumber } from '../../util/float16.ts';

export interface NamedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** safetensors bytes of float32 tensors, in the given order, with string metadata. */
export function toSafetensors(tensors: NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * t.values.length] };
    offset += 4 * t.values.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // the data starts 8-byte aligned, as the reference writer does
  const jsonBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + jsonBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(jsonBytes.length), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.length;
  for (const t of tensors) {
    for (let i = 0; i < t.values.length; i++) view.setFloat32(at + 4 * i, t.values[i], true);
    at += 4 * t.values.length;
  }
  return out;
}

/** Bytes per element of the dtypes we read as weights. */
const DTYPE_WIDTH: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };
/** Bytes per element of the specification's other dtypes, which an import may skip (e.g. BatchNorm's I64 num_batches_tracked). */
const OTHER_DTYPE_WIDTH: Record<string, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  I32: 4,
  U32: 4,
  I64: 8,
  U64: 8,
};

export interface SafetensorsContent {
  /** The floating-point tensors as float32, by name, in the order of their bytes in the file. */
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
  /** Each of those tensors' dtype in the file (F32, F64, F16, BF16). */
  dtypes: Map<string, string>;
  metadata: Record<string, string>;
  /** Tensors of other dtypes, left out (only with `otherDtypes: 'skip'`). */
  skipped: { name: string; dtype: string; shape: number[] }[];
}

/**
 * The tensors of a safetensors file as float32, by name; metadata as given. Checks what the
 * format's specification requires: a JSON object header within the file, unique tensor
 * names, each tensor's byte range matching its dtype and shape, ranges that tile the data
 * section from its start to the end of the file without gaps or overlaps, string metadata.
 */
export function parseSafetensors(
  bytes: Uint8Array,
  path = '<bytes>',
  options: { otherDtypes?: 'refuse' | 'skip' } = {},
): SafetensorsContent {
  const fail = (why: string): never => {
    throw new CheckpointFileError(`${path} is not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8))
    fail(`header length ${headerLength} exceeds the file (${bytes.length} bytes)`);
  const text = Buffer.from(bytes.subarray(8, 8 + Number(headerLength))).toString('utf8');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(text);
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail('header is not a JSON object');
  const duplicate = duplicateKey(text);
  if (duplicate !== null) fail(`tensor name '${duplicate}' appears twice in the header`);
  const metadata = (header.__metadata__ ?? {}) as Record<string, unknown>;
  if (
    typeof metadata !== 'object' ||
    metadata === null ||
    Object.values(metadata).some((v) => typeof v !== 'string')
  )
    fail('__metadata__ must map names to strings');
  const data = 8 + Number(headerLength);
  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__');
  const ranges: [number, number, string][] = [];
  const tensors: SafetensorsContent['tensors'] = new Map();
  const skipped: SafetensorsContent['skipped'] = [];
  const dtypes = new Map<string, string>();
  for (const [name, raw] of entries) {
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) fail(`tensor '${name}' is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0))
      fail(`tensor '${name}' has shape ${JSON.stringify(shape)}, not a list of sizes`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || o < 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}, not [begin, end]`);
    }
    const width =
      DTYPE_WIDTH[String(dtype)] ?? (options.otherDtypes === 'skip' ? OTHER_DTYPE_WIDTH[String(dtype)] : 0);
    if (!width)
      fail(
        OTHER_DTYPE_WIDTH[String(dtype)]
          ? `tensor '${name}' has dtype ${dtype}; only F32, F64, F16 and BF16 are read`
          : `tensor '${name}' has dtype ${dtype}, which the specification does not define`,
      );
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * width)
      fail(`tensor '${name}' has ${end - begin} bytes for shape [${shape}] of ${dtype}`);
    ranges.push([begin, end, name]);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== at)
      fail(
        begin > at
          ? `bytes ${at}-${begin} of the data belong to no tensor (before '${name}')`
          : `tensor '${name}' overlaps the one before it`,
      );
    at = end;
  }
  if (data + at !== bytes.length) fail(`the tensors end at byte ${data + at}, the file at ${bytes.length}`);
  const byOffset = [...entries].sort(
    ([, a], [, b]) =>
      (a as { data_offsets: number[] }).data_offsets[0] - (b as { data_offsets: number[] }).data_offsets[0],
  );
  for (const [name, raw] of byOffset) {
    const info = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!DTYPE_WIDTH[info.dtype]) {
      skipped.push({ name, dtype: info.dtype, shape: info.shape });
      continue;
    }
    const count = info.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    const start = data + info.data_offsets[0];
    for (let i = 0; i < count; i++) {
      if (info.dtype === 'F32') values[i] = view.getFloat32(start + 4 * i, true);
      else if (info.dtype === 'F64') values[i] = view.getFloat64(start + 8 * i, true);
      else if (info.dtype === 'F16') values[i] = float16ToNumber(view.getUint16(start + 2 * i, true));
      else values[i] = bfloat16ToNumber(view.getUint16(start + 2 * i, true));
    }
    tensors.set(name, { shape: info.shape, values });
    dtypes.set(name, info.dtype);
  }
  return { tensors, dtypes, metadata: metadata as Record<string, string>, skipped };
}

/** A key that appears twice at the top level of a JSON object's text (JSON.parse keeps the last silently), or null. */
function duplicateKey(json: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && /^\s*:/.test(json.slice(j + 1, j + 20))) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
      }
      i = j;
    }
  }
  return null;
}

/**
 * Flat weights (the index map's layout) from named tensors: every tensor of the architecture
 * must be there with its shape, and nothing else. Errors name the tensor.
 */
export function flattenTensors(
  arch: Architecture,
  tensors: Map<string, { shape: number[]; values: Float32Array }>,
  path: string,
): Float32Array {
  const flat = new Float32Array(arch.size);
  for (const p of arch.params) {
    const t = tensors.get(p.name);
    if (!t)
      throw new CheckpointFileError(
        `${path} has no tensor '${p.name}' (the ${arch.name} architecture needs ${arch.params.map((q) => q.name).join(', ')})`,
      );
    if (t.shape.join(',') !== p.shape.join(','))
      throw new CheckpointFileError(
        `${path}: tensor '${p.name}' has shape [${t.shape}], the ${arch.name} architecture needs [${p.shape}]`,
      );
    flat.set(t.values, p.offset);
  }
  const extra = [...tensors.keys()].filter((name) => !arch.params.some((p) => p.name === name));
  if (extra.length)
    throw new CheckpointFileError(
      `${path} has tensor(s) the ${arch.name} architecture lacks: ${extra.join(', ')} (a different model?)`,
    );
  return flat;
}

export function writeSafetensors(
  path: string,
  arch: Architecture,
  weights: Float32Array,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomic(
    path,
    toSafetensors(
      arch.params.map((p) => ({
        name: p.name,
        shape: p.shape,
        values: weights.subarray(p.offset, p.offset + p.size),
      })),
      metadata,
    ),
  );
}

export function readSafetensors(path: string, arch: Architecture): Float32Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new CheckpointFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  // integer buffers (e.g. BatchNorm's num_batches_tracked) are no weights of any architecture
  return flattenTensors(arch, parseSafetensors(bytes, path, { otherDtypes: 'skip' }).tensors, path);
}
