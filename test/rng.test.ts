import { describe, expect, it } from 'vitest';
import { Rng, splitMix64 } from '../src/core/rng.ts';

describe('Rng (xoshiro128** seeded by SplitMix64)', () => {
  it('matches the reference xoshiro128** output for a known state', () => {
    // Test vector of xoshiro128starstar.c (v1.1) as used by Rust's rand_xoshiro: state {1, 2, 3, 4}
    const rng = new Rng(0, 0);
    Object.assign(rng, { s0: 1, s1: 2, s2: 3, s3: 4 });
    expect(Array.from({ length: 10 }, () => rng.nextUint32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });

  it('seeds through the reference SplitMix64', () => {
    // splitmix64.c from state 0: first outputs 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4
    const [s1, a] = splitMix64(0n);
    const [, b] = splitMix64(s1);
    expect([a, b]).toEqual([0xe220a8397b1dcdafn, 0x6e789e6aa1b965f4n]);
  });

  it('is a pure function of (seed, stream)', () => {
    const a = new Rng(42, 3);
    const b = new Rng(42, 3);
    const c = new Rng(42, 4);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('draws permutations and normals with the right statistics', () => {
    const rng = new Rng(7);
    const p = rng.permutation(1000);
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    let sum = 0;
    let sq = 0;
    const n = 100000;
    for (let i = 0; i < n; i++) {
      const z = rng.nextNormal();
      sum += z;
      sq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(sq / n).toBeCloseTo(1, 1);
  });

  it('rejects negative or fractional seeds', () => {
    expect(() => new Rng(-1)).toThrow(/seed must be an integer/);
    expect(() => new Rng(1.5)).toThrow(/seed must be an integer/);
  });
});
