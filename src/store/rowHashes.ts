/**
 * SHA-256 of every row of a zoo's weights (as weightsSha256 computes them), hashed while the
 * rows are still being loaded: a helper thread takes rows as the loader marks them loaded,
 * and the loader joins in once it is done, so on two cores the check costs little more
 * than the last file's rows.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { weightsSha256 } from './sha256.ts';

/** Below this many bytes a thread costs more to start than it saves. */
const THREAD_MIN_BYTES = 16 << 20;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class RowHasher {
  private readonly ctl: Int32Array;
  private readonly digests: Uint8Array;
  private readonly done: Uint8Array;
  private readonly worker: Worker | null;

  /** `weights` (n rows of `dim`) should live in a SharedArrayBuffer for the helper to read it. */
  constructor(
    private readonly weights: Float32Array,
    private readonly n: number,
    private readonly dim: number,
  ) {
    const shared = weights.buffer instanceof SharedArrayBuffer && weights.byteOffset === 0;
    this.ctl = new Int32Array(new SharedArrayBuffer(16));
    this.digests = new Uint8Array(new SharedArrayBuffer(32 * n));
    this.done = new Uint8Array(new SharedArrayBuffer(n));
    this.worker = shared && LITTLE_ENDIAN && 4 * n * dim >= THREAD_MIN_BYTES
      ? new Worker(new URL('./hashThread.mjs', import.meta.url), {
          workerData: { weights: weights.buffer, rowBytes: 4 * dim, n, control: this.ctl.buffer, digests: this.digests.buffer, done: this.done.buffer },
          execArgv: [], // plain JavaScript: no TypeScript loader to start
        })
      : null;
    this.worker?.unref();
  }

  /** Rows 0..rows-1 hold their final values. */
  loaded(rows: number): void {
    Atomics.store(this.ctl, 0, rows);
    Atomics.notify(this.ctl, 0);
  }

  /** Stops the helper (the load failed). */
  cancel(): void {
    Atomics.store(this.ctl, 1, this.n);
    this.loaded(this.n);
    void this.worker?.terminate();
  }

  /** Hex SHA-256 of every row, and the rows holding a weight that is not finite; call once all rows are loaded. */
  finish(): { sha256: string[]; nonFinite: number[] } {
    this.loaded(this.n);
    const bytes = new Uint8Array(this.weights.buffer, this.weights.byteOffset, this.weights.byteLength);
    const rowBytes = 4 * this.dim;
    const hashRow = (i: number) => {
      if (LITTLE_ENDIAN) this.digests.set(createHash('sha256').update(bytes.subarray(i * rowBytes, (i + 1) * rowBytes)).digest(), 32 * i);
      else this.digests.set(Buffer.from(weightsSha256(this.weights.subarray(i * this.dim, (i + 1) * this.dim)), 'hex'), 32 * i);
      const row = this.weights.subarray(i * this.dim, (i + 1) * this.dim);
      Atomics.store(this.done, i, row.every(Number.isFinite) ? 1 : 2);
    };
    for (let i; (i = Atomics.add(this.ctl, 1, 1)) < this.n; ) hashRow(i);
    // rows the helper claimed: wait for them (and hash them here should it have died)
    const deadline = performance.now() + 10_000;
    for (let hashed; (hashed = Atomics.load(this.ctl, 2)) < this.n && this.done.indexOf(0) >= 0 && performance.now() < deadline; ) {
      Atomics.wait(this.ctl, 2, hashed, 20);
    }
    for (let i = 0; i < this.n; i++) if (!Atomics.load(this.done, i)) hashRow(i);
    void this.worker?.terminate();
    const hex = Buffer.from(this.digests.buffer).toString('hex');
    const nonFinite = Array.from(this.done.keys()).filter((i) => this.done[i] === 2);
    return { sha256: Array.from({ length: this.n }, (_, i) => hex.slice(64 * i, 64 * i + 64)), nonFinite };
  }
}
