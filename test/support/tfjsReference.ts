/**
 * The two architectures written with @tensorflow/tfjs ops: an independent implementation
 * used to check the engine's gradients (tests) and as the one-model-at-a-time baseline
 * (bench). Weights are passed in PyTorch layout, as in the flat vectors.
 */
import { tf } from './tf.ts';
import type { ArchName } from '../../src/core/architectures.ts';

/** Outputs [B, 10] for images x [B, 196]; `ws` are the three weight tensors in index-map order. */
export function tfjsForward(arch: ArchName, ws: tf.Tensor[], x: tf.Tensor2D): tf.Tensor2D {
  const B = x.shape[0];
  if (arch === 'ffnn') {
    const [w1, w2, w3] = ws;
    const a1 = tf.sigmoid(tf.matMul(x, w1, false, true));
    const a2 = tf.sigmoid(tf.matMul(a1, w2, false, true));
    return tf.matMul(a2, w3, false, true);
  }
  const [c1, c2, fc] = ws;
  const toTf = (w: tf.Tensor) => tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D; // [out,in,kh,kw] -> [kh,kw,in,out]
  const pad = (t: tf.Tensor4D) =>
    tf.pad(t, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
  let h = tf.reshape(x, [B, 14, 14, 1]) as tf.Tensor4D;
  h = tf.leakyRelu(tf.maxPool(tf.conv2d(pad(h), toTf(c1), 2, 'valid'), 2, 2, 'valid'), 0.01);
  h = tf.leakyRelu(tf.maxPool(tf.conv2d(pad(h), toTf(c2), 2, 'valid'), 2, 2, 'valid'), 0.01);
  return tf.matMul(tf.reshape(h, [B, 8]), fc, false, true);
}
