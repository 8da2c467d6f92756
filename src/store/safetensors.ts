/**
 * safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, and an
 * optional "__metadata__" of strings}, then the raw little-endian tensor bytes.
 * We write float32 tensors named and shaped as PyTorch's state_dict (the index map), so
 * `safetensors.torch.load_file` gives a state_dict for the equivalent nn.Module. We read
 * F32, F64, F16 and BF16 tensors.
 */
import { readFileSync } from 'node:fs';
import type { Architecture } from '../nn/architectures.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { CheckpointFileError } from './checkpointFile.ts';
import { bfloat16ToNumber, float16ToNumber } from './float16.ts';

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

/** The tensors of a safetensors file as float32, by name; metadata as given. */
export function parseSafetensors(bytes: Uint8Array, path = '<bytes>'): { tensors: Map<string, { shape: number[]; values: Float32Array }>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new CheckpointFileError(`${path} is not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) fail(`header length ${headerLength} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  const data = 8 + headerLength;
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const count = info.shape.reduce((a, b) => a * b, 1);
    const [begin, end] = info.data_offsets;
    const width = { F32: 4, F64: 8, F16: 2, BF16: 2 }[info.dtype];
    if (!width) fail(`tensor '${name}' has dtype ${info.dtype}; only F32, F64, F16 and BF16 are read`);
    if (end - begin !== count * width! || data + end > bytes.length) fail(`tensor '${name}' has ${end - begin} bytes for shape [${info.shape}] of ${info.dtype}`);
    const values = new Float32Array(count);
    const at = data + begin;
    for (let i = 0; i < count; i++) {
      if (info.dtype === 'F32') values[i] = view.getFloat32(at + 4 * i, true);
      else if (info.dtype === 'F64') values[i] = view.getFloat64(at + 8 * i, true);
      else if (info.dtype === 'F16') values[i] = float16ToNumber(view.getUint16(at + 2 * i, true));
      else values[i] = bfloat16ToNumber(view.getUint16(at + 2 * i, true));
    }
    tensors.set(name, { shape: info.shape, values });
  }
  return { tensors, metadata: (header.__metadata__ as unknown as Record<string, string>) ?? {} };
}

/**
 * Flat weights (the index map's layout) from named tensors: every tensor of the architecture
 * must be there with its shape, and nothing else. Errors name the tensor.
 */
export function flattenTensors(arch: Architecture, tensors: Map<string, { shape: number[]; values: Float32Array }>, path: string): Float32Array {
  const flat = new Float32Array(arch.size);
  for (const p of arch.params) {
    const t = tensors.get(p.name);
    if (!t) throw new CheckpointFileError(`${path} has no tensor '${p.name}' (the ${arch.name} architecture needs ${arch.params.map((q) => q.name).join(', ')})`);
    if (t.shape.join(',') !== p.shape.join(',')) throw new CheckpointFileError(`${path}: tensor '${p.name}' has shape [${t.shape}], the ${arch.name} architecture needs [${p.shape}]`);
    flat.set(t.values, p.offset);
  }
  const extra = [...tensors.keys()].filter((name) => !arch.params.some((p) => p.name === name));
  if (extra.length) throw new CheckpointFileError(`${path} has tensor(s) the ${arch.name} architecture lacks: ${extra.join(', ')} (a different model?)`);
  return flat;
}

export function writeSafetensors(path: string, arch: Architecture, weights: Float32Array, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, toSafetensors(arch.params.map((p) => ({ name: p.name, shape: p.shape, values: weights.subarray(p.offset, p.offset + p.size) })), metadata));
}

export function readSafetensors(path: string, arch: Architecture): Float32Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new CheckpointFileError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return flattenTensors(arch, parseSafetensors(bytes, path).tensors, path);
}
