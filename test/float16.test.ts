/**
 * Half precision, exhaustively: every one of the 65,536 bit patterns and every midpoint
 * between neighbouring halves, both signs, against a reference written here from IEEE 754
 * (value = (-1)^s 2^(e-15) (1 + f/1024), subnormals 2^-14 f/1024; ties round to the even
 * significand).
 */
import { describe, expect, it } from 'vitest';
import { float16Bits, float16ToNumber, toFloat16 } from '../src/util/float16.ts';

function referenceValue(h: number): number {
  const s = h >> 15 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 31) return f === 0 ? s * Infinity : NaN;
  return e === 0 ? s * 2 ** -14 * (f / 1024) : s * 2 ** (e - 15) * (1 + f / 1024);
}

/** The next double above |x| (in magnitude), with x's sign. */
function nextAway(x: number): number {
  const b = new Float64Array([x]);
  const u = new BigInt64Array(b.buffer);
  u[0] += 1n;
  return b[0];
}
function nextToward0(x: number): number {
  const b = new Float64Array([x]);
  const u = new BigInt64Array(b.buffer);
  u[0] -= 1n;
  return b[0];
}

describe('float16', () => {
  it('decodes and re-encodes all 65,536 bit patterns', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const v = referenceValue(h);
      if (Number.isNaN(v)) {
        if (!Number.isNaN(float16ToNumber(h))) wrong.push(`decode 0x${h.toString(16)}`);
        continue;
      }
      if (!Object.is(float16ToNumber(h), v)) wrong.push(`decode 0x${h.toString(16)}`);
      if (float16Bits(v) !== h) wrong.push(`encode ${v}`);
      if (!Object.is(toFloat16(v), v)) wrong.push(`round ${v}`);
      checked++;
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(checked).toBe(65536 - 2 * 1023);
  });

  it('rounds every midpoint to the even neighbour, and just off it to the nearer one, both signs', () => {
    let ties = 0;
    const wrong: string[] = [];
    for (const sign of [0, 0x8000]) {
      for (let m = 0; m < 0x7c00; m++) {
        const lo = referenceValue(sign | m);
        const hi = m + 1 === 0x7c00 ? (sign ? -65536 : 65536) : referenceValue(sign | (m + 1)); // past the largest half: the 2^16 it would be
        const mid = (lo + hi) / 2; // exact: 12 significant bits
        const even = m % 2 === 0 ? sign | m : sign | (m + 1);
        if (float16Bits(mid) !== even) wrong.push(`midpoint ${mid}`);
        if (float16Bits(nextToward0(mid)) !== (sign | m)) wrong.push(`below ${mid}`);
        if (float16Bits(nextAway(mid)) !== (sign | (m + 1))) wrong.push(`above ${mid}`);
        if (!Object.is(toFloat16(mid), referenceValue(even))) wrong.push(`round ${mid}`);
        ties++;
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(ties).toBe(2 * 0x7c00);
  });

  it('overflows to infinity and keeps NaN', () => {
    expect(toFloat16(1e6)).toBe(Infinity);
    expect(toFloat16(-65520)).toBe(-Infinity);
    expect(toFloat16(65519.99)).toBe(65504);
    expect(Number.isNaN(toFloat16(NaN))).toBe(true);
    expect(Object.is(toFloat16(-0), -0)).toBe(true);
    expect(toFloat16(2 ** -26)).toBe(0); // below half the smallest subnormal
  });
});
