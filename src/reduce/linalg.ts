/**
 * Dense linear algebra of the truncated SVD: a plain-JavaScript X B (for projecting new
 * rows), Gram-Schmidt and CholeskyQR2 orthonormalisation.
 */
import { copyRows, reserve, simdKernels } from '../simd/kernels.ts';

/** Y (n x l, row-major float64) = X (n x d) * B, where `bt` holds B transposed (l x d, row-major). */
export function multiplyByTransposed(
  x: Float32Array | Float64Array,
  n: number,
  d: number,
  bt: Float64Array,
  l: number,
  rowStart = 0,
  rowEnd = n,
  y = new Float64Array(n * l),
): Float64Array {
  let i = rowStart;
  for (; i + 1 < rowEnd; i += 2) {
    const x0 = i * d;
    const x1 = x0 + d;
    let c = 0;
    for (; c + 3 < l; c += 4) {
      const o0 = c * d,
        o1 = o0 + d,
        o2 = o1 + d,
        o3 = o2 + d;
      let a00 = 0,
        a01 = 0,
        a02 = 0,
        a03 = 0,
        a10 = 0,
        a11 = 0,
        a12 = 0,
        a13 = 0;
      for (let j = 0; j < d; j++) {
        const u = x[x0 + j];
        const v = x[x1 + j];
        const w0 = bt[o0 + j],
          w1 = bt[o1 + j],
          w2 = bt[o2 + j],
          w3 = bt[o3 + j];
        a00 += u * w0;
        a01 += u * w1;
        a02 += u * w2;
        a03 += u * w3;
        a10 += v * w0;
        a11 += v * w1;
        a12 += v * w2;
        a13 += v * w3;
      }
      const y0 = i * l + c;
      const y1 = y0 + l;
      y[y0] = a00;
      y[y0 + 1] = a01;
      y[y0 + 2] = a02;
      y[y0 + 3] = a03;
      y[y1] = a10;
      y[y1 + 1] = a11;
      y[y1 + 2] = a12;
      y[y1 + 3] = a13;
    }
    for (; c < l; c++) {
      let a0 = 0,
        a1 = 0;
      for (let j = 0; j < d; j++) {
        a0 += x[x0 + j] * bt[c * d + j];
        a1 += x[x1 + j] * bt[c * d + j];
      }
      y[i * l + c] = a0;
      y[(i + 1) * l + c] = a1;
    }
  }
  for (; i < rowEnd; i++) {
    for (let c = 0; c < l; c++) {
      let a = 0;
      for (let j = 0; j < d; j++) a += x[i * d + j] * bt[c * d + j];
      y[i * l + c] = a;
    }
  }
  return y;
}

/**
 * Orthonormalises the l rows of A (l x m, row-major) in place by modified Gram-Schmidt, run
 * twice ("twice is enough", Giraud et al. 2005) for orthogonality to machine precision.
 * Rows that vanish (rank deficiency) become zero.
 */
export function orthonormalizeRows(a: Float64Array, l: number, m: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < l; c++) {
      const oc = c * m;
      for (let p = 0; p < c; p++) {
        const op = p * m;
        const dot = dotRows(a, op, oc, m);
        for (let i = 0; i < m; i++) a[oc + i] -= dot * a[op + i];
      }
      const norm = dotRows(a, oc, oc, m);
      const inv = norm > 1e-300 ? 1 / Math.sqrt(norm) : 0;
      for (let i = 0; i < m; i++) a[oc + i] *= inv;
    }
  }
}

/** a[p..p+m) . a[q..q+m) with four independent sums (a single running sum is latency-bound). */
function dotRows(a: Float64Array, p: number, q: number, m: number): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  let i = 0;
  for (; i + 3 < m; i += 4) {
    s0 += a[p + i] * a[q + i];
    s1 += a[p + i + 1] * a[q + i + 1];
    s2 += a[p + i + 2] * a[q + i + 2];
    s3 += a[p + i + 3] * a[q + i + 3];
  }
  for (; i < m; i++) s0 += a[p + i] * a[q + i];
  return s0 + s1 + (s2 + s3);
}

/** Transpose of a rows x cols row-major matrix. */
export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  transposeInto(a, rows, cols, cols, t, rows);
  return t;
}

/**
 * dst[j * dstRow + i] = src[i * srcRow + j] for i < rows, j < cols, in tiles of rows so the
 * strided side stays in cache (a long factor would otherwise be swept once per column).
 */
export function transposeInto(
  src: Float64Array,
  rows: number,
  cols: number,
  srcRow: number,
  dst: Float64Array,
  dstRow: number,
): void {
  const TILE = 64;
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) dst[j * dstRow + i] = src[i * srcRow + j];
    }
  }
}

/**
 * Orthonormalises the l columns of Y (n x l, row-major) in place by CholeskyQR2 (Fukaya et
 * al. 2014): G = Y^T Y, G = R^T R, Y <- Y R^-1, done twice for orthogonality to machine
 * precision. Four times fewer operations than Gram-Schmidt. The Gram matrix and the solve
 * run in the float64 SIMD kernels gram and trsm of kernels.wat; the l x l Cholesky
 * factorisation stays here. With `rows`, Y is given as its transpose (l x n: the vectors are
 * its rows), the layout of the SVD's long factors. Returns false, leaving Y unchanged, when
 * Y is (numerically) rank deficient.
 */
export function choleskyQR2(
  y: Float64Array,
  n: number,
  l: number,
  layout: 'columns' | 'rows' = 'columns',
): boolean {
  const { kernels, at, ym, lp, nPad } = intoColumns(y, n, l, layout);
  const g = new Float64Array(kernels.memory.buffer, at.g, l * lp);
  const rt = new Float64Array(kernels.memory.buffer, at.rt, l * lp); // row a: column a of R above the diagonal
  const inv = new Float64Array(kernels.memory.buffer, at.inv, l);
  for (let pass = 0; pass < 2; pass++) {
    g.fill(0);
    kernels.run('gram', { y: at.y, r0: 0, r1: nPad, lp, l, g: at.g });
    // G = R^T R with R upper triangular: rt[a][p] = R[p][a]
    rt.fill(0);
    for (let a = 0; a < l; a++) {
      let diag = g[a * lp + a];
      for (let p = 0; p < a; p++) diag -= rt[a * lp + p] ** 2;
      if (!(diag > 1e-13 * (g[0] || 1))) return false;
      const root = Math.sqrt(diag);
      inv[a] = 1 / root;
      for (let b = a + 1; b < l; b++) {
        let v = g[a * lp + b];
        for (let p = 0; p < a; p++) v -= rt[a * lp + p] * rt[b * lp + p];
        rt[b * lp + a] = v / root;
      }
    }
    kernels.run('trsm', { y: at.y, r0: 0, r1: nPad, lp, l, rt: at.rt, inv: at.inv });
  }
  if (layout === 'columns') copyRows(ym, lp, y, l, n, l);
  else transposeInto(ym, n, l, lp, y, n);
  return true;
}

/**
 * For A (l x m, row-major, e.g. the SVD's B = Q^T X): its Gram matrix A A^T (l x l), handed to
 * `choose`, which returns a W (l x k) from it; then W^T A (k x m, row-major). Both products run
 * in the float64 SIMD kernels (gram, yw) on one copy of A.
 */
const YW_ROWS = 4096; // rows of W^T A's transpose computed at a time

export function gramThenProject(
  a: Float64Array,
  l: number,
  m: number,
  choose: (gram: Float64Array) => { w: Float64Array; k: number },
): Float64Array {
  const lp = l + (l & 1); // k <= l, so W and W^T A's rows fit in lp columns
  const { kernels, at, nPad } = intoColumns(a, m, l, 'rows', { w: l * lp * 8, out: YW_ROWS * lp * 8 });
  const g = new Float64Array(kernels.memory.buffer, at.g, l * lp);
  kernels.run('gram', { y: at.y, r0: 0, r1: nPad, lp, l, g: at.g });
  const gram = new Float64Array(l * l);
  for (let i = 0; i < l; i++) for (let j = i; j < l; j++) gram[i * l + j] = gram[j * l + i] = g[i * lp + j];
  const { w, k } = choose(gram);
  const kp = k + (k & 1);
  const wm = new Float64Array(kernels.memory.buffer, at.w, l * kp);
  copyRows(w, k, wm, kp, l, k);
  const out = new Float64Array(k * m);
  const part = new Float64Array(kernels.memory.buffer, at.out, YW_ROWS * kp);
  for (let r0 = 0; r0 < m; r0 += YW_ROWS) {
    const rows = Math.min(YW_ROWS, m - r0);
    kernels.run('yw', { y: at.y + r0 * lp * 8, r0: 0, r1: rows, lp, l, w: at.w, kp, out: at.out });
    transposeInto(part, rows, k, kp, out.subarray(r0), m);
  }
  return out;
}

/**
 * Y (n x l, given row-major or as its l x n transpose) copied into a fresh kernels memory as
 * n rows of lp = l rounded up to even float64 (rows padded to a multiple of 4 with zeros, which
 * add nothing to a Gram matrix), with room for the l x lp Gram matrix, CholeskyQR's R and
 * inverse diagonal, and the `extra` regions (bytes).
 */
function intoColumns<E extends string = never>(
  y: Float64Array,
  n: number,
  l: number,
  layout: 'columns' | 'rows',
  extra = {} as Record<E, number>,
) {
  const lp = l + (l & 1);
  const nPad = Math.ceil(n / 4) * 4;
  const kernels = simdKernels();
  const at = reserve(kernels, { y: nPad * lp * 8, g: l * lp * 8, rt: l * lp * 8, inv: l * 8, ...extra });
  const ym = new Float64Array(kernels.memory.buffer, at.y, nPad * lp);
  if (layout === 'columns') copyRows(y, l, ym, lp, n, l);
  else transposeInto(y, l, n, n, ym, lp);
  return { kernels, at, ym, lp, nPad };
}
