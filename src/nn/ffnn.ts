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
const H = 10;
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
    const k0 = set.nzStart[s];
    const k1 = set.nzStart[s + 1];
    for (let j = 0; j < H; j++) {
      const row = o + j * IN;
      let z = 0;
      for (let k = k0; k < k1; k++) z += w[row + idx[k]] * val[k];
      a1[j] = 1 / (1 + Math.exp(-z));
    }
    for (let j = 0; j < H; j++) {
      const row = o + W2 + j * H;
      let z = 0;
      for (let i = 0; i < H; i++) z += w[row + i] * a1[i];
      a2[j] = 1 / (1 + Math.exp(-z));
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
    const idx = set.nzPixel;
    const val = set.nzValue;
    const k0 = set.nzStart[s];
    const k1 = set.nzStart[s + 1];
    for (let j = 0; j < H; j++) {
      const dj = d1[j] * a1[j] * (1 - a1[j]);
      const row = j * IN;
      for (let k = k0; k < k1; k++) g[row + idx[k]] += dj * val[k];
    }
    return sse;
  }
}
