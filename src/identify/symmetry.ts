/**
 * The weight-space symmetries of a network, and aligning a checkpoint to another across them
 * (weight matching, as in Git Re-Basin: one linear assignment per hidden layer, no data).
 *
 * - Permutation: reordering a hidden layer's units (its weights, bias and any batch or layer
 *   norm parameters after it, and the inputs of the next layer that read them, a block of
 *   columns per unit after a flatten) computes the same function for any elementwise
 *   activation, pooling or flatten between the two.
 * - Scale: multiplying a unit's incoming weights and bias by c > 0 and its outgoing weights by
 *   1 / c computes the same function when everything between the two layers is positively
 *   homogeneous, f(c z) = c f(z): ReLU, LeakyReLU, max and average pooling, flatten, dropout.
 *   After a batch norm (inference mode) the norm's weight and bias are scaled instead, which
 *   is exact; a batch norm does not pass a scale of the weights before it on (its eps), nor
 *   does a layer norm, sigmoid, tanh, GELU or softmax: those layers are not rescaled.
 *
 * Every hidden layer is held as index lists, per unit, into the flat weight vector
 * (HiddenLayer), so permuting, rescaling and reading a unit are the same for every layout
 * (PyTorch [out, in, ...] or TensorFlow [..., in, out]) and flatten order. With a network
 * (core/network.ts) the lists follow from it; without one, from the tensors alone, read in
 * PyTorch's layout as a chain whose input count is the previous output count (or a multiple:
 * a channel-major flatten), with no scale since the activations are not known.
 */
import type { Architecture, ParamTensor } from '../core/architectures.ts';
import {
  layerTensors,
  networkOf,
  networkShapes,
  type Layer,
  type Layout,
  type Network,
} from '../core/network.ts';
import type { Rng } from '../core/rng.ts';
import { linearAssignment } from './assignment.ts';

/** One hidden layer: its weight (and bias), the next layer's weight that reads its units, and each unit's indices. */
export interface HiddenLayer {
  weight: ParamTensor;
  bias: ParamTensor | null;
  next: ParamTensor;
  /** Units of the layer. */
  units: number;
  /** Inputs of `next` per unit: 1, or the spatial size after a flatten. */
  block: number;
  /**
   * Flat indices, unit after unit (each list the same length per unit): `into`, what moves
   * with the unit in this layer (weights, bias, norm parameters); `scaled`, those multiplied
   * by c when it is rescaled; `out`, the next layer's weights that read it (divided by c).
   */
  into: Int32Array;
  scaled: Int32Array;
  out: Int32Array;
}

export interface Symmetries {
  hidden: HiddenLayer[];
  /** Whether units may also be rescaled (positively homogeneous activation). */
  scale: boolean;
  /** Why a symmetry is not used, for the output; null when both are. */
  note: string | null;
}

/**
 * The symmetries of an architecture: from its network when given (or when it is a built-in
 * architecture), else from its tensors alone.
 */
export function symmetriesOf(arch: Architecture, network?: Network): Symmetries {
  const net = networkOf(arch, network);
  return net ? symmetriesOfNetwork(net, arch) : symmetriesOfTensors(arch);
}

/** What sits between a hidden layer and the next dense or conv layer, as the walk meets it. */
interface Pending {
  layer: Layer & { kind: 'dense' | 'conv2d' };
  weight: ParamTensor;
  bias: ParamTensor | null;
  /** Norm parameters after it: the tensors, and the positions in them that belong to unit u. */
  norms: { tensors: ParamTensor[]; at: (u: number) => number[] }[];
  /** The batch norm's weight and bias and their positions of unit u, which take the scale. */
  batchNorm: { tensors: ParamTensor[]; at: (u: number) => number[] } | null;
  /** The first layer on the way that is not positively homogeneous, or null. */
  breaksScale: string | null;
  /** A flatten on the way: its order and the map it read. */
  flatten: { order: 'channel-major' | 'channel-last'; map: number[] } | null;
}

function symmetriesOfNetwork(net: Network, arch: Architecture): Symmetries {
  const params = new Map(arch.params.map((p) => [p.name, p]));
  const tensors = (layer: Layer) => layerTensors(layer).map((t) => params.get(t.name)!);
  const shapes = networkShapes(net);
  const hidden: HiddenLayer[] = [];
  let breaks: string | null = null;
  let pending: Pending | null = null;
  net.layers.forEach((layer, i) => {
    const before = i === 0 ? net.input : shapes[i - 1];
    if (layer.kind === 'dense' || layer.kind === 'conv2d') {
      const [weight, bias = null] = tensors(layer);
      if (pending) {
        hidden.push(hiddenLayer(pending, layer, weight));
        breaks ??= pending.breaksScale;
      }
      pending = { layer, weight, bias, norms: [], batchNorm: null, breaksScale: null, flatten: null };
      return;
    }
    if (!pending) return;
    const p: Pending = pending;
    // unit u's positions in the activation here: a channel of a map, or its inputs after a flatten
    const spatial = before.length === 3 ? before[1] * before[2] : 1;
    const flat = p.flatten; // as it is here: a flatten further on does not move these positions
    const positions = (u: number, perChannel: boolean) =>
      flat
        ? flattenedInputs(flat, u)
        : perChannel
          ? [u]
          : Array.from({ length: spatial }, (_, k) => u * spatial + k);
    if (layer.kind === 'batchnorm') {
      const [gamma, beta, mean, variance] = tensors(layer);
      const at = (u: number) => positions(u, true);
      p.norms.push({ tensors: [gamma, beta, mean, variance], at });
      if (p.batchNorm) p.breaksScale ??= 'a second batch norm';
      else p.batchNorm = { tensors: [gamma, beta], at };
    } else if (layer.kind === 'layernorm') {
      p.norms.push({ tensors: tensors(layer), at: (u) => positions(u, false) });
      p.breaksScale ??= 'layer norm';
    } else if (layer.kind === 'activation') {
      if (!['relu', 'leaky-relu', 'identity'].includes(layer.fn)) p.breaksScale ??= layer.fn;
    } else if (layer.kind === 'flatten' && before.length === 3) {
      p.flatten = { order: layer.order, map: before };
    }
  });
  return {
    hidden,
    scale: breaks === null,
    note: breaks === null ? null : `no scale alignment: ${breaks} is not positively homogeneous`,
  };
}

/** Unit u's inputs of the vector a flatten made: its channel's block, or every C-th value (channel-last). */
function flattenedInputs(flatten: NonNullable<Pending['flatten']>, u: number): number[] {
  const [c, h, w] = flatten.map;
  const channelMajor = flatten.order === 'channel-major';
  return Array.from({ length: h * w }, (_, q) => (channelMajor ? u * h * w + q : q * c + u));
}

/** The index lists of the units of `p.layer`, read by `next` (weight `nextWeight`). */
function hiddenLayer(
  p: Pending,
  next: Layer & { kind: 'dense' | 'conv2d' },
  nextWeight: ParamTensor,
): HiddenLayer {
  const units = p.layer.out;
  // the inputs of `next` that unit u feeds: its channel (or unit), or its values after a flatten
  const flat = p.flatten;
  const inputs = (u: number) => (flat ? flattenedInputs(flat, u) : [u]);
  const into: number[] = [];
  const scaled: number[] = [];
  const out: number[] = [];
  for (let u = 0; u < units; u++) {
    const own = [...weightRow(p.weight, p.layer.layout, units, u), ...(p.bias ? [p.bias.offset + u] : [])];
    const norms = p.norms.flatMap(({ tensors, at }) =>
      tensors.flatMap((t) => at(u).map((k) => t.offset + k)),
    );
    into.push(...own, ...norms);
    const bn = p.batchNorm;
    scaled.push(...(bn ? bn.tensors.flatMap((t) => bn.at(u).map((k) => t.offset + k)) : own));
    out.push(...readers(nextWeight, next, inputs(u)));
  }
  return {
    weight: p.weight,
    bias: p.bias,
    next: nextWeight,
    units,
    block: p.flatten ? p.flatten.map[1] * p.flatten.map[2] : 1,
    into: Int32Array.from(into),
    scaled: Int32Array.from(scaled),
    out: Int32Array.from(out),
  };
}

/** Unit u's incoming weights: a row of [out, in, ...] (torch) or a column of [..., in, out] (tf). */
function weightRow(weight: ParamTensor, layout: Layout, units: number, u: number): number[] {
  const r = weight.size / units;
  return Array.from(
    { length: r },
    (_, k) => weight.offset + (layout === 'torch' ? u * r + k : k * units + u),
  );
}

/**
 * The weights of `layer` (weight tensor `weight`) that read the given inputs (channels of a
 * conv, positions of a dense layer's input vector), output by output.
 */
function readers(
  weight: ParamTensor,
  layer: Layer & { kind: 'dense' | 'conv2d' },
  inputs: number[],
): number[] {
  const taps = layer.kind === 'conv2d' ? layer.kernel[0] * layer.kernel[1] : 1;
  const { in: n, out: m } = layer;
  const indices: number[] = [];
  for (let o = 0; o < m; o++)
    for (const i of inputs)
      for (let t = 0; t < taps; t++)
        indices.push(
          weight.offset + (layer.layout === 'torch' ? (o * n + i) * taps + t : (t * n + i) * m + o),
        );
  return indices;
}

/** Without a network: the tensors as a PyTorch chain of dense / conv weights, activations unknown. */
function symmetriesOfTensors(arch: Architecture): Symmetries {
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
  const asLayer = (t: ParamTensor): Layer & { kind: 'dense' | 'conv2d' } =>
    t.shape.length === 2
      ? { kind: 'dense', name: t.name, in: t.shape[1], out: t.shape[0], bias: false, layout: 'torch' }
      : {
          kind: 'conv2d',
          name: t.name,
          in: t.shape[1],
          out: t.shape[0],
          kernel: [t.shape[2], t.shape[3]],
          stride: 1,
          padding: 0,
          bias: false,
          layout: 'torch',
        };
  const hidden: HiddenLayer[] = [];
  for (let k = 0; k + 1 < weights.length; k++) {
    const { weight, bias } = weights[k];
    const next = weights[k + 1].weight;
    const [units, inputs] = [weight.shape[0], next.shape[1]];
    if (inputs % units !== 0)
      return {
        hidden: [],
        scale: false,
        note: `no alignment: ${next.name} reads ${inputs} inputs, not a multiple of the ${units} units of ${weight.name}; describe the network to align it`,
      };
    const block = inputs / units;
    const pending: Pending = {
      layer: asLayer(weight),
      weight,
      bias,
      norms: [],
      batchNorm: null,
      breaksScale: null,
      flatten: block > 1 ? { order: 'channel-major', map: [units, block, 1] } : null,
    };
    hidden.push(hiddenLayer(pending, asLayer(next), next));
  }
  return {
    hidden,
    scale: false,
    note: 'no scale alignment: the activation is not known (describe the network)',
  };
}

/** Moves unit perm[j] of the layer to position j (in place on w). */
export function permuteUnits(w: Float32Array, layer: HiddenLayer, perm: Int32Array): void {
  const old = w.slice();
  for (const list of [layer.into, layer.out]) {
    const per = list.length / layer.units;
    perm.forEach((src, j) => {
      for (let k = 0; k < per; k++) w[list[j * per + k]] = old[list[src * per + k]];
    });
  }
}

/** Multiplies unit u's scaled incoming values by s[u] and its outgoing weights by 1 / s[u] (in place). */
export function scaleUnits(w: Float32Array, layer: HiddenLayer, s: Float64Array): void {
  const inPer = layer.scaled.length / layer.units;
  const outPer = layer.out.length / layer.units;
  for (let u = 0; u < layer.units; u++) {
    for (let k = 0; k < inPer; k++) w[layer.scaled[u * inPer + k]] *= s[u];
    for (let k = 0; k < outPer; k++) w[layer.out[u * outPer + k]] /= s[u];
  }
}

/** Unit u's incoming values (those it is rescaled by) and outgoing weights, as two vectors. */
export function unitVectors(
  w: Float32Array,
  layer: HiddenLayer,
  u: number,
): { into: Float64Array; out: Float64Array } {
  const inPer = layer.scaled.length / layer.units;
  const outPer = layer.out.length / layer.units;
  return {
    into: Float64Array.from({ length: inPer }, (_, k) => w[layer.scaled[u * inPer + k]]),
    out: Float64Array.from({ length: outPer }, (_, k) => w[layer.out[u * outPer + k]]),
  };
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
  const refs = sym.hidden.map((layer) => unitFeatures(reference, layer, sym.scale));
  // the first hidden layer reads the network's inputs, which no other layer's permutation
  // moves: without rescaling, its units' incoming products are the same every sweep (the
  // same sums, so the same bits), indexed by the query's original units
  const firstInto = !sym.scale && sym.hidden.length ? incomingProducts(query, sym.hidden[0], refs[0]) : null;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let changed = false;
    sym.hidden.forEach((layer, h) => {
      const n = layer.units;
      const cached = h === 0 ? firstInto : null;
      const q = unitFeatures(w, layer, sym.scale, cached === null);
      const r = refs[h];
      const [inPer, outPer] = [q.into.length / n, q.out.length / n];
      const cost = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let into = 0;
          if (cached) into = cached[order[0][i] * n + j];
          else for (let k = 0; k < inPer; k++) into += q.into[i * inPer + k] * r.into[j * inPer + k];
          let out = 0;
          for (let k = 0; k < outPer; k++) out += q.out[i * outPer + k] * r.out[j * outPer + k];
          cost[i * n + j] = -(into + out);
        }
      const { colOf } = linearAssignment(cost, n);
      const perm = new Int32Array(n); // position j takes query unit perm[j]
      colOf.forEach((j, i) => (perm[j] = i));
      if (perm.some((src, j) => src !== j)) {
        changed = true;
        permuteUnits(w, layer, perm);
        order[h] = Int32Array.from(perm, (src) => order[h][src]);
      }
      if (sym.scale) {
        const s = Float64Array.from({ length: n }, (_, j) => r.norm[j] / q.norm[perm[j]]);
        scaleUnits(w, layer, s);
      }
    });
    // without scale, a sweep that moved nothing leaves every feature as it was: the next would repeat it
    if (!changed && (sweep > 0 || !sym.scale)) break;
  }
  const moved = order.reduce((s, o) => s + o.filter((src, j) => src !== j).length, 0);
  return { weights: w, moved, units, scaled: sym.scale, note: sym.note };
}

/** The query's units' incoming weights dotted with the reference's, [query unit * n + reference unit], as alignTo's sweep sums them. */
function incomingProducts(query: Float32Array, layer: HiddenLayer, r: { into: Float64Array }): Float64Array {
  const n = layer.units;
  const q = unitFeatures(query, layer, false);
  const inPer = q.into.length / n;
  const products = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let into = 0;
      for (let k = 0; k < inPer; k++) into += q.into[i * inPer + k] * r.into[j * inPer + k];
      products[i * n + j] = into;
    }
  return products;
}

/**
 * Every unit's matching features, unit after unit in flat arrays (alignTo's inner loop reads
 * them once per pair of units): its incoming and outgoing weights; with scale, the incoming
 * direction, and the outgoing weights times the incoming norm made unit length, beside the norm.
 */
function unitFeatures(
  w: Float32Array,
  layer: HiddenLayer,
  scale: boolean,
  withInto = true,
): { into: Float64Array; out: Float64Array; norm: Float64Array } {
  const n = layer.units;
  const [inPer, outPer] = [withInto ? layer.scaled.length / n : 0, layer.out.length / n];
  const into = new Float64Array(n * inPer);
  const out = new Float64Array(n * outPer);
  const norm = new Float64Array(n).fill(1);
  for (let u = 0; u < n; u++) {
    for (let k = 0; k < inPer; k++) into[u * inPer + k] = w[layer.scaled[u * inPer + k]];
    for (let k = 0; k < outPer; k++) out[u * outPer + k] = w[layer.out[u * outPer + k]];
    if (!scale) continue;
    let sq = 0;
    for (let k = 0; k < inPer; k++) sq += into[u * inPer + k] * into[u * inPer + k];
    const c = Math.sqrt(sq) || 1;
    let osq = 0;
    for (let k = 0; k < outPer; k++) {
      out[u * outPer + k] *= c;
      osq += out[u * outPer + k] * out[u * outPer + k];
    }
    const on = Math.sqrt(osq) || 1;
    for (let k = 0; k < inPer; k++) into[u * inPer + k] /= c;
    for (let k = 0; k < outPer; k++) out[u * outPer + k] /= on;
    norm[u] = c;
  }
  return { into, out, norm };
}

/** A copy with every hidden layer's units permuted and, where the activation allows, rescaled by c in [0.5, 2]. */
export function disguisedCopy(
  sym: Symmetries,
  w: Float32Array,
  rng: Rng,
  change: { permute: boolean; scale: boolean },
): Float32Array {
  const copy = w.slice();
  for (const layer of sym.hidden) {
    if (change.permute) permuteUnits(copy, layer, rng.permutation(layer.units));
    if (change.scale && sym.scale)
      scaleUnits(
        copy,
        layer,
        Float64Array.from({ length: layer.units }, () => 0.5 * 4 ** rng.nextFloat()),
      );
  }
  return copy;
}
