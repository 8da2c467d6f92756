/**
 * The two architectures of the paper's Table 1, described by their parameter index map:
 * which tensor lives where in a model's flat weight vector. Tensor names, shapes and order
 * follow PyTorch's state_dict of the equivalent nn.Module (weights only, no biases), so a
 * flat vector here is `torch.cat([p.flatten() for p in model.parameters()])` there.
 */
import { UserError } from './errors.ts';

export type ArchName = 'ffnn' | 'cnn';
export const ARCH_NAMES: readonly ArchName[] = ['ffnn', 'cnn'];

export interface ParamTensor {
  /** PyTorch-style name, e.g. `conv1.weight`. */
  name: string;
  /** PyTorch layout: linear [out, in], conv [out, in, kh, kw]. */
  shape: number[];
  /** Index of the first element in the flat weight vector. */
  offset: number;
  size: number;
  /** Fan-in used by Kaiming initialisation (in for linear, in*kh*kw for conv). */
  fanIn: number;
  /** The tensor's element type where the weights came from (imported zoos: F16, BF16, F64...); stored as float32. */
  dtype?: string;
}

export interface Architecture {
  /** 'ffnn' or 'cnn' for the built-in models; any name for an imported architecture. */
  name: string;
  /** One line, human readable. */
  summary: string;
  params: ParamTensor[];
  /** Total number of weights: the dimension of the weight space. */
  size: number;
}

/** Flat layout of named tensors: each one's offset in the weight vector, in the given order. */
function indexMap(tensors: { name: string; shape: number[]; dtype?: string }[]): {
  params: ParamTensor[];
  size: number;
} {
  let offset = 0;
  const params = tensors.map(({ name, shape, dtype }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    const p: ParamTensor = { name, shape, offset, size, fanIn, ...(dtype && { dtype }) };
    offset += size;
    return p;
  });
  return { params, size: offset };
}

export const FFNN: Architecture = {
  name: 'ffnn',
  summary: '196 -> fc 10 -> sigmoid -> fc 10 -> sigmoid -> fc 10, no biases',
  ...indexMap([
    { name: 'fc1.weight', shape: [10, 196] },
    { name: 'fc2.weight', shape: [10, 10] },
    { name: 'fc3.weight', shape: [10, 10] },
  ]),
};

export const CNN: Architecture = {
  name: 'cnn',
  summary:
    '1x14x14 -> conv 16 (k3 s2 p1) -> maxpool 2 -> LeakyReLU(0.01) -> conv 8 (k3 s2 p1) -> maxpool 2 -> LeakyReLU -> fc 10, no biases',
  ...indexMap([
    { name: 'conv1.weight', shape: [16, 1, 3, 3] },
    { name: 'conv2.weight', shape: [8, 16, 3, 3] },
    { name: 'fc.weight', shape: [10, 8] },
  ]),
};

/**
 * Any architecture, as the ordered list of its named tensors (e.g. a PyTorch state_dict's
 * floating-point entries): the flat weight vector is their concatenation, row-major.
 */
export function defineArchitecture(
  name: string,
  summary: string,
  tensors: { name: string; shape: number[]; dtype?: string }[],
): Architecture {
  return { name, summary, ...indexMap(tensors) };
}

export const ARCHITECTURES: Record<ArchName, Architecture> = { ffnn: FFNN, cnn: CNN };

export function architecture(name: string): Architecture {
  const arch = ARCHITECTURES[name as ArchName];
  if (!arch) throw new UserError(`unknown architecture '${name}' (choose one of: ${ARCH_NAMES.join(', ')})`);
  return arch;
}
