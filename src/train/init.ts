import type { Architecture } from '../core/architectures.ts';
import { INIT_STREAM, Rng } from '../core/rng.ts';

/**
 * Kaiming normal initialisation as PyTorch's `kaiming_normal_` default (mode fan_in,
 * gain sqrt(2)): every weight ~ N(0, 2 / fan_in). Tensors are drawn in index-map order
 * from the run's init stream, so a seed fixes the initial weights completely.
 */
export function kaimingNormal(arch: Architecture, seed: number, out: Float64Array, offset = 0): void {
  const rng = new Rng(seed, INIT_STREAM);
  for (const p of arch.params) {
    const std = Math.sqrt(2 / p.fanIn);
    for (let i = 0; i < p.size; i++) out[offset + p.offset + i] = std * rng.nextNormal();
  }
}
