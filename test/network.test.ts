/**
 * Networks (core/network.ts) and their reference forward pass (train/forward.ts): the
 * built-in architectures derived from their networks; the forward pass against the engine's
 * own models on real MNIST images, and against TensorFlow.js layers for every layer kind, in
 * TensorFlow's layout and flatten order and, with the same weights rearranged by hand, in
 * PyTorch's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHITECTURES, type ArchName } from '../src/core/architectures.ts';
import {
  CNN_NETWORK,
  FFNN_NETWORK,
  networkArchitecture,
  networkShapes,
  type FlattenOrder,
  type Layer,
  type Layout,
  type Network,
} from '../src/core/network.ts';
import { alignTo, permuteUnits, scaleUnits, symmetriesOf } from '../src/identify/symmetry.ts';
import { Rng } from '../src/core/rng.ts';
import { toImageSet } from '../src/data/imageSet.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { erf, forward } from '../src/train/forward.ts';
import { kaimingNormal } from '../src/train/init.ts';
import { createModel } from '../src/train/models/factory.ts';
import { tf } from './support/tf.ts';
import { ROOT } from './helpers.ts';
import { readNetworkFile } from '../src/store/formats/networkFile.ts';
import { readSafetensors } from '../src/store/formats/safetensors.ts';

const NETWORKS: Record<ArchName, Network> = { ffnn: FFNN_NETWORK, cnn: CNN_NETWORK };

describe('the built-in networks', () => {
  it.each(['ffnn', 'cnn'] as const)('%s: derives the architecture the toolkit has always used', (arch) => {
    const derived = networkArchitecture(arch, ARCHITECTURES[arch].summary, NETWORKS[arch]);
    expect(derived).toEqual(ARCHITECTURES[arch]);
  });

  it('knows every activation shape of the CNN', () => {
    expect(networkShapes(CNN_NETWORK)).toEqual([
      [16, 7, 7],
      [16, 3, 3],
      [16, 3, 3],
      [8, 2, 2],
      [8, 1, 1],
      [8, 1, 1],
      [8],
      [10],
    ]);
  });

  it('refuses a layer that does not fit what it receives, naming it', () => {
    const layers = CNN_NETWORK.layers.filter((l) => l.kind !== 'flatten');
    expect(() => networkShapes({ ...CNN_NETWORK, layers })).toThrow(
      'layer 6 (dense fc): a dense layer takes a vector (flatten first), but it receives [8, 1, 1]',
    );
    const wide = CNN_NETWORK.layers.map((l) => (l.kind === 'dense' ? { ...l, in: 9 } : l));
    expect(() => networkShapes({ ...CNN_NETWORK, layers: wide })).toThrow(
      'layer 7 (dense fc): it reads 9 inputs, but it receives [8]',
    );
  });

  it.each(['ffnn', 'cnn'] as const)(
    "%s: the reference forward pass computes the engine's outputs on 50 MNIST test images",
    (arch) => {
      const images = toImageSet(loadMnist({ trainSize: 1, testSize: 50 }).test);
      const size = ARCHITECTURES[arch].size;
      const w = new Float64Array(size);
      kaimingNormal(ARCHITECTURES[arch], 7, w, 0);
      const model = createModel(arch);
      const theirs = new Float64Array(50 * 10);
      const one = new Float64Array(10);
      for (let s = 0; s < 50; s++) {
        model.predict(w, 0, images, s, one);
        theirs.set(one, s * 10);
      }
      const ours = forward(NETWORKS[arch], w, images.images, 50);
      for (let i = 0; i < ours.length; i++) expect(ours[i]).toBeCloseTo(theirs[i], 12);
    },
  );
});

/** A conv2d layer with a bias. */
const conv = (
  name: string,
  inChannels: number,
  outChannels: number,
  k: number,
  o: { stride: number; padding: number; layout: Layout },
): Layer => ({
  kind: 'conv2d',
  name,
  in: inChannels,
  out: outChannels,
  kernel: [k, k],
  bias: true,
  ...o,
});

interface TfjsCase {
  model: tf.Sequential;
  /** The same network in our terms: TensorFlow's layout, channel-last flatten. */
  net: Network;
}

/** Conv, batch norm, relu, max pool, leaky relu, flatten, dense, tanh, dropout, layer norm, sigmoid. */
function denseCase(): TfjsCase {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 2], filters: 4, kernelSize: 3, padding: 'valid' }),
      tf.layers.batchNormalization({ epsilon: 1e-3 }),
      tf.layers.reLU(),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ filters: 5, kernelSize: 2, padding: 'valid' }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 6, activation: 'tanh' }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.layerNormalization({ epsilon: 1e-3 }),
      tf.layers.dense({ units: 4, activation: 'sigmoid' }),
    ],
  });
  const layers: Layer[] = [
    conv('c1', 2, 4, 3, { stride: 1, padding: 0, layout: 'tf' }),
    { kind: 'batchnorm', name: 'bn', channels: 4, eps: 1e-3, layout: 'tf' },
    { kind: 'activation', fn: 'relu' },
    { kind: 'maxpool', size: 2, stride: 2 },
    conv('c2', 4, 5, 2, { stride: 1, padding: 0, layout: 'tf' }),
    { kind: 'activation', fn: 'leaky-relu', slope: 0.2 },
    { kind: 'flatten', order: 'channel-last' },
    { kind: 'dense', name: 'd1', in: 20, out: 6, bias: true, layout: 'tf' },
    { kind: 'activation', fn: 'tanh' },
    { kind: 'dropout' },
    { kind: 'layernorm', name: 'ln', size: 6, eps: 1e-3, layout: 'tf' },
    { kind: 'dense', name: 'd2', in: 6, out: 4, bias: true, layout: 'tf' },
    { kind: 'activation', fn: 'sigmoid' },
  ];
  return { model, net: { format: 1, input: [2, 8, 8], layers } };
}

/** Strided conv with symmetric padding, average pooling, global average pooling, softmax. */
function poolingCase(): TfjsCase {
  const model = tf.sequential({
    layers: [
      tf.layers.zeroPadding2d({ inputShape: [9, 9, 1], padding: 1 }),
      tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid' }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ filters: 6, kernelSize: 1 }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 5, activation: 'softmax' }),
    ],
  });
  const layers: Layer[] = [
    conv('c1', 1, 3, 3, { stride: 2, padding: 1, layout: 'tf' }),
    { kind: 'avgpool', size: 2, stride: 2 },
    conv('c2', 3, 6, 1, { stride: 1, padding: 0, layout: 'tf' }),
    { kind: 'global-avgpool' },
    { kind: 'dense', name: 'd', in: 6, out: 5, bias: true, layout: 'tf' },
    { kind: 'activation', fn: 'softmax' },
  ];
  return { model, net: { format: 1, input: [1, 9, 9], layers } };
}

/** Random weights for every tfjs layer (batch norm's running variance positive), in tfjs's order per layer. */
function randomizeWeights(model: tf.Sequential, rng: Rng): Float32Array[] {
  const tensors: Float32Array[] = [];
  for (const layer of model.layers) {
    const values = layer.getWeights().map((w, i) => {
      const v = Float32Array.from({ length: w.size }, () =>
        layer.getClassName() === 'BatchNormalization' && i === 3
          ? 0.2 + rng.nextFloat()
          : rng.nextFloat() - 0.5,
      );
      return { v, shape: w.shape };
    });
    layer.setWeights(values.map(({ v, shape }) => tf.tensor(v, shape)));
    tensors.push(...values.map(({ v }) => v));
  }
  return tensors;
}

/** tfjs outputs for samples given channel-major ([c][h][w]), fed to tfjs as NHWC. */
function tfjsOutputs(
  model: tf.Sequential,
  inputs: Float64Array,
  count: number,
  [c, h, w]: number[],
): Float32Array {
  const nhwc = new Float32Array(inputs.length);
  for (let s = 0; s < count; s++)
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < h * w; i++)
        nhwc[s * c * h * w + i * c + ci] = inputs[s * c * h * w + ci * h * w + i];
  return tf.tidy(
    () => (model.predict(tf.tensor(nhwc, [count, h, w, c])) as tf.Tensor).dataSync() as Float32Array,
  );
}

/**
 * The same network with every tensor moved to PyTorch's layout and a channel-major flatten:
 * conv [kh, kw, in, out] -> [out, in, kh, kw], dense [in, out] -> [out, in], and the dense
 * layer after the flatten reading its inputs in channel-major order.
 */
function toTorch(net: Network, tensors: Float32Array[]): { net: Network; weights: Float32Array } {
  const out: Float32Array[] = [];
  let t = 0;
  let flattened: number[] | null = null; // the [c, h, w] map a channel-last flatten read
  const shapes = networkShapes(net);
  const layers = net.layers.map((layer, i): Layer => {
    const before = i === 0 ? net.input : shapes[i - 1];
    if (layer.kind === 'flatten') {
      if (before.length === 3) flattened = before;
      return { kind: 'flatten', order: 'channel-major' };
    }
    if (layer.kind === 'conv2d') {
      const [kh, kw] = layer.kernel;
      const k = tensors[t++];
      const torch = new Float32Array(k.length);
      for (let o = 0; o < layer.out; o++)
        for (let c = 0; c < layer.in; c++)
          for (let y = 0; y < kh; y++)
            for (let x = 0; x < kw; x++)
              torch[((o * layer.in + c) * kh + y) * kw + x] =
                k[((y * kw + x) * layer.in + c) * layer.out + o];
      out.push(torch, ...(layer.bias ? [tensors[t++]] : []));
      return { ...layer, layout: 'torch' };
    }
    if (layer.kind === 'dense') {
      const k = tensors[t++];
      const torch = new Float32Array(k.length);
      for (let o = 0; o < layer.out; o++)
        for (let i = 0; i < layer.in; i++) {
          // input i of the channel-major order is input j of the channel-last one
          let j = i;
          if (flattened) {
            const [c, h, w] = flattened;
            const [ci, p] = [Math.floor(i / (h * w)), i % (h * w)];
            j = p * c + ci;
          }
          torch[o * layer.in + i] = k[j * layer.out + o];
        }
      flattened = null;
      out.push(torch, ...(layer.bias ? [tensors[t++]] : []));
      return { ...layer, layout: 'torch' };
    }
    const count = layer.kind === 'batchnorm' ? 4 : layer.kind === 'layernorm' ? 2 : 0;
    out.push(...tensors.slice(t, t + count));
    t += count;
    return layer;
  });
  const weights = new Float32Array(out.reduce((n, a) => n + a.length, 0));
  out.reduce((at, a) => (weights.set(a, at), at + a.length), 0);
  return { net: { ...net, layers }, weights };
}

describe('the reference forward pass against TensorFlow.js', () => {
  it.each([
    ['conv, batch norm, pooling, flatten, dense, layer norm', denseCase],
    ['strided padded conv, average and global pooling, softmax', poolingCase],
  ])("%s: in TensorFlow's layout and in PyTorch's, to 1e-5", (_, make) => {
    const { model, net } = make();
    const rng = new Rng(25, 1);
    const tensors = randomizeWeights(model, rng);
    const count = 16;
    const inputs = Float64Array.from(
      { length: count * net.input.reduce((a, b) => a * b) },
      () => rng.nextFloat() * 2 - 1,
    );
    const theirs = tfjsOutputs(model, inputs, count, net.input);
    const flat = new Float32Array(tensors.reduce((n, a) => n + a.length, 0));
    tensors.reduce((at, a) => (flat.set(a, at), at + a.length), 0);
    const tfLayout = forward(net, flat, inputs, count);
    expect(tfLayout.length).toBe(theirs.length);
    for (let i = 0; i < theirs.length; i++) expect(Math.abs(tfLayout[i] - theirs[i])).toBeLessThan(1e-5);
    const torch = toTorch(net, tensors);
    expect(torch.weights).not.toEqual(flat); // the layouts really differ
    const torchLayout = forward(torch.net, torch.weights, inputs, count);
    for (let i = 0; i < theirs.length; i++) expect(Math.abs(torchLayout[i] - theirs[i])).toBeLessThan(1e-5);
    model.dispose();
  });
});

describe('gelu', () => {
  it('uses an erf that equals the integral of the Gaussian density to 1e-12', () => {
    // Simpson's rule on 2/sqrt(pi) exp(-t^2) over [0, x], 20,000 panels
    const integral = (x: number) => {
      const n = 20000;
      const h = x / n;
      let sum = 0;
      for (let i = 0; i <= n; i++)
        sum += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * Math.exp(-((i * h) ** 2));
      return ((2 / Math.sqrt(Math.PI)) * sum * h) / 3;
    };
    for (const x of [-4, -2.5, -1, -0.3, 0.2, 1, 2.4, 2.6, 3.5, 6])
      expect(Math.abs(erf(x) - integral(x))).toBeLessThan(1e-12);
    const net: Network = { format: 1, input: [3], layers: [{ kind: 'activation', fn: 'gelu' }] };
    const out = forward(net, [], [-1, 0, 2], 1);
    expect(
      Array.from(out).map((v, i) => v - [-1, 0, 2][i] * 0.5 * (1 + integral([-1, 0, 2][i] / Math.SQRT2))),
    ).toEqual([0, 0, 0].map(() => expect.closeTo(0, 12)));
  });
});

/** Conv, batch norm, relu, max pool, conv, leaky relu, flatten, dense, relu, dense: every hidden layer may be rescaled. */
function homogeneousNetwork(layout: Layout, order: FlattenOrder): Network {
  return {
    format: 1,
    input: [2, 8, 8],
    layers: [
      conv('c1', 2, 4, 3, { stride: 1, padding: 1, layout: layout }),
      { kind: 'batchnorm', name: 'bn', channels: 4, eps: 1e-5, layout },
      { kind: 'activation', fn: 'relu' },
      { kind: 'maxpool', size: 2, stride: 2 },
      conv('c2', 4, 3, 3, { stride: 1, padding: 0, layout: layout }),
      { kind: 'activation', fn: 'leaky-relu', slope: 0.1 },
      { kind: 'flatten', order },
      { kind: 'dense', name: 'd1', in: 12, out: 5, bias: true, layout },
      { kind: 'activation', fn: 'relu' },
      { kind: 'dropout' },
      { kind: 'dense', name: 'd2', in: 5, out: 3, bias: true, layout },
    ],
  };
}

/** Random weights for a network: batch norm's running variance positive. */
function randomWeights(net: Network, rng: Rng): Float32Array {
  const arch = networkArchitecture('t', '', net);
  const w = Float32Array.from({ length: arch.size }, () => rng.nextFloat() - 0.5);
  for (const p of arch.params.filter((q) => /running_var|moving_variance/.test(q.name)))
    for (let i = 0; i < p.size; i++) w[p.offset + i] = 0.2 + rng.nextFloat();
  return w;
}

describe('symmetries from the network', () => {
  const layouts: [Layout, FlattenOrder][] = [
    ['torch', 'channel-major'],
    ['torch', 'channel-last'],
    ['tf', 'channel-major'],
    ['tf', 'channel-last'],
  ];
  it.each(layouts)(
    '%s layout, %s flatten: permuted and rescaled copies compute the same outputs, and alignTo undoes them',
    (layout, order) => {
      const net = homogeneousNetwork(layout, order);
      const arch = networkArchitecture('t', '', net);
      const sym = symmetriesOf(arch, net);
      expect(sym.hidden.map((h) => [h.weight.name, h.next.name, h.units, h.block])).toEqual([
        [
          layout === 'torch' ? 'c1.weight' : 'c1.kernel',
          layout === 'torch' ? 'c2.weight' : 'c2.kernel',
          4,
          1,
        ],
        [
          layout === 'torch' ? 'c2.weight' : 'c2.kernel',
          layout === 'torch' ? 'd1.weight' : 'd1.kernel',
          3,
          4,
        ],
        [
          layout === 'torch' ? 'd1.weight' : 'd1.kernel',
          layout === 'torch' ? 'd2.weight' : 'd2.kernel',
          5,
          1,
        ],
      ]);
      expect([sym.scale, sym.note]).toEqual([true, null]);
      const rng = new Rng(2501, 3);
      const w = randomWeights(net, rng);
      const inputs = Float64Array.from({ length: 8 * 128 }, () => rng.nextFloat() * 2 - 1);
      const original = forward(net, w, inputs, 8);
      const permuted = w.slice();
      for (const h of sym.hidden) permuteUnits(permuted, h, rng.permutation(h.units));
      const rescaled = permuted.slice();
      for (const h of sym.hidden)
        scaleUnits(
          rescaled,
          h,
          Float64Array.from({ length: h.units }, () => 0.5 + 1.5 * rng.nextFloat()),
        );
      for (const copy of [permuted, rescaled]) {
        expect(maxDiff(copy, w)).toBeGreaterThan(0.01); // a different point of weight space
        expect(maxDiff(forward(net, copy, inputs, 8), original)).toBeLessThan(1e-5); // the same function
      }
      expect(maxDiff(alignTo(sym, permuted, w).weights, w)).toBe(0);
      expect(maxDiff(alignTo(sym, rescaled, w).weights, w)).toBeLessThan(1e-5);
    },
  );

  it('permutes through layer norm and tanh, but does not rescale there, and says why', () => {
    const { net } = denseCase();
    const arch = networkArchitecture('t', '', net);
    const sym = symmetriesOf(arch, net);
    expect([sym.hidden.length, sym.scale, sym.note]).toEqual([
      3,
      false,
      'no scale alignment: tanh is not positively homogeneous',
    ]);
    const rng = new Rng(2502, 3);
    const w = randomWeights(net, rng);
    const inputs = Float64Array.from({ length: 4 * 128 }, () => rng.nextFloat() * 2 - 1);
    const permuted = w.slice();
    for (const h of sym.hidden) permuteUnits(permuted, h, rng.permutation(h.units));
    expect(maxDiff(permuted, w)).toBeGreaterThan(0.01);
    expect(maxDiff(forward(net, permuted, inputs, 4), forward(net, w, inputs, 4))).toBeLessThan(1e-9);
  });

  it('without a network, reads the tensors as a PyTorch chain and does not rescale', () => {
    const net = homogeneousNetwork('torch', 'channel-major');
    const arch = networkArchitecture('imported', '', {
      ...net,
      layers: net.layers.filter((l) => l.kind !== 'batchnorm'),
    });
    const sym = symmetriesOf(arch);
    expect(sym.hidden.map((h) => [h.units, h.block])).toEqual([
      [4, 1],
      [3, 4],
      [5, 1],
    ]);
    expect([sym.scale, sym.note]).toEqual([
      false,
      'no scale alignment: the activation is not known (describe the network)',
    ]);
  });
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("the reference forward pass against PyTorch's own outputs", () => {
  it('computes what a PyTorch CNN with biases computed (test/fixtures/torch-cnn, made by its make.py)', () => {
    const dir = join(ROOT, 'test/fixtures/torch-cnn');
    const network = readNetworkFile(join(dir, 'network.json'));
    const arch = networkArchitecture('torch-cnn', 'fixture', network);
    const weights = readSafetensors(join(dir, 'model.safetensors'), arch);
    const probe = JSON.parse(readFileSync(join(dir, 'probe.json'), 'utf8')) as {
      input: number[];
      output: number[];
    };
    const ours = forward(network, weights, probe.input, 5);
    expect(ours.length).toBe(probe.output.length);
    for (let i = 0; i < ours.length; i++) expect(Math.abs(ours[i] - probe.output[i])).toBeLessThan(1e-6);
  });
});
