/**
 * SHA-256 of files, checked *before* they are parsed: apache-arrow's reader can loop forever
 * or allocate without bound on a damaged file, so a file is handed to it only once its bytes
 * match the hash recorded when it was written. On a zoo of many files a helper thread hashes
 * file e+1 while the main thread parses file e, so the check costs little more than one file.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MessageChannel, Worker } from 'node:worker_threads';

/** Below this many bytes in all, a thread costs more to start than it saves. */
const THREAD_MIN_BYTES = 16 << 20;

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A file's bytes in a SharedArrayBuffer (so a helper thread can read them without a copy). */
export function readShared(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const bytes = new Uint8Array(new SharedArrayBuffer(size));
    for (let at = 0; at < size; ) {
      const got = readSync(fd, bytes, at, size - at, at);
      if (got === 0) throw new Error(`${path} shrank while being read`);
      at += got;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Hashes files 0..count-1 as they are handed over: on a helper thread when `totalBytes` is large. */
export class FileHasher {
  private readonly digests: Uint8Array;
  private readonly done: Int32Array;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker | null = null;
  private readonly port: MessagePort | null = null;
  private readonly pending = new Set<number>();

  constructor(count: number, totalBytes: number) {
    this.digests = new Uint8Array(new SharedArrayBuffer(32 * count));
    this.done = new Int32Array(new SharedArrayBuffer(4 * count));
    if (totalBytes >= THREAD_MIN_BYTES) {
      const { port1, port2 } = new MessageChannel();
      this.worker = new Worker(new URL('./fileHashThread.mjs', import.meta.url), {
        workerData: { control: this.ctl.buffer, digests: this.digests.buffer, done: this.done.buffer, port: port2 },
        transferList: [port2],
        execArgv: [], // plain JavaScript: no TypeScript loader to start
      });
      this.worker.unref();
      this.port = port1 as unknown as MessagePort;
    }
  }

  /** Hands file `index`'s bytes (from readShared) over for hashing. */
  submit(index: number, bytes: Uint8Array): void {
    if (!this.port) {
      this.pending.add(index);
      return;
    }
    this.port.postMessage({ index, bytes: bytes.buffer });
    Atomics.add(this.ctl, 0, 1);
    Atomics.notify(this.ctl, 0);
  }

  /** The hex SHA-256 of file `index` (`bytes`, as submitted), waiting for the helper unless it has stopped. */
  digest(index: number, bytes: Uint8Array): string {
    if (this.pending.delete(index) || !this.worker) return sha256Hex(bytes);
    const deadline = performance.now() + 10_000;
    while (Atomics.load(this.done, index) === 0) {
      if (performance.now() > deadline) return sha256Hex(bytes); // the helper is gone: hash here
      Atomics.wait(this.done, index, 0, 50);
    }
    return Buffer.from(this.digests.subarray(32 * index, 32 * index + 32)).toString('hex');
  }

  close(): void {
    if (this.port) {
      this.port.postMessage({ index: -1 });
      Atomics.add(this.ctl, 0, 1);
      Atomics.notify(this.ctl, 0);
      this.port.close();
    }
    void this.worker?.terminate();
  }
}
