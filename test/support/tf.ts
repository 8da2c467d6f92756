/**
 * @tensorflow/tfjs for the tests, with its once-per-process advice to install tfjs-node
 * silenced (IS_TEST: tfjs's own flag for that): every test worker would print it again.
 */
import * as tf from '@tensorflow/tfjs';

tf.env().set('IS_TEST', true);

export { tf };
