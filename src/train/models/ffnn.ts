/**
 * FFNN model: 196 -> fc1 10 -> sigmoid -> fc2 10 -> sigmoid -> fc3 10, no biases,
 * forward and backward for one sample in float64.
 *
 * The first layer reads only the image's non-zero pixels (ImageSet's CSR copy): the
 * result is bit-identical to the dense sum, since adding w * 0 changes nothing.
 */
import type { ImageSet } from '../../data/imageSet.ts';
import { FFNN } from '../../core/architectures.ts';
import type { Model, StepKernel } from './model.ts';
import { WasmStepKernel } from './stepKernel.ts';

const IN = 196;
const H = 10; // the unrolled loops below spell out H = 10 and IN = 196
const OUT = 10;
const W2 = IN * H; // offset of fc2.weight
const W3 = W2 + H * H; // offset of fc3.weight

export class FfnnModel implements Model {
  readonly arch = FFNN;
  createStepKernel(train: ImageSet, runs: number): StepKernel {
    return new WasmStepKernel('ffnn', train, runs);
  }
  private readonly a1 = new Float64Array(H);
  private readonly a2 = new Float64Array(H);
  private readonly d1 = new Float64Array(H);
  private readonly d2 = new Float64Array(H);
  private readonly d3 = new Float64Array(OUT);

  predict(w: Float64Array, o: number, set: ImageSet, s: number, out: Float64Array): void {
    const { a1, a2 } = this;
    const idx = set.nzPixel;
    const val = set.nzValue;
    const k1 = set.nzStart[s + 1];
    // pixel-outer with ten independent sums: each pixel index and value is loaded once
    let z0 = 0,
      z1 = 0,
      z2 = 0,
      z3 = 0,
      z4 = 0,
      z5 = 0,
      z6 = 0,
      z7 = 0,
      z8 = 0,
      z9 = 0;
    for (let k = set.nzStart[s]; k < k1; k++) {
      const p = o + idx[k];
      const x = val[k];
      z0 += w[p] * x;
      z1 += w[p + 196] * x;
      z2 += w[p + 392] * x;
      z3 += w[p + 588] * x;
      z4 += w[p + 784] * x;
      z5 += w[p + 980] * x;
      z6 += w[p + 1176] * x;
      z7 += w[p + 1372] * x;
      z8 += w[p + 1568] * x;
      z9 += w[p + 1764] * x;
    }
    a1[0] = sigmoid(z0);
    a1[1] = sigmoid(z1);
    a1[2] = sigmoid(z2);
    a1[3] = sigmoid(z3);
    a1[4] = sigmoid(z4);
    a1[5] = sigmoid(z5);
    a1[6] = sigmoid(z6);
    a1[7] = sigmoid(z7);
    a1[8] = sigmoid(z8);
    a1[9] = sigmoid(z9);
    affine10(w, o + W2, a1, a2);
    for (let j = 0; j < H; j++) a2[j] = sigmoid(a2[j]);
    affine10(w, o + W3, a2, out);
  }

  accumulateGradient(
    w: Float64Array,
    o: number,
    g: Float64Array,
    set: ImageSet,
    s: number,
    scale: number,
  ): number {
    const { a1, a2, d1, d2, d3 } = this;
    this.predict(w, o, set, s, d3); // d3 holds the outputs until turned into deltas below
    const label = set.labels[s];
    let sse = 0;
    for (let c = 0; c < OUT; c++) {
      const diff = d3[c] - (c === label ? 1 : 0);
      sse += diff * diff;
      d3[c] = scale * diff;
    }
    // fc3 then fc2: weight gradients and deltas back through the sigmoids
    backward10(w, o + W3, g, W3, d3, a2, d2);
    for (let i = 0; i < H; i++) d2[i] *= a2[i] * (1 - a2[i]);
    backward10(w, o + W2, g, W2, d2, a1, d1);
    for (let j = 0; j < H; j++) d1[j] *= a1[j] * (1 - a1[j]);
    const e0 = d1[0],
      e1 = d1[1],
      e2 = d1[2],
      e3 = d1[3],
      e4 = d1[4];
    const e5 = d1[5],
      e6 = d1[6],
      e7 = d1[7],
      e8 = d1[8],
      e9 = d1[9];
    const idx = set.nzPixel;
    const val = set.nzValue;
    const k1 = set.nzStart[s + 1];
    for (let k = set.nzStart[s]; k < k1; k++) {
      const p = idx[k];
      const x = val[k];
      g[p] += e0 * x;
      g[p + 196] += e1 * x;
      g[p + 392] += e2 * x;
      g[p + 588] += e3 * x;
      g[p + 784] += e4 * x;
      g[p + 980] += e5 * x;
      g[p + 1176] += e6 * x;
      g[p + 1372] += e7 * x;
      g[p + 1568] += e8 * x;
      g[p + 1764] += e9 * x;
    }
    return sse;
  }
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** out = W x for a 10x10 row-major W at w[off..]; x is read once into locals. */
function affine10(w: Float64Array, off: number, x: Float64Array, out: Float64Array): void {
  const x0 = x[0],
    x1 = x[1],
    x2 = x[2],
    x3 = x[3],
    x4 = x[4],
    x5 = x[5],
    x6 = x[6],
    x7 = x[7],
    x8 = x[8],
    x9 = x[9];
  for (let j = 0; j < 10; j++) {
    const r = off + 10 * j;
    out[j] =
      w[r] * x0 +
      w[r + 1] * x1 +
      w[r + 2] * x2 +
      w[r + 3] * x3 +
      w[r + 4] * x4 +
      w[r + 5] * x5 +
      w[r + 6] * x6 +
      w[r + 7] * x7 +
      w[r + 8] * x8 +
      w[r + 9] * x9;
  }
}

/**
 * Backward of y = W x for a 10x10 W at w[wOff..]: g[gOff..] += dy x^T and dx = W^T dy.
 */
function backward10(
  w: Float64Array,
  wOff: number,
  g: Float64Array,
  gOff: number,
  dy: Float64Array,
  x: Float64Array,
  dx: Float64Array,
): void {
  const x0 = x[0],
    x1 = x[1],
    x2 = x[2],
    x3 = x[3],
    x4 = x[4],
    x5 = x[5],
    x6 = x[6],
    x7 = x[7],
    x8 = x[8],
    x9 = x[9];
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0,
    s4 = 0,
    s5 = 0,
    s6 = 0,
    s7 = 0,
    s8 = 0,
    s9 = 0;
  for (let j = 0; j < 10; j++) {
    const d = dy[j];
    const r = wOff + 10 * j;
    const q = gOff + 10 * j;
    g[q] += d * x0;
    g[q + 1] += d * x1;
    g[q + 2] += d * x2;
    g[q + 3] += d * x3;
    g[q + 4] += d * x4;
    g[q + 5] += d * x5;
    g[q + 6] += d * x6;
    g[q + 7] += d * x7;
    g[q + 8] += d * x8;
    g[q + 9] += d * x9;
    s0 += w[r] * d;
    s1 += w[r + 1] * d;
    s2 += w[r + 2] * d;
    s3 += w[r + 3] * d;
    s4 += w[r + 4] * d;
    s5 += w[r + 5] * d;
    s6 += w[r + 6] * d;
    s7 += w[r + 7] * d;
    s8 += w[r + 8] * d;
    s9 += w[r + 9] * d;
  }
  dx[0] = s0;
  dx[1] = s1;
  dx[2] = s2;
  dx[3] = s3;
  dx[4] = s4;
  dx[5] = s5;
  dx[6] = s6;
  dx[7] = s7;
  dx[8] = s8;
  dx[9] = s9;
}
