/**
 * The built-in models' training steps in WebAssembly (simd/kernels.wat `sgdSteps`, with
 * `$ffnnSample` and `$cnnSample`): forward, backward and the SGD update of one model for a
 * block of steps in one call: the FFNN in float64, two units per f64x2 instruction; the CNN's
 * convolutions in float32 (as PyTorch trains it), four channels per f32x4, from a float32 copy
 * of their weights that each SGD step refreshes, while weights, momentum and the update stay
 * float64 (a step whose weights have decayed below 2^-32 runs `$cnnSample64`, all float64,
 * as float32 would be subnormal there).
 *
 * Inside the kernel a linear layer is [in][out] (fc1 as [pixel][unit]), so the weights one
 * input meets are contiguous, and a convolution is [tap][out channel][in channel] (conv1 as
 * [tap][channel]), so conv2's forward and backward passes run over input channels, which all
 * meet the same tap; each run's weights and momentum are converted from and back to the
 * PyTorch layout of the training state once per epoch.
 *
 * The FFNN's sigmoid computes e^x by a series (exp2x), not Math.exp, and sums may be ordered
 * differently: its gradients agree with the JavaScript model's (ffnn.ts, which evaluation
 * uses) to about 1e-14, not bit for bit; the CNN's with cnn.ts's to float32's precision, about 1e-7.
 */
import type { ImageSet } from '../../data/imageSet.ts';
import type { Architecture, ArchName } from '../../core/architectures.ts';
import { ARCHITECTURES } from '../../core/architectures.ts';
import { reserve, simdKernels, type SimdKernels } from '../../simd/kernels.ts';
import type { StepKernel } from './model.ts';

/** The kernel's model number and the scratch bytes its sample function needs. */
const MODELS: Record<ArchName, { id: number; tmpBytes: number }> = {
  ffnn: { id: 0, tmpBytes: 240 },
  cnn: { id: 1, tmpBytes: 28800 },
};

export class WasmStepKernel implements StepKernel {
  private readonly kernels: SimdKernels;
  private readonly at: Record<
    'data' | 'images' | 'nzStart' | 'nzPixel' | 'nzValue' | 'labels' | 'w' | 'v' | 'g' | 'perm' | 'tmp',
    number
  >;
  private readonly arch: Architecture;
  private readonly P: number;
  private readonly n: number;

  constructor(
    private readonly name: ArchName,
    train: ImageSet,
    runs: number,
  ) {
    this.arch = ARCHITECTURES[name];
    this.P = this.arch.size;
    this.n = train.n;
    const nnz = train.nzStart[train.n];
    this.kernels = simdKernels();
    const sparse = name === 'ffnn';
    // the FFNN reads the images' non-zero pixels (CSR), the CNN the dense images
    this.at = reserve(this.kernels, {
      data: 16,
      images: sparse ? 0 : 4 * 196 * train.n,
      nzStart: sparse ? 4 * (train.n + 1) : 0,
      nzPixel: sparse ? nnz : 0,
      nzValue: sparse ? 4 * nnz : 0,
      labels: train.n,
      w: 8 * this.P * runs,
      v: 8 * this.P * runs,
      g: 8 * this.P,
      perm: 4 * train.n * runs,
      tmp: MODELS[name].tmpBytes,
    });
    const buffer = this.kernels.memory.buffer;
    const { at } = this;
    if (sparse) {
      new Int32Array(buffer, at.nzStart, train.n + 1).set(train.nzStart.subarray(0, train.n + 1));
      new Uint8Array(buffer, at.nzPixel, nnz).set(train.nzPixel.subarray(0, nnz));
      new Float32Array(buffer, at.nzValue, nnz).set(train.nzValue.subarray(0, nnz));
      new Int32Array(buffer, at.data, 3).set([at.nzStart, at.nzPixel, at.nzValue]);
    } else {
      new Float32Array(buffer, at.images, 196 * train.n).set(train.images.subarray(0, 196 * train.n));
      new Int32Array(buffer, at.data, 1).set([at.images]);
    }
    new Uint8Array(buffer, at.labels, train.n).set(train.labels.subarray(0, train.n));
  }

  private slot(base: number, run: number): Float64Array {
    return new Float64Array(this.kernels.memory.buffer, base + 8 * this.P * run, this.P);
  }

  load(run: number, w: Float64Array, v: Float64Array, o: number): void {
    convert(this.arch, w, o, this.slot(this.at.w, run), 'in');
    convert(this.arch, v, o, this.slot(this.at.v, run), 'in');
  }

  store(run: number, w: Float64Array, v: Float64Array, o: number): void {
    convert(this.arch, w, o, this.slot(this.at.w, run), 'out');
    convert(this.arch, v, o, this.slot(this.at.v, run), 'out');
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
    const { at, P } = this;
    return this.kernels.run('sgdSteps', {
      model: MODELS[this.name].id,
      p: P,
      w: at.w + 8 * P * run,
      v: at.v + 8 * P * run,
      g: at.g,
      perm: at.perm + 4 * this.n * run,
      start,
      steps,
      b: batch,
      n: this.n,
      data: at.data,
      labels: at.labels,
      tmp: at.tmp,
      lr,
      mu,
      wd,
    });
  }
}

/**
 * Between the PyTorch layout (at state[o..]) and the kernel's: linear [out][in] as [in][out],
 * convolution [out][in][kh][kw] as [kh kw][out][in].
 */
function convert(
  arch: Architecture,
  state: Float64Array,
  o: number,
  kernel: Float64Array,
  way: 'in' | 'out',
) {
  for (const p of arch.params) {
    const [outs, ins] = p.shape;
    const taps = p.size / (outs * ins);
    const linear = p.shape.length === 2;
    for (let i = 0; i < outs; i++)
      for (let j = 0; j < ins; j++)
        for (let t = 0; t < taps; t++) {
          const torch = o + p.offset + (i * ins + j) * taps + t;
          const ours = p.offset + (linear ? j * outs + i : (t * outs + i) * ins + j);
          if (way === 'in') kernel[ours] = state[torch];
          else state[torch] = kernel[ours];
        }
  }
}
