/** The idx reader on the real MNIST files and on broken ones. */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultMnistDir,
  loadMnist,
  MNIST_FILES,
  parseIdxImages,
  parseIdxLabels,
} from '../src/data/mnist.ts';
import { tempDir } from './helpers.ts';

describe('MNIST', () => {
  const full = loadMnist();

  it('reads all 60,000 training and 10,000 test images, downsampled to 14x14 in [0, 1]', () => {
    expect(full.train.n).toBe(60000);
    expect(full.test.n).toBe(10000);
    expect(full.train.images.length).toBe(60000 * 196);
    expect(Array.from(full.train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]); // the well-known first labels
    expect(full.test.labels[0]).toBe(7);
    let min = Infinity;
    let max = -Infinity;
    let zeros = 0;
    for (const v of full.train.images) {
      if (v < min) min = v;
      if (v > max) max = v;
      if (v === 0) zeros++;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    expect(zeros / full.train.images.length).toBeCloseTo(0.74, 1);
  });

  it('pools each 2x2 block to its mean', () => {
    const raw = parseIdxImages(readFileSync(join(defaultMnistDir(), MNIST_FILES.trainImages))).pixels;
    const img = 123;
    const [y, x] = [7, 5];
    const p = (r: number, c: number) => raw[img * 784 + r * 28 + c];
    const expected =
      (p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1)) / 4 / 255;
    expect(full.train.images[img * 196 + y * 14 + x]).toBeCloseTo(expected, 6);
  });

  it('takes the first N images of a subset', () => {
    const sub = loadMnist({ trainSize: 100, testSize: 10 });
    expect(sub.train.n).toBe(100);
    expect(sub.train.images).toEqual(full.train.images.subarray(0, 100 * 196));
    expect(() => loadMnist({ trainSize: 0 })).toThrow(/train size must be an integer from 1 to 60000/);
  });

  it('rejects wrong magic numbers and truncated files', () => {
    const bytes = readFileSync(join(defaultMnistDir(), MNIST_FILES.testLabels));
    expect(() => parseIdxImages(bytes)).toThrow(/bad magic number 0x801 \(expected 0x803\)/);
    expect(() => parseIdxLabels(bytes.subarray(0, 100))).toThrow(/truncated or corrupt/);
    expect(() => parseIdxLabels(bytes.subarray(0, 3))).toThrow(/too short for an idx header/);
  });

  it('names the missing file and the fix when the data is absent', () => {
    const dir = tempDir();
    expect(() => loadMnist({ dir })).toThrow(
      /MNIST file not found: .*train-images-idx3-ubyte \(run `npm ci`/,
    );
    for (const f of Object.values(MNIST_FILES)) copyFileSync(join(defaultMnistDir(), f), join(dir, f));
    writeFileSync(
      join(dir, MNIST_FILES.trainImages),
      readFileSync(join(dir, MNIST_FILES.trainImages)).subarray(0, 5000),
    );
    expect(() => loadMnist({ dir })).toThrow(/train images: file has 5000 bytes, header promises 47040016/);
  });
});
