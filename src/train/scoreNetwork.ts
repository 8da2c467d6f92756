/**
 * A checkpoint's test loss and accuracy, from its network's reference forward pass
 * (forward.ts) on MNIST images: what `weightspace eval` reports for any zoo whose network
 * reads 14x14 (the zoos' size) or 28x28 images (MNIST as published). The loss is the one the toolkit trains with (mean squared error against
 * the one-hot label, over images and outputs, as torch.nn.MSELoss), beside the cross-entropy
 * of the outputs' softmax (of the outputs themselves when the network ends in a softmax);
 * accuracy counts the first maximum, as the engine does.
 */
import { NetworkError, networkShapes, type Network } from '../core/network.ts';
import { forward } from './forward.ts';

export interface NetworkScore {
  images: number;
  correct: number;
  accuracy: number;
  mse: number;
  crossEntropy: number;
}

/**
 * The MNIST image side a network reads: 14 or 28, as a vector of side^2 values or a
 * 1 x side x side map (one channel, so either flatten order reads the same pixels).
 */
export function mnistSide(net: Network): 14 | 28 {
  const inputs = net.input.reduce((a, b) => a * b, 1);
  const side = Math.sqrt(inputs);
  if ((side !== 14 && side !== 28) || (net.input.length === 3 && net.input[0] !== 1))
    throw new NetworkError(
      `the network reads [${net.input.join(', ')}]; MNIST images are 14x14 (196 values) or 28x28 (784), one channel`,
    );
  return side;
}

/** Scores weights in the network's own tensor order (core/network.ts inNetworkOrder) on images of mnistSide(net). */
export function scoreNetwork(
  net: Network,
  weights: ArrayLike<number>,
  set: { n: number; images: Float32Array; labels: Uint8Array },
): NetworkScore {
  const shapes = networkShapes(net);
  const side = mnistSide(net);
  const outputs = (shapes[shapes.length - 1] ?? net.input).reduce((a, b) => a * b, 1);
  if (outputs !== 10)
    throw new NetworkError(`the network has ${outputs} outputs; eval scores MNIST's 10 classes`);
  if (set.images.length !== set.n * side * side)
    throw new NetworkError(
      `scoreNetwork: the network reads ${side}x${side} images; load MNIST with side ${side}`,
    );
  const out = forward(net, weights, set.images, set.n);
  const softmaxLast =
    net.layers.at(-1)?.kind === 'activation' && (net.layers.at(-1) as { fn: string }).fn === 'softmax';
  let sse = 0;
  let ce = 0;
  let correct = 0;
  for (let s = 0; s < set.n; s++) {
    const y = out.subarray(s * 10, s * 10 + 10);
    const label = set.labels[s];
    let best = 0;
    for (let k = 0; k < 10; k++) {
      sse += (y[k] - (k === label ? 1 : 0)) ** 2;
      if (y[k] > y[best]) best = k;
    }
    if (best === label) correct++;
    if (softmaxLast) ce -= Math.log(Math.max(y[label], Number.MIN_VALUE));
    else {
      const max = Math.max(...y);
      const logSum = max + Math.log(y.reduce((a, v) => a + Math.exp(v - max), 0));
      ce += logSum - y[label];
    }
  }
  return {
    images: set.n,
    correct,
    accuracy: correct / set.n,
    mse: sse / (set.n * 10),
    crossEntropy: ce / set.n,
  };
}
