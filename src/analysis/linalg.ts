/**
 * Dense kernels for tall-skinny products with a zoo matrix X (n x d, float32, row-major):
 * Y = X B and Z = X^T Q, with B and Q thin (d x l, n x l). Register-blocked so each loaded
 * value feeds several multiply-adds (V8 emits scalar code, so this is where speed comes from).
 */

/** Y (n x l, row-major float64) = X (n x d) * B, where `bt` holds B transposed (l x d, row-major). */
export function multiplyByTransposed(x: Float32Array, n: number, d: number, bt: Float64Array, l: number, rowStart = 0, rowEnd = n, y = new Float64Array(n * l)): Float64Array {
  let i = rowStart;
  for (; i + 1 < rowEnd; i += 2) {
    const x0 = i * d;
    const x1 = x0 + d;
    let c = 0;
    for (; c + 3 < l; c += 4) {
      const o0 = c * d, o1 = o0 + d, o2 = o1 + d, o3 = o2 + d;
      let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
      for (let j = 0; j < d; j++) {
        const u = x[x0 + j];
        const v = x[x1 + j];
        const w0 = bt[o0 + j], w1 = bt[o1 + j], w2 = bt[o2 + j], w3 = bt[o3 + j];
        a00 += u * w0; a01 += u * w1; a02 += u * w2; a03 += u * w3;
        a10 += v * w0; a11 += v * w1; a12 += v * w2; a13 += v * w3;
      }
      const y0 = i * l + c;
      const y1 = y0 + l;
      y[y0] = a00; y[y0 + 1] = a01; y[y0 + 2] = a02; y[y0 + 3] = a03;
      y[y1] = a10; y[y1 + 1] = a11; y[y1 + 2] = a12; y[y1 + 3] = a13;
    }
    for (; c < l; c++) {
      let a0 = 0, a1 = 0;
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
 * Z^T (l x d, row-major float64) += Q^T X over rows rowStart..rowEnd: Z^T[c] += sum_i Q[i][c] X[i].
 * Four rows of X per pass, so each load/store of Z^T carries four multiply-adds.
 */
export function transposedMultiply(x: Float32Array, d: number, q: Float64Array, l: number, rowStart: number, rowEnd: number, zt: Float64Array): Float64Array {
  let i = rowStart;
  for (; i + 3 < rowEnd; i += 4) {
    const x0 = i * d, x1 = x0 + d, x2 = x1 + d, x3 = x2 + d;
    for (let c = 0; c < l; c++) {
      const q0 = q[i * l + c], q1 = q[(i + 1) * l + c], q2 = q[(i + 2) * l + c], q3 = q[(i + 3) * l + c];
      const z = c * d;
      for (let j = 0; j < d; j++) zt[z + j] += q0 * x[x0 + j] + q1 * x[x1 + j] + q2 * x[x2 + j] + q3 * x[x3 + j];
    }
  }
  for (; i < rowEnd; i++) {
    for (let c = 0; c < l; c++) {
      const qi = q[i * l + c];
      const z = c * d;
      for (let j = 0; j < d; j++) zt[z + j] += qi * x[i * d + j];
    }
  }
  return zt;
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
        let dot = 0;
        for (let i = 0; i < m; i++) dot += a[op + i] * a[oc + i];
        for (let i = 0; i < m; i++) a[oc + i] -= dot * a[op + i];
      }
      let norm = 0;
      for (let i = 0; i < m; i++) norm += a[oc + i] * a[oc + i];
      const inv = norm > 1e-300 ? 1 / Math.sqrt(norm) : 0;
      for (let i = 0; i < m; i++) a[oc + i] *= inv;
    }
  }
}

/** Transpose of a rows x cols row-major matrix. */
export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}
