/**
 * SHA-256 of files, checked *before* they are parsed: apache-arrow's reader can loop forever
 * or allocate without bound on a damaged file, so a file is handed to it only once its bytes
 * match the hash recorded when it was written. On a zoo of many files a helper thread hashes
 * files while the main thread parses those already checked (FileHasher).
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
    for (let at = 0; at < size;) {
      const got = readSync(fd, bytes, at, size - at, at);
      if (got === 0) throw new Error(`${path} shrank while being read`);
      at += got;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/**
 * Hashes files 0..count-1 as they are handed over. With a helper thread (when `totalBytes` is
 * large) both threads take the next unhashed file from a shared counter: the helper all the
 * time, the caller whenever it would otherwise wait for a digest.
 */
export class FileHasher {
  private readonly digests: Uint8Array;
  private readonly done: Int32Array;
  private readonly ctl = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker | null = null;
  private readonly port: MessagePort | null = null;
  private readonly files: (Uint8Array | undefined)[];

  constructor(
    private readonly count: number,
    totalBytes: number,
  ) {
    this.digests = new Uint8Array(new SharedArrayBuffer(32 * count));
    this.done = new Int32Array(new SharedArrayBuffer(4 * count));
    this.files = new Array(count);
    if (totalBytes >= THREAD_MIN_BYTES) {
      const { port1, port2 } = new MessageChannel();
      this.worker = new Worker(new URL('./fileHashThread.mjs', import.meta.url), {
        workerData: {
          control: this.ctl.buffer,
          digests: this.digests.buffer,
          done: this.done.buffer,
          port: port2,
          count,
        },
        transferList: [port2],
        execArgv: [], // plain JavaScript: no TypeScript loader to start
      });
      this.worker.unref();
      this.port = port1 as unknown as MessagePort;
    }
  }

  /** Hands file `index`'s bytes (from readShared) over for hashing. */
  submit(index: number, bytes: Uint8Array): void {
    this.files[index] = bytes;
    if (!this.port) return;
    this.port.postMessage({ index, bytes: bytes.buffer });
    Atomics.add(this.ctl, 0, 1);
    Atomics.notify(this.ctl, 0);
  }

  /** The hex SHA-256 of file `index`, hashing files here while the helper is busy or gone. */
  digest(index: number): string {
    const deadline = performance.now() + 10_000;
    while (Atomics.load(this.done, index) === 0) {
      const next = this.worker ? Atomics.add(this.ctl, 1, 1) : index;
      if (next < this.count && this.files[next]) this.hashHere(next);
      else if (performance.now() > deadline)
        this.hashHere(index); // the helper is gone
      else Atomics.wait(this.done, index, 0, 20);
    }
    this.files[index] = undefined;
    return Buffer.from(this.digests.subarray(32 * index, 32 * index + 32)).toString('hex');
  }

  private hashHere(i: number): void {
    this.digests.set(createHash('sha256').update(this.files[i]!).digest(), 32 * i);
    Atomics.store(this.done, i, 1);
  }

  close(): void {
    Atomics.store(this.ctl, 1, this.count); // nothing left to claim
    this.port?.close();
    void this.worker?.terminate();
  }
}
