/**
 * Trains a group of runs: each run's epoch is its model's step kernel (models/stepKernel.ts,
 * WebAssembly) over its own data order, a permutation drawn from its seed and the epoch, so its
 * arithmetic does not depend on which other runs share the group: the result is the same
 * whether a zoo is trained by one worker or split across several. The runs go in lockstep by
 * blocks of steps, between which progress is reported.
 *
 * Layout of the training state: run-major (run r's P weights at r*P), PyTorch's tensor layouts;
 * the kernel keeps its own layout and converts once per epoch.
 */
import type { ImageSet } from '../data/imageSet.ts';
import { kaimingNormal } from './init.ts';
import type { Model, StepKernel } from './models/model.ts';
import { epochStream, Rng } from '../core/rng.ts';
import type { ZooConfig } from '../core/zooConfig.ts';

export class LockstepTrainer {
  readonly runs: number;
  private readonly P: number;
  private readonly out = new Float64Array(10);
  private readonly kernel: StepKernel;

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
    if (weights.length !== this.runs * this.P || momentum.length !== this.runs * this.P) {
      throw new RangeError(`state arrays must hold ${this.runs} x ${this.P} values`);
    }
    this.kernel = model.createStepKernel(train, this.runs);
  }

  /** Kaiming-normal weights from each run's seed, zero momentum: the epoch-0 state. */
  initialise(): void {
    for (let r = 0; r < this.runs; r++)
      kaimingNormal(this.model.arch, this.seeds[r], this.weights, r * this.P);
    this.momentum.fill(0);
  }

  /**
   * One epoch of SGD for every run, in blocks of `progressEvery` steps; `onProgress(stepsDone)`
   * is called after each block. Returns each run's mean training loss over the epoch.
   */
  trainEpoch(epoch: number, onProgress?: (stepsDone: number) => void, progressEvery = 64): Float64Array {
    const { kernel, weights: w, momentum: v, P, config, train } = this;
    const { batchSize: B, learningRate: lr, momentum: mu, weightDecay: wd } = config;
    const steps = Math.ceil(train.n / B);
    for (let r = 0; r < this.runs; r++) {
      kernel.load(r, w, v, r * P);
      kernel.setOrder(r, new Rng(this.seeds[r], epochStream(epoch)).permutation(train.n));
    }
    const sse = new Float64Array(this.runs);
    for (let step = 0; step < steps; step += progressEvery) {
      const count = Math.min(progressEvery, steps - step);
      for (let r = 0; r < this.runs; r++) sse[r] += kernel.steps(r, step * B, count, B, lr, mu, wd);
      onProgress?.(step + count);
    }
    for (let r = 0; r < this.runs; r++) {
      kernel.store(r, w, v, r * P);
      sse[r] /= train.n * 10;
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
