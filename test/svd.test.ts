/** Randomized truncated SVD against ml-matrix's full SVD (an independent, exact reference). */
import { Matrix, SVD } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { TruncatedSVD } from '../src/reduce/svd.ts';
import { matrix } from '../src/core/matrix.ts';
import { readSvdFile, writeSvdFile } from '../src/store/svdFile.ts';
import { Rng } from '../src/core/rng.ts';
import { tempDir } from './helpers.ts';
import { join } from 'node:path';

/** n x d matrix with singular values decaying like 0.7^i (plus noise), as float32. */
function decayingMatrix(n: number, d: number, seed: number): Float32Array {
  const rng = new Rng(seed, 1);
  const r = Math.min(n, d);
  const u = Matrix.from1DArray(
    n,
    r,
    Float64Array.from({ length: n * r }, () => rng.nextNormal()),
  );
  const v = Matrix.from1DArray(
    r,
    d,
    Float64Array.from({ length: r * d }, () => rng.nextNormal()),
  );
  for (let c = 0; c < r; c++) for (let j = 0; j < d; j++) v.set(c, j, v.get(c, j) * 0.7 ** c);
  return Float32Array.from(u.mmul(v).to1DArray());
}

function reference(x: Float32Array, n: number, d: number, center: boolean) {
  const m = Matrix.from1DArray(n, d, Float64Array.from(x));
  if (center) m.subRowVector(m.mean('column'));
  const svd = new SVD(m, { autoTranspose: true });
  return { values: svd.diagonal, v: svd.rightSingularVectors, m };
}

describe('TruncatedSVD', () => {
  it.each([
    { n: 120, d: 80, k: 10, center: false },
    { n: 60, d: 150, k: 5, center: false },
    { n: 100, d: 90, k: 8, center: true },
  ])(
    'matches the full SVD: singular values and subspace within 1e-3 ($n x $d, k=$k, center=$center)',
    ({ n, d, k, center }) => {
      const x = decayingMatrix(n, d, n + d);
      const ref = reference(x, n, d, center);
      const svd = new TruncatedSVD({ components: k, center });
      const coords = svd.fitTransform(matrix(x, n, d));
      for (let c = 0; c < k; c++) {
        expect(Math.abs(svd.singularValues[c] - ref.values[c]) / ref.values[c]).toBeLessThan(1e-3);
        let dot = 0;
        for (let j = 0; j < d; j++) dot += svd.components[c * d + j] * ref.v.get(j, c);
        expect(Math.abs(dot)).toBeGreaterThan(1 - 1e-3); // same direction up to sign
      }
      // fit_transform's U Σ equals projecting the (centred) rows on the components
      const projected = svd.transform(matrix(x, n, d));
      const exact = ref.m.mmul(Matrix.from1DArray(k, d, svd.components).transpose());
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < k; c++) {
          expect(projected[i * k + c]).toBeCloseTo(exact.get(i, c), 3);
          expect(coords[i * k + c]).toBeCloseTo(exact.get(i, c), 2);
        }
      }
    },
  );

  it('is deterministic for a seed and saves/loads its basis exactly', () => {
    const x = decayingMatrix(50, 40, 3);
    const a = new TruncatedSVD({ components: 4, seed: 7, center: true }).fit(matrix(x, 50, 40));
    const b = new TruncatedSVD({ components: 4, seed: 7, center: true }).fit(matrix(x, 50, 40));
    expect(b.components).toEqual(a.components);
    const path = join(tempDir(), 'svd-4.arrow');
    writeSvdFile(path, a.basis);
    const loaded = TruncatedSVD.fromBasis(readSvdFile(path));
    expect(loaded.components).toEqual(a.components);
    expect(loaded.singularValues).toEqual(a.singularValues);
    expect(loaded.mean).toEqual(a.mean);
    expect(loaded.transform(matrix(x, 50, 40))).toEqual(a.transform(matrix(x, 50, 40)));
  });

  it('gives the same basis and coordinates bit for bit with one thread or two', () => {
    const [n, d] = [1100, 60]; // three blocks of rows in X^T Q: the helper takes one
    const x = decayingMatrix(n, d, 5);
    const one = new TruncatedSVD({ components: 6, threads: 1 });
    const two = new TruncatedSVD({ components: 6, threads: 2 });
    expect(two.fitTransform(matrix(x, n, d))).toEqual(one.fitTransform(matrix(x, n, d)));
    expect(two.components).toEqual(one.components);
    const four = new TruncatedSVD({ components: 6, threads: 4 }); // more threads than blocks of rows
    expect(four.fitTransform(matrix(x, n, d))).toEqual(one.fitTransform(matrix(x, n, d)));
  });

  it('refuses k larger than the matrix allows', () => {
    expect(() => new TruncatedSVD({ components: 30 }).fit(matrix(new Float32Array(20 * 10), 20, 10))).toThrow(
      /SVD-30 needs at least 30 checkpoints and 30 weights; this zoo has 20 x 10/,
    );
    expect(() => new TruncatedSVD({ components: 0 })).toThrow(/positive integer/);
  });
});
