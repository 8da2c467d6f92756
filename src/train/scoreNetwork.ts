/**
 * A checkpoint's test loss and accuracy, from its network's reference forward pass
 * (forward.ts) on MNIST images: what `weightspace eval` reports for any zoo whose network
 * reads 14x14 images. The loss is the one the toolkit trains with (mean squared error against
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

/** Images the network can read: 196 values (a vector, or a 1x14x14 map; one channel, so any order). */
export const MNIST_14_VALUES = 196;

export function scoreNetwork(
  net: Network,
  weights: ArrayLike<number>,
  set: { n: number; images: Float32Array; labels: Uint8Array },
): NetworkScore {
  const shapes = networkShapes(net);
  const inputs = net.input.reduce((a, b) => a * b, 1);
  const outputs = (shapes[shapes.length - 1] ?? net.input).reduce((a, b) => a * b, 1);
  if (inputs !== MNIST_14_VALUES || (net.input.length === 3 && net.input[0] !== 1))
    throw new NetworkError(
      `the network reads [${net.input.join(', ')}]; eval runs MNIST's 14x14 images (196 values, one channel)`,
    );
  if (outputs !== 10)
    throw new NetworkError(`the network has ${outputs} outputs; eval scores MNIST's 10 classes`);
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
