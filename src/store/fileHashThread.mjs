// Helper thread of fileHashes.ts: hashes whole files (bytes in SharedArrayBuffers, handed over
// through a MessagePort read synchronously) while the main thread reads and parses others.
// Plain JavaScript so it starts in milliseconds. control int32: [0] files handed over.
import { createHash } from 'node:crypto';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';

const { control, digests, done, port } = workerData;
const ctl = new Int32Array(control);
const out = new Uint8Array(digests);
const flags = new Int32Array(done);
for (;;) {
  const handed = Atomics.load(ctl, 0);
  const entry = receiveMessageOnPort(port);
  if (!entry) {
    Atomics.wait(ctl, 0, handed);
    continue;
  }
  const { index, bytes } = entry.message;
  if (index < 0) break;
  out.set(createHash('sha256').update(new Uint8Array(bytes)).digest(), 32 * index);
  Atomics.store(flags, index, 1);
  Atomics.notify(flags, index);
}
