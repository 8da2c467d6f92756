/**
 * A model computes one network's forward and backward pass for one sample, reading the
 * model's weights at offset `o` of a flat float64 array (PyTorch layout, see architectures.ts).
 * Loss is MSE against the one-hot label; callers pass `scale = 2 / (batch * 10)` so the
 * accumulated gradient is that of the mean over batch and outputs (PyTorch's MSELoss).
 */
import type { ImageSet } from '../../data/imageSet.ts';
import type { Architecture } from '../../core/architectures.ts';

export interface Model {
  readonly arch: Architecture;
  /** The kernel that trains a group of runs of this model on `train` (models/stepKernel.ts). */
  createStepKernel(train: ImageSet, runs: number): StepKernel;
  /** Writes the 10 outputs of the model at `w[o..]` for image `s` to `out`. */
  predict(w: Float64Array, o: number, set: ImageSet, s: number, out: Float64Array): void;
  /**
   * Adds `scale` * d(sum of squared errors)/dw for image `s` to `g[0..P)` and returns the
   * sum of squared errors over the 10 outputs: the readable reference of the step kernel's
   * backward pass (test/gradients.test.ts checks both against tfjs autodiff).
   */
  accumulateGradient(
    w: Float64Array,
    o: number,
    g: Float64Array,
    set: ImageSet,
    s: number,
    scale: number,
  ): number;
}

/**
 * SGD steps of a group of runs in WebAssembly: each run's weights and momentum are loaded
 * (from the PyTorch layout at offset o), trained for blocks of steps in the run's data order,
 * and stored back.
 */
export interface StepKernel {
  load(run: number, w: Float64Array, v: Float64Array, o: number): void;
  store(run: number, w: Float64Array, v: Float64Array, o: number): void;
  /** The run's order of the training images for this epoch. */
  setOrder(run: number, order: Int32Array): void;
  /** Trains `steps` steps from position `start` of the order; returns the sum of squared errors over their samples. */
  steps(run: number, start: number, steps: number, batch: number, lr: number, mu: number, wd: number): number;
}
