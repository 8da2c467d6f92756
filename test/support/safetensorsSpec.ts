/** safetensors files written from the format's specification, independently of the toolkit's own writer and float16 code. */

/**
 * safetensors bytes per the specification: u64 little-endian header length, JSON header
 * {name: {dtype, shape, data_offsets}}, tensor bytes little-endian. Tensors in the given
 * order; `dtype` F32, F16 (IEEE half, round to nearest even) or BF16 (top 16 bits, round to nearest even).
 */
export function safetensorsBytes(
  tensors: { name: string; shape: number[]; values: number[] | bigint[]; dtype: string }[],
): Uint8Array {
  const width: Record<string, number> = { F32: 4, F16: 2, BF16: 2, I64: 8 };
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.values.length * width[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const t of tensors) {
    for (const v of t.values) {
      if (t.dtype === 'F32') out.writeFloatLE(v as number, at);
      else if (t.dtype === 'I64') out.writeBigInt64LE(v as bigint, at);
      else if (t.dtype === 'BF16') out.writeUInt16LE(bf16Bits(v as number), at);
      else out.writeUInt16LE(f16Bits(v as number), at);
      at += width[t.dtype];
    }
  }
  return out;
}

const f32Bits = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return b.readUInt32LE();
};
/** bfloat16: the float32's top half, rounded to nearest even. */
export const bf16Bits = (v: number) => {
  const u = f32Bits(v);
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
};
/** IEEE half for |v| in the normal range used here: 10 mantissa bits, round to nearest even. */
export function f16Bits(v: number): number {
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  if (a < 2 ** -14) {
    // subnormal: a multiple of 2^-24, rounded to nearest even
    const q = a / 2 ** -24;
    const fl = Math.floor(q);
    return sign | (q - fl > 0.5 || (q - fl === 0.5 && fl % 2 === 1) ? fl + 1 : fl);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  let m = (a / 2 ** e - 1) * 1024;
  const floor = Math.floor(m);
  const frac = m - floor;
  m = frac > 0.5 || (frac === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  if (m === 1024) [m, e] = [0, e + 1];
  return sign | ((e + 15) << 10) | m;
}
export const f16Value = (bits: number) =>
  (bits & 0x8000 ? -1 : 1) *
  (((bits >> 10) & 31) === 0
    ? (bits & 1023) * 2 ** -24
    : 2 ** (((bits >> 10) & 31) - 15) * (1 + (bits & 1023) / 1024));
export const bf16Value = (bits: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE((bits << 16) >>> 0);
  return b.readFloatLE();
};
