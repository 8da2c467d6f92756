/**
 * A checkpoint's per-tensor profile (what `show` prints and `diff` compares): count, mean,
 * standard deviation, skew, excess kurtosis, L2 norm and the share of near-zero weights of
 * each tensor. Moments are the population ones, as SciPy's `skew` and `kurtosis` (Fisher)
 * give by default, summed in float64.
 */
import type { ParamTensor } from '../core/architectures.ts';

/** |w| below this counts as near zero (what pruning leaves, and a dead unit's weights). */
export const NEAR_ZERO = 1e-3;

export interface Moments {
  count: number;
  mean: number;
  std: number;
  /** Third standardised moment (0 for a constant tensor). */
  skew: number;
  /** Fourth standardised moment minus 3 (0 for a normal distribution; 0 for a constant tensor). */
  kurtosis: number;
  l2: number;
  /** Share of values with |w| < NEAR_ZERO. */
  nearZero: number;
}

export interface TensorProfile extends Moments {
  name: string;
  /** 'weight' or 'bias' by the tensor's name (PyTorch's), 'other' for any other (e.g. running statistics). */
  kind: 'weight' | 'bias' | 'other';
  shape: number[];
}

/** The moments of `values` (float64 sums). */
export function moments(values: ArrayLike<number>): Moments {
  const n = values.length;
  let sum = 0;
  let near = 0;
  for (let i = 0; i < n; i++) {
    sum += values[i];
    if (Math.abs(values[i]) < NEAR_ZERO) near++;
  }
  const mean = n ? sum / n : 0;
  let [m2, m3, m4, ss] = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const c = values[i] - mean;
    const c2 = c * c;
    m2 += c2;
    m3 += c2 * c;
    m4 += c2 * c2;
    ss += values[i] * values[i];
  }
  [m2, m3, m4] = [m2 / (n || 1), m3 / (n || 1), m4 / (n || 1)];
  return {
    count: n,
    mean,
    std: Math.sqrt(m2),
    skew: m2 > 0 ? m3 / m2 ** 1.5 : 0,
    kurtosis: m2 > 0 ? m4 / (m2 * m2) - 3 : 0,
    l2: Math.sqrt(ss),
    nearZero: n ? near / n : 0,
  };
}

const kindOf = (name: string): TensorProfile['kind'] =>
  /(^|\.)bias$/.test(name) ? 'bias' : /(^|\.)weight$/.test(name) ? 'weight' : 'other';

/** The profile of every tensor of a checkpoint's flat weights (the architecture's index map). */
export function weightProfile(weights: Float32Array, params: readonly ParamTensor[]): TensorProfile[] {
  return params.map((p) => ({
    name: p.name,
    kind: kindOf(p.name),
    shape: p.shape,
    ...moments(weights.subarray(p.offset, p.offset + p.size)),
  }));
}
