/**
 * FFNN kernel: 196 -> fc1 10 -> sigmoid -> fc2 10 -> sigmoid -> fc3 10, no biases,
 * forward and backward for one sample in float64.
 *
 * The first layer reads only the image's non-zero pixels (ImageSet's CSR copy): the
 * result is bit-identical to the dense sum, since adding w * 0 changes nothing.
 */
import type { ImageSet } from '../data/imageSet.ts';
import { FFNN } from './architectures.ts';
import type { Kernel } from './kernel.ts';

const IN = 196;
const H = 10; // the unrolled loops below spell out H = 10 and IN = 196
const OUT = 10;
const W2 = IN * H; // offset of fc2.weight
const W3 = W2 + H * H; // offset of fc3.weight

export class FfnnKernel implements Kernel {
  readonly arch = FFNN;
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
    let z0 = 0, z1 = 0, z2 = 0, z3 = 0, z4 = 0, z5 = 0, z6 = 0, z7 = 0, z8 = 0, z9 = 0;
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
    for (let j = 0; j < H; j++) {
      const row = o + W2 + j * H;
      let z = 0;
      for (let i = 0; i < H; i++) z += w[row + i] * a1[i];
      a2[j] = sigmoid(z);
    }
    for (let c = 0; c < OUT; c++) {
      const row = o + W3 + c * H;
      let y = 0;
      for (let i = 0; i < H; i++) y += w[row + i] * a2[i];
      out[c] = y;
    }
  }

  accumulateGradient(w: Float64Array, o: number, g: Float64Array, set: ImageSet, s: number, scale: number): number {
    const { a1, a2, d1, d2, d3 } = this;
    this.predict(w, o, set, s, d3); // d3 holds the outputs until turned into deltas below
    const label = set.labels[s];
    let sse = 0;
    for (let c = 0; c < OUT; c++) {
      const diff = d3[c] - (c === label ? 1 : 0);
      sse += diff * diff;
      d3[c] = scale * diff;
    }
    // fc3: grad and delta back to a2
    for (let i = 0; i < H; i++) d2[i] = 0;
    for (let c = 0; c < OUT; c++) {
      const row = W3 + c * H;
      const dc = d3[c];
      for (let i = 0; i < H; i++) {
        g[row + i] += dc * a2[i];
        d2[i] += w[o + row + i] * dc;
      }
    }
    for (let i = 0; i < H; i++) d2[i] *= a2[i] * (1 - a2[i]);
    // fc2
    for (let i = 0; i < H; i++) d1[i] = 0;
    for (let j = 0; j < H; j++) {
      const row = W2 + j * H;
      const dj = d2[j];
      for (let i = 0; i < H; i++) {
        g[row + i] += dj * a1[i];
        d1[i] += w[o + row + i] * dj;
      }
    }
    // fc1: only the non-zero pixels have a non-zero gradient
    for (let j = 0; j < H; j++) d1[j] *= a1[j] * (1 - a1[j]);
    const e0 = d1[0], e1 = d1[1], e2 = d1[2], e3 = d1[3], e4 = d1[4];
    const e5 = d1[5], e6 = d1[6], e7 = d1[7], e8 = d1[8], e9 = d1[9];
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
