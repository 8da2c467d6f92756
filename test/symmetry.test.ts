/**
 * Hidden-unit symmetries of the Table 1 models: permuted (and, for the CNN, rescaled) copies
 * compute the same outputs as the original on real MNIST images, with the engine and with
 * tfjs; and alignTo recovers the original from such a copy, also with noise added.
 */
import { tf } from './support/tf.ts';
import { beforeAll, describe, expect, it } from 'vitest';
import { ARCHITECTURES, type ArchName } from '../src/core/architectures.ts';
import { Rng } from '../src/core/rng.ts';
import { toImageSet, type ImageSet } from '../src/data/imageSet.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { alignTo, permuteUnits, scaleUnits, symmetriesOf } from '../src/identify/symmetry.ts';
import { createModel } from '../src/train/models/factory.ts';
import { tfjsForward } from './support/tfjsReference.ts';

const IMAGES = 200;
let images: ImageSet;
beforeAll(() => {
  images = toImageSet(loadMnist({ trainSize: 1, testSize: IMAGES }).test);
});

/** Kaiming-normal weights written here from the fan-ins (not the toolkit's initialiser). */
function randomWeights(arch: ArchName, rng: Rng): Float32Array {
  const a = ARCHITECTURES[arch];
  const w = new Float32Array(a.size);
  for (const p of a.params)
    for (let i = 0; i < p.size; i++) w[p.offset + i] = rng.nextNormal() * Math.sqrt(2 / p.fanIn);
  return w;
}

/** A copy with every hidden layer permuted at random and, with `scale`, rescaled by factors in [0.5, 2]. */
function disguised(arch: ArchName, w: Float32Array, rng: Rng, scale: boolean) {
  const sym = symmetriesOf(ARCHITECTURES[arch]);
  const copy = w.slice();
  let moved = 0;
  for (const layer of sym.hidden) {
    const perm = rng.permutation(layer.units);
    moved += perm.filter((src, j) => src !== j).length;
    permuteUnits(copy, layer, perm);
    if (scale)
      scaleUnits(
        copy,
        layer,
        Float64Array.from({ length: layer.units }, () => 0.5 * 4 ** rng.nextFloat()),
      );
  }
  return { copy, moved };
}

function engineOutputs(arch: ArchName, w: Float32Array): Float64Array {
  const model = createModel(arch);
  const w64 = Float64Array.from(w);
  const out = new Float64Array(IMAGES * 10);
  const one = new Float64Array(10);
  for (let s = 0; s < IMAGES; s++) {
    model.predict(w64, 0, images, s, one);
    out.set(one, s * 10);
  }
  return out;
}

function tfjsOutputs(arch: ArchName, w: Float32Array): Float32Array {
  return tf.tidy(() => {
    const ws = ARCHITECTURES[arch].params.map((p) =>
      tf.tensor(w.subarray(p.offset, p.offset + p.size), p.shape),
    );
    return tfjsForward(arch, ws, tf.tensor2d(images.images, [IMAGES, 196])).dataSync() as Float32Array;
  });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('hidden-unit symmetries', () => {
  it('finds the hidden layers of both Table 1 models, and scale symmetry only for the CNN', () => {
    const ffnn = symmetriesOf(ARCHITECTURES.ffnn);
    expect(ffnn.hidden.map((l) => [l.weight.name, l.next.name, l.units, l.block])).toEqual([
      ['fc1.weight', 'fc2.weight', 10, 1],
      ['fc2.weight', 'fc3.weight', 10, 1],
    ]);
    expect([ffnn.scale, ffnn.note]).toEqual([
      false,
      'no scale alignment: sigmoid is not positively homogeneous',
    ]);
    const cnn = symmetriesOf(ARCHITECTURES.cnn);
    expect(cnn.hidden.map((l) => [l.weight.name, l.next.name, l.units, l.block])).toEqual([
      ['conv1.weight', 'conv2.weight', 16, 1],
      ['conv2.weight', 'fc.weight', 8, 1],
    ]);
    expect([cnn.scale, cnn.note]).toEqual([true, null]);
  });

  for (const [arch, scale] of [
    ['ffnn', false],
    ['cnn', false],
    ['cnn', true],
  ] as const) {
    const what = `${arch}, permuted${scale ? ' and rescaled' : ''}`;
    it(`${what}: the copy computes the same outputs (engine and tfjs), and alignTo recovers the original`, () => {
      const rng = new Rng(3, 1);
      const w = randomWeights(arch, rng);
      const { copy, moved } = disguised(arch, w, rng, scale);
      expect(maxDiff(copy, w)).toBeGreaterThan(0.1); // really another point of weight space
      expect(maxDiff(engineOutputs(arch, copy), engineOutputs(arch, w))).toBeLessThan(1e-5);
      expect(maxDiff(tfjsOutputs(arch, copy), tfjsOutputs(arch, w))).toBeLessThan(1e-5);
      const aligned = alignTo(symmetriesOf(ARCHITECTURES[arch]), copy, w);
      expect(maxDiff(aligned.weights, w)).toBeLessThan(1e-5);
      expect([aligned.moved, aligned.units, aligned.scaled]).toEqual([
        moved,
        arch === 'ffnn' ? 20 : 24,
        arch === 'cnn',
      ]);
    });
  }

  it('aligns a permuted, rescaled copy with 1 % noise back to within the noise of the original', () => {
    const rng = new Rng(5, 1);
    const w = randomWeights('cnn', rng);
    const noisy = w.map((v) => v * (1 + 0.01 * rng.nextNormal()));
    const { copy } = disguised('cnn', noisy, rng, true);
    const dist = (a: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - w[i]) ** 2, 0));
    const aligned = alignTo(symmetriesOf(ARCHITECTURES.cnn), copy, w).weights;
    expect(dist(aligned)).toBeLessThan(2 * dist(noisy));
    expect(dist(copy)).toBeGreaterThan(20 * dist(noisy));
  });
});
