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
  /** Writes the 10 outputs of the model at `w[o..]` for image `s` to `out`. */
  predict(w: Float64Array, o: number, set: ImageSet, s: number, out: Float64Array): void;
  /**
   * Adds `scale` * d(sum of squared errors)/dw for image `s` to `g[0..P)` and returns the
   * sum of squared errors over the 10 outputs.
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
