/**
 * IEEE 754 binary16 (half) and bfloat16: decoding, as safetensors F16/BF16 tensors need, and
 * correct rounding of a number to half precision (round to nearest, ties to even), as
 * PyTorch's `tensor.half()` does.
 */

/** The value of half-precision bits `h`. */
export function float16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The value of bfloat16 bits `b` (the top half of a float32). */
export function bfloat16ToNumber(b: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, b << 16);
  return view.getFloat32(0);
}

/** Half-precision bits of `x`, rounded to nearest with ties to even (overflow to infinity). */
export function float16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // 65520 is halfway between the largest half (65504) and 2^16, and its tie goes to the even side: infinity
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24); // subnormal steps of 2^-24 (1024 rounds up to the smallest normal's bits)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a)
    e--; // log2 may be off by one next to a power of two
  else if (2 ** (e + 1) <= a) e++;
  const q = roundHalfEven(a * 2 ** (10 - e)); // 1024..2048; 2048 carries into the exponent below
  return sign | (((e + 15) << 10) + (q - 1024));
}

/** `x` rounded to the nearest half-precision value. */
export const toFloat16 = (x: number): number => float16ToNumber(float16Bits(x));

function roundHalfEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}
