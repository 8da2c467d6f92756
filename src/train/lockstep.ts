/**
 * Trains a group of runs in lockstep: every optimizer step is taken by all runs before the
 * next one starts, so per-step bookkeeping is paid once per group. Each run keeps its own
 * data order (a permutation drawn from its seed and the epoch), so its arithmetic does not
 * depend on which other runs share the group: the result is the same whether a zoo is
 * trained by one worker or split across several.
 *
 * Layout: run-major (run r's P weights at r*P). A model is 5-9 KB, so one sits in L1 while
 * its batch is processed. A model-innermost layout pays off only with SIMD, which plain
 * JavaScript lacks; and since every run reads a different image at the same step, the
 * sparse-input loops and max-pool branches would differ per lane anyway. (Not benchmarked.)
 */
import type { ImageSet } from '../data/imageSet.ts';
import { kaimingNormal } from './init.ts';
import type { Model, StepKernel } from './models/model.ts';
import { epochStream, Rng } from '../core/rng.ts';
import type { ZooConfig } from '../core/zooConfig.ts';

export class LockstepTrainer {
  readonly runs: number;
  private readonly P: number;
  private readonly grad: Float64Array;
  private readonly out = new Float64Array(10);
  private readonly kernel: StepKernel | null;

  /**
   * @param seeds one seed per run of this group
   * @param weights this group's weights, run r at r*P (float64: the exact training state)
   * @param momentum this group's momentum buffers, same layout
   */
  constructor(
    private readonly model: Model,
    private readonly config: ZooConfig,
    private readonly seeds: number[],
    readonly weights: Float64Array,
    readonly momentum: Float64Array,
    private readonly train: ImageSet,
    private readonly test: ImageSet,
  ) {
    this.runs = seeds.length;
    this.P = model.arch.size;
    this.grad = new Float64Array(this.P);
    if (weights.length !== this.runs * this.P || momentum.length !== this.runs * this.P) {
      throw new RangeError(`state arrays must hold ${this.runs} x ${this.P} values`);
    }
    this.kernel = model.createStepKernel?.(train, this.runs) ?? null;
  }

  /** Kaiming-normal weights from each run's seed, zero momentum: the epoch-0 state. */
  initialise(): void {
    for (let r = 0; r < this.runs; r++)
      kaimingNormal(this.model.arch, this.seeds[r], this.weights, r * this.P);
    this.momentum.fill(0);
  }

  /**
   * One epoch of SGD for every run. `onProgress(stepsDone)` is called every `progressEvery` steps.
   * Returns each run's mean training loss over the epoch.
   */
  trainEpoch(epoch: number, onProgress?: (stepsDone: number) => void, progressEvery = 64): Float64Array {
    const { model, config, grad, weights: w, momentum: v, train, P } = this;
    const { batchSize: B, learningRate: lr, momentum: mu, weightDecay: wd } = config;
    const n = train.n;
    const perms = this.seeds.map((seed) => new Rng(seed, epochStream(epoch)).permutation(n));
    const sse = new Float64Array(this.runs);
    const steps = Math.ceil(n / B);
    if (this.kernel) return this.trainEpochKernel(this.kernel, perms, steps, sse, onProgress, progressEvery);
    for (let step = 0; step < steps; step++) {
      const start = step * B;
      const bs = Math.min(B, n - start);
      const scale = 2 / (bs * 10);
      for (let r = 0; r < this.runs; r++) {
        const o = r * P;
        const perm = perms[r];
        let e = 0;
        for (let b = 0; b < bs; b++) e += model.accumulateGradient(w, o, grad, train, perm[start + b], scale);
        sse[r] += e;
        sgdStep(w, v, grad, o, P, lr, mu, wd);
      }
      if (onProgress && ((step + 1) % progressEvery === 0 || step + 1 === steps)) onProgress(step + 1);
    }
    for (let r = 0; r < this.runs; r++) sse[r] /= n * 10;
    return sse;
  }

  /** trainEpoch through the model's step kernel: each run's steps in blocks of `progressEvery`. */
  private trainEpochKernel(
    kernel: StepKernel,
    perms: Int32Array[],
    steps: number,
    sse: Float64Array,
    onProgress: ((stepsDone: number) => void) | undefined,
    progressEvery: number,
  ): Float64Array {
    const { weights: w, momentum: v, P, config } = this;
    const { batchSize: B, learningRate: lr, momentum: mu, weightDecay: wd } = config;
    for (let r = 0; r < this.runs; r++) {
      kernel.load(r, w, v, r * P);
      kernel.setOrder(r, perms[r]);
    }
    for (let step = 0; step < steps; step += progressEvery) {
      const count = Math.min(progressEvery, steps - step);
      for (let r = 0; r < this.runs; r++) sse[r] += kernel.steps(r, step * B, count, B, lr, mu, wd);
      onProgress?.(step + count);
    }
    for (let r = 0; r < this.runs; r++) {
      kernel.store(r, w, v, r * P);
      sse[r] /= this.train.n * 10;
    }
    return sse;
  }

  /** Test loss (MSE, mean over images and outputs) and accuracy of every run on `set`. */
  evaluate(set: ImageSet = this.test): { loss: Float64Array; accuracy: Float64Array } {
    const loss = new Float64Array(this.runs);
    const accuracy = new Float64Array(this.runs);
    for (let r = 0; r < this.runs; r++) {
      const e = evaluateModel(this.model, this.weights, r * this.P, set, this.out);
      loss[r] = e.loss;
      accuracy[r] = e.accuracy;
    }
    return { loss, accuracy };
  }
}

/** MSE loss and accuracy (first maximum wins ties) of one model on a set of images. */
export function evaluateModel(
  model: Model,
  w: Float64Array,
  o: number,
  set: ImageSet,
  out = new Float64Array(10),
): { loss: number; accuracy: number } {
  let sse = 0;
  let correct = 0;
  for (let s = 0; s < set.n; s++) {
    model.predict(w, o, set, s, out);
    const label = set.labels[s];
    let best = 0;
    for (let k = 0; k < 10; k++) {
      const diff = out[k] - (k === label ? 1 : 0);
      sse += diff * diff;
      if (out[k] > out[best]) best = k;
    }
    if (best === label) correct++;
  }
  return { loss: sse / (set.n * 10), accuracy: correct / set.n };
}

/**
 * torch.optim.SGD on one model: d = g + wd*w; v = mu*v + d; w -= lr*v; then g = 0.
 * (v starts at 0, so the first step gives v = d, as PyTorch's first-step rule.)
 * Unrolled by 4 (V8 does not unroll it itself); w is read once into a local since V8
 * cannot tell that v and w never alias.
 */
function sgdStep(
  w: Float64Array,
  v: Float64Array,
  g: Float64Array,
  o: number,
  P: number,
  lr: number,
  mu: number,
  wd: number,
): void {
  let i = 0;
  for (; i + 3 < P; i += 4) {
    const j = o + i;
    const w0 = w[j],
      w1 = w[j + 1],
      w2 = w[j + 2],
      w3 = w[j + 3];
    const v0 = mu * v[j] + g[i] + wd * w0;
    const v1 = mu * v[j + 1] + g[i + 1] + wd * w1;
    const v2 = mu * v[j + 2] + g[i + 2] + wd * w2;
    const v3 = mu * v[j + 3] + g[i + 3] + wd * w3;
    v[j] = v0;
    v[j + 1] = v1;
    v[j + 2] = v2;
    v[j + 3] = v3;
    w[j] = w0 - lr * v0;
    w[j + 1] = w1 - lr * v1;
    w[j + 2] = w2 - lr * v2;
    w[j + 3] = w3 - lr * v3;
  }
  for (; i < P; i++) {
    const wi = w[o + i];
    const vi = mu * v[o + i] + g[i] + wd * wi;
    v[o + i] = vi;
    w[o + i] = wi - lr * vi;
  }
  g.fill(0);
}
