/**
 * A network: the computation a zoo's weights define, as a chain of layers. The tensor list
 * (and so the parameter index map, architectures.ts) is derived from it, as is every
 * activation's shape; train/forward.ts runs it.
 *
 * Tensors keep the layout of the framework that wrote them: `torch` (dense [out, in], conv
 * [out, in, kh, kw]) or `tf` (dense [in, out], conv [kh, kw, in, out]). Activations between
 * layers are per sample either a vector or a [channels, height, width] map; `flatten` turns
 * a map into a vector channel-major (PyTorch's NCHW `x.flatten(1)`) or channel-last
 * (TensorFlow's NHWC `Flatten`). Tensor names and order follow the framework: PyTorch's
 * state_dict (`<name>.weight`, `.bias`, batch norm's `.running_mean`, `.running_var`).
 */
import { defineArchitecture, type Architecture } from './architectures.ts';
import { UserError } from './errors.ts';

export type Layout = 'torch' | 'tf';
export type FlattenOrder = 'channel-major' | 'channel-last';
export type ActivationFn = 'relu' | 'leaky-relu' | 'sigmoid' | 'tanh' | 'gelu' | 'softmax' | 'identity';

export type Layer =
  | { kind: 'dense'; name: string; in: number; out: number; bias: boolean; layout: Layout }
  | {
      kind: 'conv2d';
      name: string;
      in: number;
      out: number;
      kernel: [number, number];
      stride: number;
      padding: number;
      bias: boolean;
      layout: Layout;
    }
  | { kind: 'maxpool' | 'avgpool'; size: number; stride: number }
  | { kind: 'global-avgpool' }
  | { kind: 'flatten'; order: FlattenOrder }
  /**
   * Inference mode: (x - running mean) / sqrt(running var + eps) * weight + bias, per channel
   * (or per value of a vector). `layout` names the tensors: torch weight, bias, running_mean,
   * running_var; tf gamma, beta, moving_mean, moving_variance.
   */
  | { kind: 'batchnorm'; name: string; channels: number; eps: number; layout: Layout }
  /** Over the whole vector (a map is normalised over all its values), with weight and bias (tf: gamma, beta). */
  | { kind: 'layernorm'; name: string; size: number; eps: number; layout: Layout }
  /** Identity at inference. */
  | { kind: 'dropout' }
  | { kind: 'activation'; fn: ActivationFn; slope?: number };

export interface Network {
  format: 1;
  /** One sample's input: [n] for a vector, [channels, height, width] for a map. */
  input: number[];
  layers: Layer[];
}

/** One sample's activation shape: [n] or [channels, height, width]. */
export type Shape = number[];

export class NetworkError extends UserError {}

/** The parameter tensors of a layer, in the framework's order and layout. */
export function layerTensors(layer: Layer): { name: string; shape: number[] }[] {
  switch (layer.kind) {
    case 'dense': {
      const weight = layer.layout === 'torch' ? [layer.out, layer.in] : [layer.in, layer.out];
      const names = tensorNames(layer.name, layer.layout);
      return [
        { name: names.weight, shape: weight },
        ...(layer.bias ? [{ name: names.bias, shape: [layer.out] }] : []),
      ];
    }
    case 'conv2d': {
      const [kh, kw] = layer.kernel;
      const weight = layer.layout === 'torch' ? [layer.out, layer.in, kh, kw] : [kh, kw, layer.in, layer.out];
      const names = tensorNames(layer.name, layer.layout);
      return [
        { name: names.weight, shape: weight },
        ...(layer.bias ? [{ name: names.bias, shape: [layer.out] }] : []),
      ];
    }
    case 'batchnorm':
      return (
        layer.layout === 'torch'
          ? ['weight', 'bias', 'running_mean', 'running_var']
          : ['gamma', 'beta', 'moving_mean', 'moving_variance']
      ).map((t) => ({ name: `${layer.name}.${t}`, shape: [layer.channels] }));
    case 'layernorm':
      return (layer.layout === 'torch' ? ['weight', 'bias'] : ['gamma', 'beta']).map((t) => ({
        name: `${layer.name}.${t}`,
        shape: [layer.size],
      }));
    default:
      return [];
  }
}

/**
 * PyTorch names its tensors `<layer>.weight` / `.bias`; Keras `kernel` / `bias`, which the
 * recorder stores as `<layer>.kernel` / `.bias` (train/zooRecorder.ts).
 */
function tensorNames(layer: string, layout: Layout): { weight: string; bias: string } {
  return { weight: `${layer}.${layout === 'torch' ? 'weight' : 'kernel'}`, bias: `${layer}.bias` };
}

/** Every parameter tensor of the network, in order: the flat weight vector is their concatenation. */
export function networkTensors(net: Network): { name: string; shape: number[] }[] {
  return net.layers.flatMap(layerTensors);
}

/**
 * The activation shape after each layer (index i: after layer i), checked layer by layer:
 * a layer that does not fit the shape it receives is refused, naming it.
 */
export function networkShapes(net: Network): Shape[] {
  if (!(net.input.length === 1 || net.input.length === 3) || !net.input.every(isPositiveInt))
    throw new NetworkError(
      `the network's input must be [n] or [channels, height, width], got [${net.input}]`,
    );
  const shapes: Shape[] = [];
  let shape: Shape = net.input;
  net.layers.forEach((layer, i) => {
    shape = nextShape(layer, shape, `layer ${i} (${layer.kind}${'name' in layer ? ` ${layer.name}` : ''})`);
    shapes.push(shape);
  });
  return shapes;
}

function nextShape(layer: Layer, shape: Shape, where: string): Shape {
  const refuse = (what: string): never => {
    throw new NetworkError(`${where}: ${what}, but it receives [${shape.join(', ')}]`);
  };
  const size = shape.reduce((a, b) => a * b, 1);
  switch (layer.kind) {
    case 'dense':
      if (shape.length !== 1) refuse('a dense layer takes a vector (flatten first)');
      if (layer.in !== shape[0]) refuse(`it reads ${layer.in} inputs`);
      return [layer.out];
    case 'conv2d': {
      if (shape.length !== 3) refuse('a convolution takes a [channels, height, width] map');
      if (layer.in !== shape[0]) refuse(`it reads ${layer.in} channels`);
      const [kh, kw] = layer.kernel;
      const out = (n: number, k: number) => Math.floor((n + 2 * layer.padding - k) / layer.stride) + 1;
      const [h, w] = [out(shape[1], kh), out(shape[2], kw)];
      if (h < 1 || w < 1) refuse(`its ${kh}x${kw} kernel does not fit`);
      return [layer.out, h, w];
    }
    case 'maxpool':
    case 'avgpool': {
      if (shape.length !== 3) refuse('pooling takes a [channels, height, width] map');
      const out = (n: number) => Math.floor((n - layer.size) / layer.stride) + 1;
      if (out(shape[1]) < 1 || out(shape[2]) < 1)
        refuse(`its ${layer.size}x${layer.size} window does not fit`);
      return [shape[0], out(shape[1]), out(shape[2])];
    }
    case 'global-avgpool':
      if (shape.length !== 3) refuse('global pooling takes a [channels, height, width] map');
      return [shape[0]];
    case 'flatten':
      return [size];
    case 'batchnorm':
      if (layer.channels !== shape[0]) refuse(`it normalises ${layer.channels} channels`);
      return shape;
    case 'layernorm':
      if (layer.size !== size) refuse(`it normalises ${layer.size} values`);
      return shape;
    case 'dropout':
      return shape;
    case 'activation':
      if (layer.fn === 'softmax' && shape.length !== 1) refuse('softmax takes a vector');
      return shape;
  }
}

const isPositiveInt = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0;

/** The architecture (tensor list and index map) of a network; its shapes are checked first. */
export function networkArchitecture(name: string, summary: string, net: Network): Architecture {
  networkShapes(net);
  return defineArchitecture(name, summary, networkTensors(net));
}

/** Layer kinds, for messages. */
const KINDS = [
  'dense',
  'conv2d',
  'maxpool',
  'avgpool',
  'global-avgpool',
  'flatten',
  'batchnorm',
  'layernorm',
  'dropout',
  'activation',
];
const FNS: ActivationFn[] = ['relu', 'leaky-relu', 'sigmoid', 'tanh', 'gelu', 'softmax', 'identity'];

/**
 * A network from JSON (a file users write, or a manifest's field), checked field by field,
 * with PyTorch's defaults where a field is left out: layout 'torch', bias true, stride 1 (a
 * pooling's stride: its size), padding 0, eps 1e-5, flatten 'channel-major', leaky relu slope
 * 0.01. Throws a NetworkError naming the layer and the field.
 */
export function parseNetwork(json: unknown): Network {
  const obj = (v: unknown, where: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new NetworkError(`${where} must be an object`);
    return v as Record<string, unknown>;
  };
  const net = obj(json, 'the network');
  if (net.format !== undefined && net.format !== 1)
    throw new NetworkError(`format ${String(net.format)} is not 1`);
  const input = net.input;
  if (!Array.isArray(input) || !(input.length === 1 || input.length === 3) || !input.every(isPositiveInt))
    throw new NetworkError(`input must be [n] or [channels, height, width], got ${JSON.stringify(input)}`);
  if (!Array.isArray(net.layers) || net.layers.length === 0)
    throw new NetworkError('layers must be a list of layers');
  const layers = net.layers.map((raw, i): Layer => {
    const l = obj(raw, `layer ${i}`);
    const where = `layer ${i} (${String(l.kind)}${typeof l.name === 'string' ? ` ${l.name}` : ''})`;
    const field = <T>(name: string, ok: (v: unknown) => boolean, what: string, fallback?: T): T => {
      const v = l[name] ?? fallback;
      if (v === undefined || !ok(v))
        throw new NetworkError(`${where}: ${name} must be ${what}, got ${JSON.stringify(l[name])}`);
      return v as T;
    };
    const int = (name: string, fallback?: number) =>
      field<number>(name, isPositiveInt, 'a positive whole number', fallback);
    const name = () =>
      field<string>(
        'name',
        (v) => typeof v === 'string' && v.length > 0,
        'the layer name its tensors start with',
      );
    const layout = () =>
      field<Layout>('layout', (v) => v === 'torch' || v === 'tf', "'torch' or 'tf'", 'torch');
    const bias = () => field<boolean>('bias', (v) => typeof v === 'boolean', 'true or false', true);
    const eps = () => field<number>('eps', (v) => typeof v === 'number' && v > 0, 'a positive number', 1e-5);
    switch (l.kind) {
      case 'dense':
        return {
          kind: 'dense',
          name: name(),
          in: int('in'),
          out: int('out'),
          bias: bias(),
          layout: layout(),
        };
      case 'conv2d': {
        const k = field<number | number[]>(
          'kernel',
          (v) => isPositiveInt(v) || (Array.isArray(v) && v.length === 2 && v.every(isPositiveInt)),
          'k or [kh, kw]',
        );
        return {
          kind: 'conv2d',
          name: name(),
          in: int('in'),
          out: int('out'),
          kernel: Array.isArray(k) ? [k[0], k[1]] : [k, k],
          stride: int('stride', 1),
          padding: field<number>(
            'padding',
            (v) => Number.isInteger(v) && (v as number) >= 0,
            'a whole number',
            0,
          ),
          bias: bias(),
          layout: layout(),
        };
      }
      case 'maxpool':
      case 'avgpool': {
        const size = int('size');
        return { kind: l.kind, size, stride: int('stride', size) };
      }
      case 'global-avgpool':
      case 'dropout':
        return { kind: l.kind };
      case 'flatten':
        return {
          kind: 'flatten',
          order: field<FlattenOrder>(
            'order',
            (v) => v === 'channel-major' || v === 'channel-last',
            "'channel-major' or 'channel-last'",
            'channel-major',
          ),
        };
      case 'batchnorm':
        return { kind: 'batchnorm', name: name(), channels: int('channels'), eps: eps(), layout: layout() };
      case 'layernorm':
        return { kind: 'layernorm', name: name(), size: int('size'), eps: eps(), layout: layout() };
      case 'activation': {
        const fn = field<ActivationFn>(
          'fn',
          (v) => FNS.includes(v as ActivationFn),
          `one of ${FNS.join(', ')}`,
        );
        return fn === 'leaky-relu'
          ? {
              kind: 'activation',
              fn,
              slope: field<number>('slope', (v) => typeof v === 'number', 'a number', 0.01),
            }
          : { kind: 'activation', fn };
      }
      default:
        throw new NetworkError(`${where}: kind must be one of ${KINDS.join(', ')}`);
    }
  });
  const network: Network = { format: 1, input: input as number[], layers };
  networkShapes(network);
  return network;
}

/**
 * Why a network does not describe an architecture's tensors (the same names and shapes, in
 * any order: files keep their own, e.g. safetensors sorted by name), or null.
 */
export function networkProblem(network: Network, arch: Architecture): string | null {
  if (typeof network !== 'object' || network === null || network.format !== 1)
    return `format ${(network as { format?: unknown })?.format} is not 1`;
  let tensors: { name: string; shape: number[] }[];
  try {
    tensors = networkArchitecture(arch.name, arch.summary, parseNetwork(network)).params;
  } catch (err) {
    return (err as Error).message;
  }
  const given = new Map(arch.params.map((t) => [t.name, t.shape]));
  const missing = tensors.filter((t) => !given.has(t.name)).map((t) => t.name);
  const named = new Set(tensors.map((t) => t.name));
  const extra = arch.params.filter((t) => !named.has(t.name)).map((t) => t.name);
  if (missing.length || extra.length)
    return [
      missing.length && `the checkpoints lack its tensor(s) ${list(missing)}`,
      extra.length && `it has no layer for the checkpoints' ${list(extra)}`,
    ]
      .filter(Boolean)
      .join('; ');
  const differ = tensors.find((t) => String(t.shape) !== String(given.get(t.name)));
  return differ
    ? `its tensor ${differ.name} is [${differ.shape.join(', ')}], the checkpoints' [${given.get(differ.name)!.join(', ')}]`
    : null;
}

const list = (names: string[]) =>
  names.slice(0, 4).join(', ') + (names.length > 4 ? ` and ${names.length - 4} more` : '');

/**
 * A checkpoint's flat weights (in the architecture's tensor order) in the network's own
 * order (networkTensors), as the forward pass reads them; the same array when they agree.
 * The network must describe the architecture (networkProblem).
 */
export function inNetworkOrder(net: Network, arch: Architecture, weights: Float32Array): Float32Array {
  const byName = new Map(arch.params.map((p) => [p.name, p]));
  const order = networkTensors(net).map((t) => byName.get(t.name)!);
  if (order.every((p, i) => p === arch.params[i])) return weights;
  const out = new Float32Array(weights.length);
  let at = 0;
  for (const p of order) {
    out.set(weights.subarray(p.offset, p.offset + p.size), at);
    at += p.size;
  }
  return out;
}

/** Paper Table 1's FFNN: 196 -> fc 10 -> sigmoid -> fc 10 -> sigmoid -> fc 10, no biases. */
export const FFNN_NETWORK: Network = {
  format: 1,
  input: [196],
  layers: [
    { kind: 'dense', name: 'fc1', in: 196, out: 10, bias: false, layout: 'torch' },
    { kind: 'activation', fn: 'sigmoid' },
    { kind: 'dense', name: 'fc2', in: 10, out: 10, bias: false, layout: 'torch' },
    { kind: 'activation', fn: 'sigmoid' },
    { kind: 'dense', name: 'fc3', in: 10, out: 10, bias: false, layout: 'torch' },
  ],
};

/**
 * Paper Table 1's CNN: 1x14x14 -> conv 16 (k3 s2 p1) -> maxpool 2 -> LeakyReLU(0.01) -> conv 8
 * (k3 s2 p1) -> maxpool 2 -> LeakyReLU -> fc 10, no biases.
 */
export const CNN_NETWORK: Network = {
  format: 1,
  input: [1, 14, 14],
  layers: [
    ...tableOneConvBlock('conv1', 1, 16),
    ...tableOneConvBlock('conv2', 16, 8),
    { kind: 'flatten', order: 'channel-major' },
    { kind: 'dense', name: 'fc', in: 8, out: 10, bias: false, layout: 'torch' },
  ],
};

/** Table 1's CNN block: conv (k3 s2 p1, no bias) -> maxpool 2 -> LeakyReLU(0.01). */
function tableOneConvBlock(name: string, inChannels: number, outChannels: number): Layer[] {
  return [
    {
      kind: 'conv2d',
      name,
      in: inChannels,
      out: outChannels,
      kernel: [3, 3],
      stride: 2,
      padding: 1,
      bias: false,
      layout: 'torch',
    },
    { kind: 'maxpool', size: 2, stride: 2 },
    { kind: 'activation', fn: 'leaky-relu', slope: 0.01 },
  ];
}

/** The networks of the built-in architectures, by name. */
export const BUILT_IN_NETWORKS: Readonly<Record<string, Network>> = { ffnn: FFNN_NETWORK, cnn: CNN_NETWORK };

/**
 * The network of an architecture: the one given (a manifest's), else the built-in one of its
 * name, when it describes the architecture's tensors; else null (unknown).
 */
export function networkOf(arch: Architecture, given?: Network): Network | null {
  const net = given ?? BUILT_IN_NETWORKS[arch.name];
  return net && networkProblem(net, arch) === null ? net : null;
}

/**
 * A model cut to some outputs of its last dense layer: a head for a subset of the classes,
 * as a fine-tune on fewer classes leaves it. The network's last dense layer gets
 * `outputs.length` outputs and its weight (rows in PyTorch's layout, columns in TensorFlow's)
 * and bias keep those outputs, in the order given; every other tensor is copied.
 */
export function keepOutputs(
  net: Network,
  arch: Architecture,
  weights: Float32Array,
  outputs: readonly number[],
): { network: Network; architecture: Architecture; weights: Float32Array } {
  const last = net.layers.map((l) => l.kind).lastIndexOf('dense');
  if (last < 0) throw new NetworkError('the network has no dense layer to cut');
  const head = net.layers[last] as Layer & { kind: 'dense' };
  if (!outputs.length || outputs.some((o) => !Number.isInteger(o) || o < 0 || o >= head.out))
    throw new NetworkError(`outputs to keep must be 0 to ${head.out - 1}, got ${outputs.join(', ')}`);
  const network: Network = {
    ...net,
    layers: net.layers.map((l, i) => (i === last ? { ...head, out: outputs.length } : l)),
  };
  const architecture = networkArchitecture(
    `${arch.name}-head${outputs.length}`,
    `${arch.summary}; head cut to outputs ${outputs.join(', ')}`,
    network,
  );
  const byName = new Map(arch.params.map((p) => [p.name, p]));
  const names = tensorNames(head.name, head.layout);
  const out = new Float32Array(architecture.size);
  for (const t of architecture.params) {
    const from = byName.get(t.name)!;
    const src = weights.subarray(from.offset, from.offset + from.size);
    if (t.name === names.bias) outputs.forEach((o, k) => (out[t.offset + k] = src[o]));
    else if (t.name !== names.weight) out.set(src, t.offset);
    else if (head.layout === 'torch')
      outputs.forEach((o, k) =>
        out.set(src.subarray(o * head.in, (o + 1) * head.in), t.offset + k * head.in),
      );
    else
      for (let i = 0; i < head.in; i++)
        outputs.forEach((o, k) => (out[t.offset + i * outputs.length + k] = src[i * head.out + o]));
  }
  return { network, architecture, weights: out };
}
