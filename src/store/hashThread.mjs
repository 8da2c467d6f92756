// Helper thread of rowHashes.ts: hashes rows of a zoo's weights while the main thread is still
// reading later files. Plain JavaScript so it starts in milliseconds.
// Control block (int32): [0] rows loaded so far, [1] next row to claim, [2] rows hashed.
// Per row flag: 1 hashed, 2 hashed and holding a weight that is not finite.
import { createHash } from 'node:crypto';
import { workerData } from 'node:worker_threads';

const { weights, rowBytes, n, control, digests, done } = workerData;
const bytes = new Uint8Array(weights);
const values = new Float32Array(weights);
const dim = rowBytes / 4;
const finite = (i) => {
  for (let j = i * dim, end = j + dim; j < end; j++) if (values[j] - values[j] !== 0) return false;
  return true;
};
const ctl = new Int32Array(control);
const out = new Uint8Array(digests);
const flags = new Uint8Array(done);
for (;;) {
  const i = Atomics.add(ctl, 1, 1);
  if (i >= n) break;
  let loaded;
  while ((loaded = Atomics.load(ctl, 0)) <= i) Atomics.wait(ctl, 0, loaded);
  out.set(createHash('sha256').update(bytes.subarray(i * rowBytes, (i + 1) * rowBytes)).digest(), 32 * i);
  Atomics.store(flags, i, finite(i) ? 1 : 2);
  Atomics.add(ctl, 2, 1);
  Atomics.notify(ctl, 2);
}
