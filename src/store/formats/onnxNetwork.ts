/**
 * The network an ONNX graph describes (docs/formats.md, "Networks"): what
 * `torch.onnx.export(model, x, "network.onnx")` writes, decoded with onnx-proto (the ONNX
 * schema compiled for protobufjs). Only the graph is read: its nodes become layers, its
 * initializers name and shape their tensors; the weights themselves come from the
 * checkpoints. The graph must be a chain (every node reads the output of the one before),
 * and every op one of those below; any other op is refused by name.
 *
 * PyTorch names initializers after the state_dict (`fc1.weight`), so a layer's name is its
 * weight's name without the suffix; exported in eval mode with constant folding, batch norm
 * is folded into the convolution before it and the folded weights get generated names
 * (`onnx::Conv_26`), which the refusal explains.
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { NetworkError, parseNetwork, type Layer, type Network } from '../../core/network.ts';

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;
type Attribute = onnxProto.onnx.IAttributeProto;
type LongLike = number | { toNumber(): number };

export const ONNX_OPS = [
  'Gemm',
  'MatMul',
  'Add',
  'Conv',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Flatten',
  'Reshape',
  'BatchNormalization',
  'LayerNormalization',
  'Dropout',
  'Identity',
  'Relu',
  'LeakyRelu',
  'Sigmoid',
  'Tanh',
  'Gelu',
  'Softmax',
] as const;

const EXPORT_HINT =
  'export with torch.onnx.export(model, x, path, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)';

export function readOnnxNetwork(path: string): Network {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new NetworkError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  try {
    return onnxNetwork(bytes);
  } catch (err) {
    if (err instanceof NetworkError) throw new NetworkError(`${path}: ${err.message}`);
    throw err;
  }
}

export function onnxNetwork(bytes: Uint8Array): Network {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new NetworkError(`not an ONNX model (${(err as Error).message}); give torch.onnx.export's file`);
  }
  const graph = model.graph;
  if (!graph?.node?.length)
    throw new NetworkError("not an ONNX model: it has no graph; give torch.onnx.export's file");

  // tensors known before the graph runs: initializers, constants, and Identity nodes that
  // rename an initializer (PyTorch's export shares equal initializers that way)
  const constants = new Map<string, { dims: number[]; values: number[] }>();
  for (const t of graph.initializer ?? []) constants.set(t.name!, tensorValue(t));
  const chain: Node[] = [];
  for (const node of graph.node) {
    const [input, output] = [node.input ?? [], node.output ?? []];
    if (node.opType === 'Constant') {
      const value = node.attribute?.find((a) => a.name === 'value')?.t;
      if (value) constants.set(output[0], tensorValue(value));
    } else if (node.opType === 'Identity' && constants.has(input[0]))
      constants.set(output[0], constants.get(input[0])!);
    else chain.push(node);
  }

  const inputs = (graph.input ?? []).filter((v) => !constants.has(v.name!));
  if (inputs.length !== 1)
    throw new NetworkError(
      `the graph has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); a network reads one`,
    );
  const dims = (inputs[0].type?.tensorType?.shape?.dim ?? []).map((d) =>
    d.dimValue == null ? -1 : num(d.dimValue),
  );
  const input = dims.slice(1);
  if (!(input.length === 1 || input.length === 3) || input.some((n) => n < 1))
    throw new NetworkError(
      `the graph's input is [${dims.map((d) => (d < 0 ? '?' : d)).join(', ')}]; a network reads [batch, n] or [batch, channels, height, width] with fixed sizes`,
    );

  const layers: Layer[] = [];
  let current = inputs[0].name!;
  for (let i = 0; i < chain.length; i++) {
    const node = chain[i];
    const where = `node ${node.name || i} (${node.opType})`;
    const refuse = (why: string): never => {
      throw new NetworkError(`${where}: ${why}`);
    };
    const data = (node.input ?? []).filter((n) => n !== '' && !constants.has(n));
    if (data.length !== 1 || data[0] !== current)
      refuse(
        `it reads ${data.join(', ') || 'no tensor'}, not only the output of the node before; the graph must be a chain of layers`,
      );
    const attr = attributes(node.attribute ?? []);
    const param = (k: number, what: string) => {
      const name = node.input?.[k];
      if (!name || !constants.has(name)) refuse(`its ${what} is not an initializer`);
      return { name: name!, dims: constants.get(name!)!.dims };
    };
    const layerOf = (tensor: string, suffix: string, what: string) => {
      if (!tensor.endsWith(`.${suffix}`) || tensor.length === suffix.length + 1)
        refuse(
          `its ${what} is named '${tensor}', not '<layer>.${suffix}' as a state_dict names it${tensor.startsWith('onnx::') ? ` (PyTorch folded or renamed it; ${EXPORT_HINT})` : ''}`,
        );
      return tensor.slice(0, -suffix.length - 1);
    };
    const biasOf = (k: number, layer: string, out: number) => {
      if (!node.input?.[k]) return false;
      const b = param(k, 'bias');
      if (b.name !== `${layer}.bias` || String(b.dims) !== String([out]))
        refuse(`its bias is '${b.name}' [${b.dims}], not '${layer}.bias' [${out}]`);
      return true;
    };
    switch (node.opType) {
      case 'Gemm': {
        if (attr.float('alpha', 1) !== 1 || attr.float('beta', 1) !== 1 || attr.int('transA', 0) !== 0)
          refuse('alpha, beta and transA other than 1, 1, 0');
        const w = param(1, 'weight');
        const torch = attr.int('transB', 0) === 1;
        const [out, inn] = torch ? w.dims : [w.dims[1], w.dims[0]];
        const name = layerOf(w.name, torch ? 'weight' : 'kernel', 'weight');
        layers.push({
          kind: 'dense',
          name,
          in: inn,
          out,
          bias: biasOf(2, name, out),
          layout: torch ? 'torch' : 'tf',
        });
        break;
      }
      case 'MatMul': {
        // x @ W with W [in, out]: TensorFlow's layout; an Add of a bias may follow
        const w = param(1, 'weight');
        const name = layerOf(w.name, 'kernel', 'weight');
        const next = chain[i + 1];
        const added =
          next?.opType === 'Add' && next.input?.[0] === node.output?.[0] ? (next.input?.[1] ?? '') : '';
        const bias = constants.has(added);
        if (bias) {
          if (added !== `${name}.bias`) refuse(`the bias added is '${added}', not '${name}.bias'`);
          i++;
        }
        layers.push({ kind: 'dense', name, in: w.dims[0], out: w.dims[1], bias, layout: 'tf' });
        current = (bias ? next : node).output![0];
        continue;
      }
      case 'Conv': {
        const w = param(1, 'weight');
        const [out, inn, kh, kw] = w.dims;
        const strides = attr.ints('strides', [1, 1]);
        const pads = attr.ints('pads', [0, 0, 0, 0]);
        if (attr.int('group', 1) !== 1) refuse('grouped convolution');
        if (attr.ints('dilations', [1, 1]).some((d) => d !== 1)) refuse('dilation');
        if (attr.string('auto_pad', 'NOTSET') !== 'NOTSET') refuse('auto_pad; give explicit pads');
        if (strides[0] !== strides[1] || pads.some((p) => p !== pads[0])) refuse('unequal strides or pads');
        const name = layerOf(w.name, 'weight', 'weight');
        layers.push({
          kind: 'conv2d',
          name,
          in: inn,
          out,
          kernel: [kh, kw],
          stride: strides[0],
          padding: pads[0],
          bias: biasOf(2, name, out),
          layout: 'torch',
        });
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const [k, k2] = attr.ints('kernel_shape', []);
        const strides = attr.ints('strides', [1, 1]);
        if (k !== k2 || strides[0] !== strides[1]) refuse('a non-square window or unequal strides');
        if (attr.ints('pads', [0, 0, 0, 0]).some((p) => p !== 0) || attr.int('ceil_mode', 0) !== 0)
          refuse('padding or ceil mode');
        if (attr.ints('dilations', [1, 1]).some((d) => d !== 1)) refuse('dilation');
        layers.push({ kind: node.opType === 'MaxPool' ? 'maxpool' : 'avgpool', size: k, stride: strides[0] });
        break;
      }
      case 'GlobalAveragePool':
        layers.push({ kind: 'global-avgpool' });
        break;
      case 'Flatten':
        if (attr.int('axis', 1) !== 1) refuse('an axis other than 1');
        layers.push({ kind: 'flatten', order: 'channel-major' });
        break;
      case 'Reshape': {
        const shape = constants.get(node.input?.[1] ?? '')?.values;
        if (!shape || shape.length !== 2 || !(shape[0] === -1 || shape[0] === 1 || shape[0] === 0))
          refuse(
            `a reshape to [${shape ?? '?'}]; only flattening to [batch, n] is a layer (use nn.Flatten or x.flatten(1))`,
          );
        layers.push({ kind: 'flatten', order: 'channel-major' });
        break;
      }
      case 'BatchNormalization': {
        if (attr.int('training_mode', 0) !== 0) refuse(`training mode; ${EXPORT_HINT} after model.eval()`);
        const scale = param(1, 'scale');
        const name = layerOf(scale.name, 'weight', 'scale');
        ['bias', 'running_mean', 'running_var'].forEach((t, k) => {
          if (param(k + 2, t).name !== `${name}.${t}`)
            refuse(`its ${t} is '${node.input![k + 2]}', not '${name}.${t}'`);
        });
        layers.push({
          kind: 'batchnorm',
          name,
          channels: scale.dims[0],
          eps: attr.float('epsilon', 1e-5),
          layout: 'torch',
        });
        break;
      }
      case 'LayerNormalization': {
        const scale = param(1, 'scale');
        const name = layerOf(scale.name, 'weight', 'scale');
        if (node.input?.[2] && param(2, 'bias').name !== `${name}.bias`)
          refuse(`its bias is not '${name}.bias'`);
        if (!node.input?.[2]) refuse('no bias');
        layers.push({
          kind: 'layernorm',
          name,
          size: scale.dims.reduce((a, b) => a * b, 1),
          eps: attr.float('epsilon', 1e-5),
          layout: 'torch',
        });
        break;
      }
      case 'Dropout':
        layers.push({ kind: 'dropout' });
        break;
      case 'Identity':
        break;
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
        layers.push({ kind: 'activation', fn: node.opType.toLowerCase() as 'relu' | 'sigmoid' | 'tanh' });
        break;
      case 'LeakyRelu':
        layers.push({ kind: 'activation', fn: 'leaky-relu', slope: attr.float('alpha', 0.01) });
        break;
      case 'Gelu':
        if (attr.string('approximate', 'none') !== 'none') refuse('the tanh approximation');
        layers.push({ kind: 'activation', fn: 'gelu' });
        break;
      case 'Softmax':
        if (i !== chain.length - 1) refuse('softmax before the last node');
        layers.push({ kind: 'activation', fn: 'softmax' });
        break;
      default:
        refuse(`the op is not one a network describes (${ONNX_OPS.join(', ')})`);
    }
    current = node.output![0];
  }
  const output = graph.output?.[0]?.name;
  if (graph.output?.length !== 1 || output !== current)
    throw new NetworkError(`the graph's output is not the last node's; a network has one output`);
  return parseNetwork({ format: 1, input, layers });
}

const num = (v: LongLike): number => (typeof v === 'number' ? v : v.toNumber());

/** A tensor's dims and (for shapes and constants) its values: float, int32 or int64 data, raw or typed. */
function tensorValue(t: onnxProto.onnx.ITensorProto): { dims: number[]; values: number[] } {
  const dims = (t.dims ?? []).map(num);
  const raw = t.rawData;
  let values: number[] = [];
  if (raw?.length) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (t.dataType === onnx.TensorProto.DataType.INT64)
      values = Array.from({ length: raw.length / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
    else if (t.dataType === onnx.TensorProto.DataType.INT32)
      values = Array.from({ length: raw.length / 4 }, (_, i) => view.getInt32(4 * i, true));
  } else values = [...(t.int64Data ?? []).map(num), ...(t.int32Data ?? [])];
  return { dims, values };
}

/** The shortest decimal that rounds to the same float32 (ONNX stores 0.1 as 0.10000000149...). */
function shortestFloat32(x: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const y = Number(x.toPrecision(digits));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

function attributes(list: Attribute[]) {
  const get = (name: string) => list.find((a) => a.name === name);
  return {
    int: (name: string, fallback: number) => {
      const a = get(name);
      return a?.i == null ? fallback : num(a.i);
    },
    float: (name: string, fallback: number) => {
      const a = get(name);
      return a?.f == null ? fallback : shortestFloat32(a.f);
    },
    ints: (name: string, fallback: number[]) => {
      const a = get(name);
      return a?.ints?.length ? a.ints.map(num) : fallback;
    },
    string: (name: string, fallback: string) => {
      const a = get(name);
      return a?.s?.length ? new TextDecoder().decode(a.s) : fallback;
    },
  };
}
