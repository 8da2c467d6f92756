/**
 * Images in the form the training kernels read: dense pixels for the CNN, plus a sparse
 * (CSR) copy of the non-zero pixels for the FFNN, whose first layer then touches only the
 * pixels that are not exactly 0 (a minority; docs/performance.md). Arrays may sit on SharedArrayBuffers
 * so every worker thread reads the same memory without copies.
 */
import type { MnistSplit } from './mnist.ts';
import { PIXELS } from './mnist.ts';

export interface ImageSet {
  n: number;
  images: Float32Array; // n * 196
  labels: Uint8Array; // n
  nzStart: Int32Array; // n + 1: non-zero pixels of image i are nzStart[i] .. nzStart[i+1]-1
  nzPixel: Uint8Array; // pixel index 0..195
  nzValue: Float32Array;
}

/** Builds an ImageSet; with `shared`, every array lives on a SharedArrayBuffer. */
export function toImageSet(split: MnistSplit, shared = false): ImageSet {
  const { n, images, labels } = split;
  let nnz = 0;
  for (let i = 0; i < images.length; i++) if (images[i] !== 0) nnz++;
  const alloc = <T>(ctor: new (buf: ArrayBufferLike) => T, bytes: number): T =>
    new ctor(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const set: ImageSet = {
    n,
    images: alloc(Float32Array, images.byteLength),
    labels: alloc(Uint8Array, n),
    nzStart: alloc(Int32Array, 4 * (n + 1)),
    nzPixel: alloc(Uint8Array, nnz),
    nzValue: alloc(Float32Array, 4 * nnz),
  };
  set.images.set(images);
  set.labels.set(labels);
  let k = 0;
  for (let i = 0; i < n; i++) {
    set.nzStart[i] = k;
    for (let p = 0; p < PIXELS; p++) {
      const v = images[i * PIXELS + p];
      if (v !== 0) {
        set.nzPixel[k] = p;
        set.nzValue[k] = v;
        k++;
      }
    }
  }
  set.nzStart[n] = k;
  return set;
}
