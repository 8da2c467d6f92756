/**
 * The reference forward pass of any network (core/network.ts), in float64: written to be read
 * and checked, not to be fast (the engine's kernels are the fast path for the built-in
 * models). Maps are stored channel-major ([c][h][w]) between layers; `flatten` reorders to
 * channel-last when the network says so. Formulas follow PyTorch's inference modules
 * (torch.nn.Linear, Conv2d with zero padding, MaxPool2d / AvgPool2d without padding, floor
 * mode, BatchNorm in eval mode, LayerNorm with biased variance, exact erf GELU).
 */
import {
  layerTensors,
  networkShapes,
  NetworkError,
  type ActivationFn,
  type Layer,
  type Network,
  type Shape,
} from '../core/network.ts';

/**
 * The network's outputs for `count` samples: `inputs` holds one sample after the other, each
 * in the input's shape, channel-major for a map; the result holds one output vector (or
 * map) per sample.
 */
export function forward(
  net: Network,
  weights: ArrayLike<number>,
  inputs: ArrayLike<number>,
  count: number,
): Float64Array {
  const shapes = networkShapes(net);
  const params = parameterOffsets(net, weights.length);
  const inSize = size(net.input);
  if (inputs.length !== count * inSize)
    throw new NetworkError(`forward: ${inputs.length} input values for ${count} samples of ${inSize}`);
  const outSize = size(shapes[shapes.length - 1] ?? net.input);
  const out = new Float64Array(count * outSize);
  // one array type for every layer's reads (a number[] or Float32Array given)
  const w = Float64Array.from(weights);
  for (let s = 0; s < count; s++) {
    let x = Float64Array.from({ length: inSize }, (_, i) => inputs[s * inSize + i]);
    let shape = net.input;
    net.layers.forEach((layer, i) => {
      x = applyLayer(layer, x, shape, shapes[i], w, params[i]);
      shape = shapes[i];
    });
    out.set(x, s * outSize);
  }
  return out;
}

const size = (shape: Shape) => shape.reduce((a, b) => a * b, 1);

/** Where each layer's tensors start in the flat weight vector (in layerTensors' order). */
function parameterOffsets(net: Network, length: number): number[][] {
  let offset = 0;
  const offsets = net.layers.map((layer) =>
    layerTensors(layer).map((t) => {
      const at = offset;
      offset += size(t.shape);
      return at;
    }),
  );
  if (offset !== length)
    throw new NetworkError(`forward: the network has ${offset} parameters, the weights ${length}`);
  return offsets;
}

function applyLayer(
  layer: Layer,
  x: Float64Array,
  inShape: Shape,
  outShape: Shape,
  w: Float64Array,
  at: number[],
): Float64Array {
  const y = new Float64Array(size(outShape));
  switch (layer.kind) {
    case 'dense': {
      const { in: n, out: m } = layer;
      // weight (o, i) at o * so + i * si: torch [out][in], tf [in][out]
      const [so, si] = layer.layout === 'torch' ? [n, 1] : [1, m];
      for (let o = 0; o < m; o++) {
        let sum = layer.bias ? w[at[1] + o] : 0;
        for (let i = 0, k = at[0] + o * so; i < n; i++, k += si) sum += w[k] * x[i];
        y[o] = sum;
      }
      return y;
    }
    case 'conv2d': {
      const [c, h, wd] = inShape;
      const [, oh, ow] = outShape;
      const [kh, kw] = layer.kernel;
      const { out: m, stride, padding } = layer;
      // weight (o, ci, ky, kx) at o * so + ci * sc + ky * sy + kx * sx: torch [out][in][kh][kw],
      // tf [kh][kw][in][out]
      const [so, sc, sy, sx] =
        layer.layout === 'torch' ? [c * kh * kw, kh * kw, kw, 1] : [1, m, kw * c * m, c * m];
      for (let o = 0; o < m; o++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            let sum = layer.bias ? w[at[1] + o] : 0;
            for (let ci = 0; ci < c; ci++)
              for (let ky = 0; ky < kh; ky++) {
                const iy = oy * stride - padding + ky;
                if (iy < 0 || iy >= h) continue;
                const wRow = at[0] + o * so + ci * sc + ky * sy;
                const xRow = (ci * h + iy) * wd;
                for (let kx = 0; kx < kw; kx++) {
                  const ix = ox * stride - padding + kx;
                  if (ix < 0 || ix >= wd) continue;
                  sum += w[wRow + kx * sx] * x[xRow + ix];
                }
              }
            y[(o * oh + oy) * ow + ox] = sum;
          }
      return y;
    }
    case 'maxpool':
    case 'avgpool': {
      const [c, h, wd] = inShape;
      const [, oh, ow] = outShape;
      for (let ci = 0; ci < c; ci++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++) {
            let acc = layer.kind === 'maxpool' ? -Infinity : 0;
            for (let ky = 0; ky < layer.size; ky++)
              for (let kx = 0; kx < layer.size; kx++) {
                const v = x[(ci * h + oy * layer.stride + ky) * wd + ox * layer.stride + kx];
                acc = layer.kind === 'maxpool' ? Math.max(acc, v) : acc + v;
              }
            y[(ci * oh + oy) * ow + ox] = layer.kind === 'maxpool' ? acc : acc / (layer.size * layer.size);
          }
      return y;
    }
    case 'global-avgpool': {
      const [c, h, wd] = inShape;
      for (let ci = 0; ci < c; ci++) {
        let sum = 0;
        for (let i = 0; i < h * wd; i++) sum += x[ci * h * wd + i];
        y[ci] = sum / (h * wd);
      }
      return y;
    }
    case 'flatten': {
      if (inShape.length === 1 || layer.order === 'channel-major') return x;
      const [c, h, wd] = inShape;
      for (let ci = 0; ci < c; ci++) for (let i = 0; i < h * wd; i++) y[i * c + ci] = x[ci * h * wd + i];
      return y;
    }
    case 'batchnorm': {
      const per = x.length / layer.channels;
      for (let ci = 0; ci < layer.channels; ci++) {
        const [gamma, beta, mean, variance] = at.map((a) => w[a + ci]);
        const scale = gamma / Math.sqrt(variance + layer.eps);
        for (let i = 0; i < per; i++) y[ci * per + i] = (x[ci * per + i] - mean) * scale + beta;
      }
      return y;
    }
    case 'layernorm': {
      const mean = x.reduce((a, b) => a + b, 0) / x.length;
      const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length;
      const inv = 1 / Math.sqrt(variance + layer.eps);
      for (let i = 0; i < x.length; i++) y[i] = (x[i] - mean) * inv * w[at[0] + i] + w[at[1] + i];
      return y;
    }
    case 'dropout':
      return x;
    case 'activation':
      return activate(layer.fn, x, layer.slope ?? 0.01);
  }
}

function activate(fn: ActivationFn, x: Float64Array, slope: number): Float64Array {
  switch (fn) {
    case 'relu':
      return x.map((v) => Math.max(0, v));
    case 'leaky-relu':
      return x.map((v) => (v >= 0 ? v : slope * v));
    case 'sigmoid':
      return x.map((v) => 1 / (1 + Math.exp(-v)));
    case 'tanh':
      return x.map(Math.tanh);
    case 'gelu':
      return x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    case 'softmax': {
      const max = Math.max(...x);
      const e = x.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / sum);
    }
    case 'identity':
      return x;
  }
}

/**
 * The error function to about 1e-14: its Maclaurin series for |x| < 2.5 (the largest term
 * stays below 2e3, so little is cancelled), else 1 - erfc(x) from erfc's continued fraction
 * (Abramowitz & Stegun 7.1.1 and 7.1.14), evaluated by Lentz's method.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + ...)))))
  const tiny = 1e-300;
  let f = ax;
  let c = ax;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = ax + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = ax + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}
