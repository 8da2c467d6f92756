/**
 * The FFNN's training steps in WebAssembly (simd/kernels.wat `ffnnSteps`): forward, backward
 * and the SGD update of one model for a block of steps in one call, two hidden units per
 * f64x2 instruction. The kernel keeps each run's weights and momentum input-major (fc1 as
 * [pixel][unit], so that a pixel's 10 weights are contiguous), converted from and back to the
 * PyTorch layout of the training state once per epoch.
 *
 * Its sigmoid computes e^x by a series (exp2x), not Math.exp: results agree with the
 * JavaScript model (ffnn.ts, which evaluation uses) to about 1e-14, not bit for bit.
 */
import type { ImageSet } from '../../data/imageSet.ts';
import { FFNN } from '../../core/architectures.ts';
import { reserve, simdKernels, type SimdKernels } from '../../simd/kernels.ts';
import type { StepKernel } from './model.ts';

const P = FFNN.size;
const [FC1, FC2, FC3] = FFNN.params.map((p) => p.offset);
/** Scratch the kernel needs for one sample (activations and errors). */
const TMP_BYTES = 240;

export class FfnnKernel implements StepKernel {
  private readonly kernels: SimdKernels;
  private readonly at: Record<
    'nzStart' | 'nzPixel' | 'nzValue' | 'labels' | 'w' | 'v' | 'g' | 'perm' | 'tmp',
    number
  >;
  private readonly n: number;

  constructor(train: ImageSet, runs: number) {
    this.n = train.n;
    const nnz = train.nzStart[train.n];
    this.kernels = simdKernels();
    this.at = reserve(this.kernels, {
      nzStart: 4 * (train.n + 1),
      nzPixel: nnz,
      nzValue: 4 * nnz,
      labels: train.n,
      w: 8 * P * runs,
      v: 8 * P * runs,
      g: 8 * P,
      perm: 4 * train.n * runs,
      tmp: TMP_BYTES,
    });
    const buffer = this.kernels.memory.buffer;
    new Int32Array(buffer, this.at.nzStart, train.n + 1).set(train.nzStart.subarray(0, train.n + 1));
    new Uint8Array(buffer, this.at.nzPixel, nnz).set(train.nzPixel.subarray(0, nnz));
    new Float32Array(buffer, this.at.nzValue, nnz).set(train.nzValue.subarray(0, nnz));
    new Uint8Array(buffer, this.at.labels, train.n).set(train.labels.subarray(0, train.n));
  }

  private f64(offset: number, length: number): Float64Array {
    return new Float64Array(this.kernels.memory.buffer, offset, length);
  }

  load(run: number, w: Float64Array, v: Float64Array, o: number): void {
    toKernelLayout(w, o, this.f64(this.at.w + 8 * P * run, P));
    toKernelLayout(v, o, this.f64(this.at.v + 8 * P * run, P));
  }

  store(run: number, w: Float64Array, v: Float64Array, o: number): void {
    fromKernelLayout(this.f64(this.at.w + 8 * P * run, P), w, o);
    fromKernelLayout(this.f64(this.at.v + 8 * P * run, P), v, o);
  }

  setOrder(run: number, order: Int32Array): void {
    new Int32Array(this.kernels.memory.buffer, this.at.perm + 4 * this.n * run, this.n).set(order);
  }

  steps(
    run: number,
    start: number,
    steps: number,
    batch: number,
    lr: number,
    mu: number,
    wd: number,
  ): number {
    const { at } = this;
    return this.kernels.ffnnSteps(
      at.w + 8 * P * run,
      at.v + 8 * P * run,
      at.g,
      at.perm + 4 * this.n * run,
      start,
      steps,
      batch,
      this.n,
      at.nzStart,
      at.nzPixel,
      at.nzValue,
      at.labels,
      at.tmp,
      lr,
      mu,
      wd,
    );
  }
}

/** (rows x cols) at src[o + off..] into (cols x rows) at dst[off..]: each layer input-major. */
function transposeLayer(
  src: Float64Array,
  so: number,
  dst: Float64Array,
  dOff: number,
  rows: number,
  cols: number,
  back: boolean,
) {
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      if (back) src[so + i * cols + j] = dst[dOff + j * rows + i];
      else dst[dOff + j * rows + i] = src[so + i * cols + j];
    }
}

function toKernelLayout(src: Float64Array, o: number, dst: Float64Array): void {
  transposeLayer(src, o + FC1, dst, FC1, 10, 196, false);
  transposeLayer(src, o + FC2, dst, FC2, 10, 10, false);
  transposeLayer(src, o + FC3, dst, FC3, 10, 10, false);
}

function fromKernelLayout(src: Float64Array, dst: Float64Array, o: number): void {
  transposeLayer(dst, o + FC1, src, FC1, 10, 196, true);
  transposeLayer(dst, o + FC2, src, FC2, 10, 10, true);
  transposeLayer(dst, o + FC3, src, FC3, 10, 10, true);
}
