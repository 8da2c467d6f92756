// Helper thread of fileHashes.ts: takes files to hash from a shared counter, as the main
// thread does when it would otherwise wait, so the two share the work. File bytes arrive in
// SharedArrayBuffers through a MessagePort read synchronously. Plain JavaScript so it starts
// in milliseconds. control int32: [0] files handed over, [1] next file to claim.
import { createHash } from 'node:crypto';
import { receiveMessageOnPort, workerData } from 'node:worker_threads';

const { control, digests, done, port, count } = workerData;
const ctl = new Int32Array(control);
const out = new Uint8Array(digests);
const flags = new Int32Array(done);
const files = new Map();
for (;;) {
  const i = Atomics.add(ctl, 1, 1);
  if (i >= count) break;
  while (!files.has(i)) {
    const handed = Atomics.load(ctl, 0);
    const entry = receiveMessageOnPort(port);
    if (entry) files.set(entry.message.index, entry.message.bytes);
    else Atomics.wait(ctl, 0, handed);
  }
  out.set(
    createHash('sha256')
      .update(new Uint8Array(files.get(i)))
      .digest(),
    32 * i,
  );
  files.delete(i);
  Atomics.store(flags, i, 1);
  Atomics.notify(flags, i);
}
