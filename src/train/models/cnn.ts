/**
 * CNN model: 1x14x14 -> conv1 16 (k3, s2, p1) -> maxpool 2 -> LeakyReLU(0.01)
 *   -> conv2 8 (k3, s2, p1) -> maxpool 2 -> LeakyReLU -> fc 10, no biases.
 *
 * Shapes: conv1 gives 16x7x7, but maxpool 2 (floor) keeps only the top-left 6x6, so only
 * those 36 positions are computed; pooled 16x3x3. conv2 gives 8x2x2 and each of its outputs
 * sees a 2x2 corner of the padded 3x3 map (the rest is padding); pooled 8x1x1.
 * Backward follows max-pool's rule (gradient to the first maximum, as PyTorch), so only 9 of
 * conv1's positions per channel and 1 of conv2's per channel receive gradient. conv1
 * positions whose 3x3 input patch is all zero (common: most MNIST pixels are 0) are skipped.
 */
import type { ImageSet } from '../../data/imageSet.ts';
import { CNN } from '../../core/architectures.ts';
import type { Model, StepKernel } from './model.ts';
import { WasmStepKernel } from './stepKernel.ts';

const C1 = 16; // conv1 channels
const C2 = 8; // conv2 channels
const OUT = 10;
const P = 16; // padded image side (14 + 2)
const POS1 = 36; // conv1 positions kept by the pool (6x6)
const W2 = C1 * 9; // offset of conv2.weight (144)
const W3 = W2 + C2 * C1 * 9; // offset of fc.weight (1296)
const SLOPE = 0.01;

export class CnnModel implements Model {
  readonly arch = CNN;
  createStepKernel(train: ImageSet, runs: number): StepKernel {
    return new WasmStepKernel('cnn', train, runs);
  }
  private readonly pad = new Float64Array(P * P); // border stays 0
  private readonly z1 = new Float64Array(C1 * POS1);
  private readonly p1 = new Float64Array(C1 * 9);
  private readonly am1 = new Int32Array(C1 * 9);
  private readonly a1 = new Float64Array(C1 * 9);
  private readonly da1 = new Float64Array(C1 * 9);
  private readonly z2 = new Float64Array(C2 * 4);
  private readonly p2 = new Float64Array(C2);
  private readonly am2 = new Int32Array(C2);
  private readonly a2 = new Float64Array(C2);
  private readonly y = new Float64Array(OUT);

  predict(w: Float64Array, o: number, set: ImageSet, s: number, out: Float64Array): void {
    this.forward(w, o, set, s);
    out.set(this.y);
  }

  private forward(w: Float64Array, o: number, set: ImageSet, s: number): void {
    const { pad, z1, p1, am1, a1, z2, p2, am2, a2, y } = this;
    const img = set.images;
    const base = s * 196;
    for (let r = 0; r < 14; r++) {
      const src = base + r * 14;
      const dst = (r + 1) * P + 1;
      for (let c = 0; c < 14; c++) pad[dst + c] = img[src + c];
    }
    // conv1 at the 6x6 positions the pool reads; padded patch of (oy, ox) starts at (2oy, 2ox)
    for (let oy = 0; oy < 6; oy++) {
      for (let ox = 0; ox < 6; ox++) {
        const b = 2 * oy * P + 2 * ox;
        const x0 = pad[b],
          x1 = pad[b + 1],
          x2 = pad[b + 2];
        const x3 = pad[b + P],
          x4 = pad[b + P + 1],
          x5 = pad[b + P + 2];
        const x6 = pad[b + 2 * P],
          x7 = pad[b + 2 * P + 1],
          x8 = pad[b + 2 * P + 2];
        const pos = oy * 6 + ox;
        if (
          x0 === 0 &&
          x1 === 0 &&
          x2 === 0 &&
          x3 === 0 &&
          x4 === 0 &&
          x5 === 0 &&
          x6 === 0 &&
          x7 === 0 &&
          x8 === 0
        ) {
          for (let c = 0; c < C1; c++) z1[c * POS1 + pos] = 0;
          continue;
        }
        for (let c = 0; c < C1; c++) {
          const k = o + c * 9;
          z1[c * POS1 + pos] =
            w[k] * x0 +
            w[k + 1] * x1 +
            w[k + 2] * x2 +
            w[k + 3] * x3 +
            w[k + 4] * x4 +
            w[k + 5] * x5 +
            w[k + 6] * x6 +
            w[k + 7] * x7 +
            w[k + 8] * x8;
        }
      }
    }
    // maxpool 2 -> 3x3, then LeakyReLU
    for (let c = 0; c < C1; c++) {
      for (let r = 0; r < 3; r++) {
        for (let q = 0; q < 3; q++) {
          // window in scan order tl, tl+1, tl+6, tl+7; strict > keeps the first maximum
          const tl = 2 * r * 6 + 2 * q;
          const zb = c * POS1 + tl;
          let best = tl;
          let m = z1[zb];
          if (z1[zb + 1] > m) {
            m = z1[zb + 1];
            best = tl + 1;
          }
          if (z1[zb + 6] > m) {
            m = z1[zb + 6];
            best = tl + 6;
          }
          if (z1[zb + 7] > m) {
            m = z1[zb + 7];
            best = tl + 7;
          }
          const cell = c * 9 + r * 3 + q;
          p1[cell] = m;
          am1[cell] = best;
          a1[cell] = m > 0 ? m : SLOPE * m;
        }
      }
    }
    // conv2: output (oy, ox) reads the 2x2 corner of the 3x3 input that is not padding:
    // (0,0) cells 00 01 10 11 with kernel 11 12 21 22; (0,1) cells 01 02 11 12 with 10 11 20 21;
    // (1,0) cells 10 11 20 21 with 01 02 11 12; (1,1) cells 11 12 21 22 with 00 01 10 11.
    for (let oc = 0; oc < C2; oc++) {
      let z00 = 0,
        z01 = 0,
        z10 = 0,
        z11 = 0;
      for (let c = 0; c < C1; c++) {
        const a = c * 9;
        const x00 = a1[a],
          x01 = a1[a + 1],
          x02 = a1[a + 2];
        const x10 = a1[a + 3],
          x11 = a1[a + 4],
          x12 = a1[a + 5];
        const x20 = a1[a + 6],
          x21 = a1[a + 7],
          x22 = a1[a + 8];
        const k = o + W2 + oc * 144 + a;
        const k00 = w[k],
          k01 = w[k + 1],
          k02 = w[k + 2];
        const k10 = w[k + 3],
          k11 = w[k + 4],
          k12 = w[k + 5];
        const k20 = w[k + 6],
          k21 = w[k + 7],
          k22 = w[k + 8];
        z00 += k11 * x00 + k12 * x01 + k21 * x10 + k22 * x11;
        z01 += k10 * x01 + k11 * x02 + k20 * x11 + k21 * x12;
        z10 += k01 * x10 + k02 * x11 + k11 * x20 + k12 * x21;
        z11 += k00 * x11 + k01 * x12 + k10 * x21 + k11 * x22;
      }
      z2[oc * 4] = z00;
      z2[oc * 4 + 1] = z01;
      z2[oc * 4 + 2] = z10;
      z2[oc * 4 + 3] = z11;
      let best = 0;
      let m = z2[oc * 4];
      for (let i = 1; i < 4; i++) {
        if (z2[oc * 4 + i] > m) {
          m = z2[oc * 4 + i];
          best = i;
        }
      }
      p2[oc] = m;
      am2[oc] = best;
      a2[oc] = m > 0 ? m : SLOPE * m;
    }
    for (let k = 0; k < OUT; k++) {
      const row = o + W3 + k * C2;
      let v = 0;
      for (let i = 0; i < C2; i++) v += w[row + i] * a2[i];
      y[k] = v;
    }
  }

  accumulateGradient(
    w: Float64Array,
    o: number,
    g: Float64Array,
    set: ImageSet,
    s: number,
    scale: number,
  ): number {
    this.forward(w, o, set, s);
    const { pad, p1, am1, a1, da1, p2, am2, a2, y } = this;
    const label = set.labels[s];
    let sse = 0;
    // fc: grad and delta back to the pooled conv2 outputs (through LeakyReLU)
    const dp2 = this.z2; // reuse: z2 is no longer needed
    for (let i = 0; i < C2; i++) dp2[i] = 0;
    for (let k = 0; k < OUT; k++) {
      const diff = y[k] - (k === label ? 1 : 0);
      sse += diff * diff;
      const dk = scale * diff;
      const row = W3 + k * C2;
      for (let i = 0; i < C2; i++) {
        g[row + i] += dk * a2[i];
        dp2[i] += w[o + row + i] * dk;
      }
    }
    // conv2: only the pooled maximum gets gradient
    for (let i = 0; i < da1.length; i++) da1[i] = 0;
    for (let oc = 0; oc < C2; oc++) {
      const d = dp2[oc] * (p2[oc] > 0 ? 1 : SLOPE);
      if (d === 0) continue;
      // the 2x2 window of output (oy, ox) starts at cell 3oy+ox of each 3x3 input map and at
      // kernel element 4-(3oy+ox) (see forward); both windows step by +1, +3, +4
      const tc = 3 * (am2[oc] >> 1) + (am2[oc] & 1);
      for (let c = 0; c < C1; c++) {
        const cell = c * 9 + tc;
        const wk = W2 + oc * 144 + c * 9 + 4 - tc;
        g[wk] += d * a1[cell];
        g[wk + 1] += d * a1[cell + 1];
        g[wk + 3] += d * a1[cell + 3];
        g[wk + 4] += d * a1[cell + 4];
        da1[cell] += w[o + wk] * d;
        da1[cell + 1] += w[o + wk + 1] * d;
        da1[cell + 3] += w[o + wk + 3] * d;
        da1[cell + 4] += w[o + wk + 4] * d;
      }
    }
    // conv1: gradient reaches the maximum of each pooled cell; its padded patch starts at (2oy, 2ox)
    for (let c = 0; c < C1; c++) {
      let g0 = 0,
        g1 = 0,
        g2 = 0,
        g3 = 0,
        g4 = 0,
        g5 = 0,
        g6 = 0,
        g7 = 0,
        g8 = 0;
      for (let cell = c * 9; cell < c * 9 + 9; cell++) {
        const d = da1[cell] * (p1[cell] > 0 ? 1 : SLOPE);
        if (d === 0) continue;
        const pos = am1[cell];
        const oy = (pos / 6) | 0;
        const b = 2 * oy * P + 2 * (pos - 6 * oy);
        g0 += d * pad[b];
        g1 += d * pad[b + 1];
        g2 += d * pad[b + 2];
        g3 += d * pad[b + P];
        g4 += d * pad[b + P + 1];
        g5 += d * pad[b + P + 2];
        g6 += d * pad[b + 2 * P];
        g7 += d * pad[b + 2 * P + 1];
        g8 += d * pad[b + 2 * P + 2];
      }
      const wk = c * 9;
      g[wk] += g0;
      g[wk + 1] += g1;
      g[wk + 2] += g2;
      g[wk + 3] += g3;
      g[wk + 4] += g4;
      g[wk + 5] += g5;
      g[wk + 6] += g6;
      g[wk + 7] += g7;
      g[wk + 8] += g8;
    }
    return sse;
  }
}
