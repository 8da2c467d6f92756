/**
 * Distances and dot products between rows of row-major matrices, the one place for these
 * loops. Sums run in float64 in a fixed order, so a result never depends on who asks.
 * (The SIMD kernels and the two hot loops specialised to one pair of element types,
 * trajectory.ts's dotRow and linalg.ts's dotRows, are the exceptions, each for speed.)
 */
type Values = Float32Array | Float64Array;

/** |a[ao..ao+d) - b[bo..bo+d)|^2, summed in index order. */
export function squaredDistance(a: Values, ao: number, b: Values, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (a[ao + j] - b[bo + j]) ** 2;
  return s;
}

/** Euclidean distance between rows i and j of x (n x d). */
export const rowDistance = (x: Values, i: number, j: number, d: number): number =>
  Math.sqrt(squaredDistance(x, i * d, x, j * d, d));

/** a[ao..ao+d) . b[bo..bo+d) with two running sums (even and odd indices). */
export function dot(a: Values, ao: number, b: Values, bo: number, d: number): number {
  let s0 = 0,
    s1 = 0;
  let j = 0;
  for (; j + 1 < d; j += 2) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
  }
  if (j < d) s0 += a[ao + j] * b[bo + j];
  return s0 + s1;
}
