/**
 * The weight-space symmetries of a chain of dense / conv layers, and aligning a checkpoint to
 * another across them (weight matching, as in Git Re-Basin: one linear assignment per hidden
 * layer, no data).
 *
 * - Permutation: reordering a hidden layer's units (rows of its weight and bias, and the
 *   matching input columns, or channel blocks after a flatten, of the next layer) computes the
 *   same function for any elementwise activation.
 * - Scale: multiplying a unit's incoming weights (and bias) by c > 0 and its outgoing weights by
 *   1 / c computes the same function when the activation is positively homogeneous (ReLU,
 *   LeakyReLU, also after max-pooling), f(c z) = c f(z).
 *
 * Layers are read from the architecture's tensors in PyTorch layout (weight [out, in] or
 * [out, in, kh, kw], optional `.bias` [out]); a chain is consecutive weights whose input
 * count is the previous output count (or a multiple: a flatten, channel-major).
 */
import type { Architecture, ParamTensor } from '../core/architectures.ts';
import { linearAssignment } from './assignment.ts';

/** One hidden layer: its weight (and bias), and the next layer's weight that reads its units. */
export interface HiddenLayer {
  weight: ParamTensor;
  bias: ParamTensor | null;
  next: ParamTensor;
  /** Units of the layer (weight.shape[0]). */
  units: number;
  /** Columns of `next` per unit: 1, or the spatial size after a flatten. */
  block: number;
}

export interface Symmetries {
  hidden: HiddenLayer[];
  /** Whether units may also be rescaled (positively homogeneous activation). */
  scale: boolean;
  /** Why a symmetry is not used, for the output; null when both are. */
  note: string | null;
}

/** The built-in architectures' hidden activations: positively homogeneous or not. */
const HOMOGENEOUS: Record<string, { homogeneous: boolean; activation: string }> = {
  ffnn: { homogeneous: false, activation: 'sigmoid' },
  cnn: { homogeneous: true, activation: 'LeakyReLU with max-pooling' },
};

export function symmetriesOf(arch: Architecture): Symmetries {
  const weights: { weight: ParamTensor; bias: ParamTensor | null }[] = [];
  for (let i = 0; i < arch.params.length; i++) {
    const p = arch.params[i];
    if (p.shape.length !== 2 && p.shape.length !== 4) {
      if (p.shape.length === 1 && weights.length && p.name.endsWith('.bias')) continue;
      return {
        hidden: [],
        scale: false,
        note: `no alignment: tensor ${p.name} is not a dense or conv weight`,
      };
    }
    const b = arch.params[i + 1];
    const bias =
      b && b.shape.length === 1 && b.name.endsWith('.bias') && b.shape[0] === p.shape[0] ? b : null;
    weights.push({ weight: p, bias });
  }
  const hidden: HiddenLayer[] = [];
  for (let k = 0; k + 1 < weights.length; k++) {
    const { weight, bias } = weights[k];
    const next = weights[k + 1].weight;
    const [units, inputs] = [weight.shape[0], next.shape[1]];
    if (inputs % units !== 0)
      return {
        hidden: [],
        scale: false,
        note: `no alignment: ${next.name} reads ${inputs} inputs, not a multiple of the ${units} units of ${weight.name}`,
      };
    hidden.push({ weight, bias, next, units, block: inputs / units });
  }
  const known = HOMOGENEOUS[arch.name];
  const scale = known?.homogeneous ?? false;
  const note = scale
    ? null
    : known
      ? `no scale alignment: ${known.activation} is not positively homogeneous`
      : 'no scale alignment: the activation is not known';
  return { hidden, scale, note };
}

/** Elements per unit in a weight tensor: one row of [out, in, ...]. */
const rowSize = (t: ParamTensor) => t.size / t.shape[0];
/** Elements per input column (or channel) of `next`: kh * kw for a conv, 1 for a dense layer. */
const colSize = (t: ParamTensor) => t.size / (t.shape[0] * t.shape[1]);

/** Moves unit perm[j] of layer h to position j (in place on w). */
export function permuteUnits(w: Float32Array, layer: HiddenLayer, perm: Int32Array): void {
  const { weight, bias, next, block } = layer;
  const old = w.slice();
  const r = rowSize(weight);
  perm.forEach((src, j) => {
    w.set(old.subarray(weight.offset + src * r, weight.offset + (src + 1) * r), weight.offset + j * r);
    if (bias) w[bias.offset + j] = old[bias.offset + src];
  });
  // next: [out, in(, kh, kw)], unit u owns input columns u * block .. (u + 1) * block - 1
  const c = colSize(next) * block;
  const nextRow = rowSize(next);
  for (let o = 0; o < next.shape[0]; o++) {
    const base = next.offset + o * nextRow;
    perm.forEach((src, j) => w.set(old.subarray(base + src * c, base + (src + 1) * c), base + j * c));
  }
}

/** Multiplies unit u's incoming weights and bias by s[u] and its outgoing weights by 1 / s[u] (in place). */
export function scaleUnits(w: Float32Array, layer: HiddenLayer, s: Float64Array): void {
  const { weight, bias, next, block } = layer;
  const r = rowSize(weight);
  const c = colSize(next) * block;
  const nextRow = rowSize(next);
  for (let u = 0; u < layer.units; u++) {
    for (let j = 0; j < r; j++) w[weight.offset + u * r + j] *= s[u];
    if (bias) w[bias.offset + u] *= s[u];
    for (let o = 0; o < next.shape[0]; o++) {
      const base = next.offset + o * nextRow + u * c;
      for (let j = 0; j < c; j++) w[base + j] /= s[u];
    }
  }
}

/** Unit u's incoming weights (and bias) and outgoing weights, as two vectors. */
export function unitVectors(
  w: Float32Array,
  layer: HiddenLayer,
  u: number,
): { into: Float64Array; out: Float64Array } {
  const { weight, bias, next, block } = layer;
  const r = rowSize(weight);
  const into = new Float64Array(r + (bias ? 1 : 0));
  for (let j = 0; j < r; j++) into[j] = w[weight.offset + u * r + j];
  if (bias) into[r] = w[bias.offset + u];
  const c = colSize(next) * block;
  const nextRow = rowSize(next);
  const out = new Float64Array(next.shape[0] * c);
  for (let o = 0; o < next.shape[0]; o++)
    for (let j = 0; j < c; j++) out[o * c + j] = w[next.offset + o * nextRow + u * c + j];
  return { into, out };
}

function dotOf(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
export const normOf = (a: Float64Array) => Math.sqrt(dotOf(a, a));

export interface Alignment {
  /** The query with its hidden units moved (and rescaled) to match the reference. */
  weights: Float32Array;
  /** Units not at their original position, and all hidden units. */
  moved: number;
  units: number;
  scaled: boolean;
  /** What was not aligned and why (Symmetries.note), or null. */
  note: string | null;
}

/**
 * Aligns `query` to `reference` (same architecture): layer by layer, the assignment of the
 * query's units to the reference's that maximises the agreement of their incoming and outgoing
 * weights (dot products; with scale, cosines of the scale-free unit vectors: the incoming
 * direction, and the outgoing weights times the incoming norm), then each unit rescaled to the
 * incoming norm of the unit it matched. Sweeps over the layers repeat until no unit moves
 * (each layer's outgoing weights depend on the next layer's order), at most `sweeps` times.
 */
export function alignTo(
  sym: Symmetries,
  query: Float32Array,
  reference: Float32Array,
  sweeps = 4,
): Alignment {
  const w = query.slice();
  const units = sym.hidden.reduce((s, l) => s + l.units, 0);
  const order = sym.hidden.map((l) => Int32Array.from({ length: l.units }, (_, u) => u));
  const feature = (x: Float32Array, layer: HiddenLayer, u: number) => {
    const { into, out } = unitVectors(x, layer, u);
    if (!sym.scale) return { into, out, norm: 1 };
    const norm = normOf(into) || 1;
    const scaledOut = out.map((v) => v * norm);
    const on = normOf(scaledOut) || 1;
    return { into: into.map((v) => v / norm), out: scaledOut.map((v) => v / on), norm };
  };
  const refs = sym.hidden.map((layer) =>
    Array.from({ length: layer.units }, (_, u) => feature(reference, layer, u)),
  );
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let changed = false;
    sym.hidden.forEach((layer, h) => {
      const n = layer.units;
      const q = Array.from({ length: n }, (_, u) => feature(w, layer, u));
      const r = refs[h];
      const cost = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          cost[i * n + j] = -(dotOf(q[i].into, r[j].into) + dotOf(q[i].out, r[j].out));
      const { colOf } = linearAssignment(cost, n);
      const perm = new Int32Array(n); // position j takes query unit perm[j]
      colOf.forEach((j, i) => (perm[j] = i));
      if (perm.some((src, j) => src !== j)) {
        changed = true;
        permuteUnits(w, layer, perm);
        order[h] = Int32Array.from(perm, (src) => order[h][src]);
      }
      if (sym.scale) {
        const s = Float64Array.from({ length: n }, (_, j) => r[j].norm / q[perm[j]].norm);
        scaleUnits(w, layer, s);
      }
    });
    // without scale, a sweep that moved nothing leaves every feature as it was: the next would repeat it
    if (!changed && (sweep > 0 || !sym.scale)) break;
  }
  const moved = order.reduce((s, o) => s + o.filter((src, j) => src !== j).length, 0);
  return { weights: w, moved, units, scaled: sym.scale, note: sym.note };
}
