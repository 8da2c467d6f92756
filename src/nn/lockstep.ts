/**
 * Trains a group of runs in lockstep: every optimizer step is taken by all runs before the
 * next one starts, so per-step bookkeeping is paid once per group. Each run keeps its own
 * data order (a permutation drawn from its seed and the epoch), so its arithmetic does not
 * depend on which other runs share the group: the result is the same whether a zoo is
 * trained by one worker or split across several.
 *
 * Layout: run-major (run r's P weights at r*P). A model is 5-9 KB, so one sits in L1 while
 * its batch is processed; model-innermost layouts measured slower in JavaScript, which has
 * no SIMD to gain from them (see bench/).
 */
import type { ImageSet } from '../data/imageSet.ts';
import { kaimingNormal } from './init.ts';
import type { Kernel } from './kernel.ts';
import { epochStream, Rng } from './rng.ts';
import type { ZooConfig } from './zooConfig.ts';

export interface EpochMetrics {
  /** Mean over the epoch's samples of the per-sample MSE (NaN for epoch 0). */
  trainLoss: Float64Array;
  testLoss: Float64Array;
  testAccuracy: Float64Array;
}

export class LockstepTrainer {
  readonly runs: number;
  private readonly P: number;
  private readonly grad: Float64Array;
  private readonly out = new Float64Array(10);

  /**
   * @param seeds one seed per run of this group
   * @param weights this group's weights, run r at r*P (float64: the exact training state)
   * @param momentum this group's momentum buffers, same layout
   */
  constructor(
    private readonly kernel: Kernel,
    private readonly config: ZooConfig,
    private readonly seeds: number[],
    readonly weights: Float64Array,
    readonly momentum: Float64Array,
    private readonly train: ImageSet,
    private readonly test: ImageSet,
  ) {
    this.runs = seeds.length;
    this.P = kernel.arch.size;
    this.grad = new Float64Array(this.P);
    if (weights.length !== this.runs * this.P || momentum.length !== this.runs * this.P) {
      throw new RangeError(`state arrays must hold ${this.runs} x ${this.P} values`);
    }
  }

  /** Kaiming-normal weights from each run's seed, zero momentum: the epoch-0 state. */
  initialise(): void {
    for (let r = 0; r < this.runs; r++) kaimingNormal(this.kernel.arch, this.seeds[r], this.weights, r * this.P);
    this.momentum.fill(0);
  }

  /**
   * One epoch of SGD for every run. `onProgress(stepsDone)` is called every `progressEvery` steps.
   * Returns each run's mean training loss over the epoch.
   */
  trainEpoch(epoch: number, onProgress?: (stepsDone: number) => void, progressEvery = 64): Float64Array {
    const { kernel, config, grad, weights: w, momentum: v, train, P } = this;
    const { batchSize: B, learningRate: lr, momentum: mu, weightDecay: wd } = config;
    const n = train.n;
    const perms = this.seeds.map((seed) => new Rng(seed, epochStream(epoch)).permutation(n));
    const sse = new Float64Array(this.runs);
    const steps = Math.ceil(n / B);
    for (let step = 0; step < steps; step++) {
      const start = step * B;
      const bs = Math.min(B, n - start);
      const scale = 2 / (bs * 10);
      for (let r = 0; r < this.runs; r++) {
        const o = r * P;
        const perm = perms[r];
        let e = 0;
        for (let b = 0; b < bs; b++) e += kernel.accumulateGradient(w, o, grad, train, perm[start + b], scale);
        sse[r] += e;
        // torch.optim.SGD: d = g + wd*w; v = mu*v + d; w -= lr*v (v starts at 0, so step 1 gives v = d)
        for (let i = 0; i < P; i++) {
          const vi = mu * v[o + i] + grad[i] + wd * w[o + i];
          v[o + i] = vi;
          w[o + i] -= lr * vi;
          grad[i] = 0;
        }
      }
      if (onProgress && ((step + 1) % progressEvery === 0 || step + 1 === steps)) onProgress(step + 1);
    }
    for (let r = 0; r < this.runs; r++) sse[r] /= n * 10;
    return sse;
  }

  /** Test loss (MSE, mean over images and outputs) and accuracy of every run on `set`. */
  evaluate(set: ImageSet = this.test): { loss: Float64Array; accuracy: Float64Array } {
    const loss = new Float64Array(this.runs);
    const accuracy = new Float64Array(this.runs);
    for (let r = 0; r < this.runs; r++) {
      const e = evaluateModel(this.kernel, this.weights, r * this.P, set, this.out);
      loss[r] = e.loss;
      accuracy[r] = e.accuracy;
    }
    return { loss, accuracy };
  }
}

/** MSE loss and accuracy (first maximum wins ties) of one model on a set of images. */
export function evaluateModel(
  kernel: Kernel,
  w: Float64Array,
  o: number,
  set: ImageSet,
  out = new Float64Array(10),
): { loss: number; accuracy: number } {
  let sse = 0;
  let correct = 0;
  for (let s = 0; s < set.n; s++) {
    kernel.predict(w, o, set, s, out);
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
