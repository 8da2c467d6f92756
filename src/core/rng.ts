/**
 * Seeded random numbers for everything a run does (initialisation, data order).
 *
 * Generator: xoshiro128** 1.0 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c),
 * 32-bit arithmetic only, so it is fast in JavaScript and identical on every platform.
 * Seeding: SplitMix64 (the seeding method its authors recommend) over the 64-bit key
 * `seed << 32 | stream`. Every (seed, stream) pair is an independent stream, so a run's
 * epoch-e permutation is a pure function of (seed, e): resuming needs no saved RNG state.
 */

/** Stream ids: 0 draws the initial weights; stream e draws the data order of epoch e (epochs count from 1). */
export const INIT_STREAM = 0;
export const epochStream = (epoch: number): number => epoch;

const MASK64 = (1n << 64n) - 1n;

export function splitMix64(state: bigint): [next: bigint, output: bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [next, z ^ (z >> 31n)];
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number, stream = 0) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
    }
    if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) {
      throw new RangeError(`stream must be an integer in [0, 2^32), got ${stream}`);
    }
    let state = (BigInt(seed) << 32n) | BigInt(stream);
    let a: bigint, b: bigint;
    [state, a] = splitMix64(state);
    [state, b] = splitMix64(state);
    this.s0 = Number(a & 0xffffffffn) | 0;
    this.s1 = Number(a >> 32n) | 0;
    this.s2 = Number(b & 0xffffffffn) | 0;
    this.s3 = Number(b >> 32n) | 0;
    // All-zero state is the one forbidden state of xoshiro; SplitMix64 never yields two zero words in practice.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * The four state words, for a kernel that continues the same sequence of nextUint32 draws
   * elsewhere (WebAssembly); `loadState` takes them back afterwards.
   */
  saveState(into: Int32Array): void {
    [into[0], into[1], into[2], into[3]] = [this.s0, this.s1, this.s2, this.s3];
  }

  loadState(from: Int32Array): void {
    [this.s0, this.s1, this.s2, this.s3] = [from[0], from[1], from[2], from[3]];
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Unbiased integer in [0, n) by rejection (no modulo bias). */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= 0x100000000)) throw new RangeError(`range must be in [1, 2^32], got ${n}`);
    const threshold = (0x100000000 - n) % n;
    for (;;) {
      const x = this.nextUint32();
      if (x >= threshold) return x % n;
    }
  }

  /** Standard normal by the Box-Muller transform; both values of a pair are used. */
  nextNormal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const u1 = 1 - this.nextFloat(); // (0, 1]: log never sees 0
    const u2 = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
