/** The committed WebAssembly kernels are exactly what kernels.wat assembles to. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { assembleKernels, kernelsModuleSource } from '../scripts/buildWasm.ts';
import { KERNELS_WASM_BASE64 } from '../src/simd/kernels.wasm.ts';
import { SimdProducts } from '../src/reduce/simdProducts.ts';
import { matrix } from '../src/core/matrix.ts';
import { simdKernels } from '../src/simd/kernels.ts';

describe('SIMD kernels', () => {
  it('kernels.wasm.ts matches kernels.wat (run `npm run build:wasm` after editing the .wat)', async () => {
    expect(Buffer.from(await assembleKernels()).toString('base64')).toBe(KERNELS_WASM_BASE64);
    // the kernels' signatures too, which the rest of the code reads from there
    expect(readFileSync(new URL('../src/simd/kernels.wasm.ts', import.meta.url), 'utf8')).toBe(
      await kernelsModuleSource(),
    );
  });

  it('compute X v within the float32 rounding bound identify relies on, the same with one thread or two', () => {
    const n = 1001,
      d = 603; // odd sizes: padding of rows and of the two threads' halves
    const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.3) * (1 + (i % 7)));
    const v = Float64Array.from({ length: d }, (_, j) => Math.cos(j * 0.7) / 3);
    const one = new SimdProducts(matrix(x, n, d)).timesVector(v);
    const twoThreads = new SimdProducts(matrix(x, n, d), { threads: 2, idle: 'sleep' });
    const two = twoThreads.timesVector(v);
    twoThreads.close();
    expect(two).toEqual(one);
    const threeThreads = new SimdProducts(matrix(x, n, d), { threads: 3, idle: 'sleep' });
    expect(threeThreads.timesVector(v)).toEqual(one);
    threeThreads.close();
    const vNorm = Math.hypot(...v);
    for (let i = 0; i < n; i++) {
      let s = 0,
        xx = 0;
      for (let j = 0; j < d; j++) [s, xx] = [s + x[i * d + j] * v[j], xx + x[i * d + j] ** 2];
      // |fl(x . v) - x . v| <= (d + 2) u |x| |v| (trajectory.ts, FLOAT32_ROUNDOFF)
      expect(Math.abs(one[i] - s)).toBeLessThanOrEqual((d + 2) * 2 ** -24 * Math.sqrt(xx) * vNorm);
    }
  });

  it('take their arguments by name (tsc checks the lines marked below)', () => {
    const kernels = simdKernels();
    const positional = () =>
      // @ts-expect-error a positional argument list is refused: each argument is named
      kernels.run('xv', [0, 0, 16, 0, 0]);
    const misnamed = () =>
      // @ts-expect-error 'rows' is not one of xv's arguments (n is)
      kernels.run('xv', { x: 0, rows: 0, rowBytes: 16, v: 0, y: 0 });
    expect([typeof positional, typeof misnamed]).toEqual(['function', 'function']);
    kernels.run('xv', { x: 64, n: 0, rowBytes: 16, v: 64, y: 64 }); // no rows: nothing to do
  });

  it('compute X B and X^T Q like plain float64 loops (odd sizes, padding)', () => {
    const n = 37,
      d = 23,
      l = 6;
    const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.3));
    const bt = Float64Array.from({ length: l * d }, (_, i) => Math.cos(i * 0.7));
    const q = Float64Array.from({ length: n * l }, (_, i) => Math.sin(i * 0.31));
    const p = new SimdProducts(matrix(x, n, d), { maxColumns: l });
    const y = p.times(bt, l);
    const zt = p.transposedTimes(q, l);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < l; c++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[i * d + j] * bt[c * d + j];
        expect(y[i * l + c]).toBeCloseTo(s, 4);
      }
    for (let c = 0; c < l; c++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += q[i * l + c] * x[i * d + j];
        expect(zt[c * d + j]).toBeCloseTo(s, 4);
      }
  });
});
