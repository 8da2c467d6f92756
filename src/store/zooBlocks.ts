/**
 * A zoo's checkpoints as blocks of rows read from disk one epoch file at a time (each checked
 * against the SHA-256 its manifest records before it is parsed), for analyses of zoos larger
 * than memory (reduce/streamingProducts.ts). Rows are in loadZoo's order (core/zoo.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { zooRowIndex } from '../core/zoo.ts';
import { parseCheckpoints, type CheckpointRows } from './checkpointFile.ts';
import { sha256Hex } from './fileHashes.ts';
import {
  checkpointFileName,
  checkpointPath,
  readManifest,
  zooShape,
  ZooError,
  type ZooManifest,
} from './manifest.ts';

export interface ZooBlocks {
  manifest: ZooManifest;
  n: number;
  d: number;
  runs: number;
  epochs: number;
  /** One block per epoch file: `runs` rows each. */
  blockRows: number[];
  /** Epoch file `epoch`'s weights (runs x d): a view valid until the next read. */
  read(epoch: number): Float32Array;
  /** Bytes of the largest block's weights: what one pass holds in memory at a time. */
  blockBytes: number;
  /** Byte offset of the weights in epoch file `epoch`, as the last read of it found. */
  weightsOffset(epoch: number): number;
  /** Every row's labels, metrics and stored hash, in row order (one pass over the files). */
  labels(): ZooLabels;
}

/** A zoo's columns other than the weights, in row order (core/zoo.ts). */
export type ZooLabels = Pick<
  CheckpointRows,
  'run' | 'seed' | 'epoch' | 'step' | 'trainLoss' | 'testLoss' | 'testAccuracy' | 'sha256'
> & { metrics: Record<string, Float64Array> };

export function zooBlocks(zooDir: string, options: { verify?: boolean } = {}): ZooBlocks {
  const manifest = readManifest(zooDir);
  const epochs = manifest.epochsCompleted;
  if (epochs < 0) throw new ZooError(`zoo ${zooDir} has no checkpoints yet`);
  const { runs } = zooShape(manifest);
  const d = manifest.architecture.size;
  const verify = options.verify ?? true;
  // one buffer for every file read: a pass over a big zoo would otherwise leave a file's worth
  // of garbage per epoch for the collector to catch up with
  let buffer = Buffer.alloc(0);
  const checked = new Set<number>();
  const offsets: number[] = [];
  const readInto = (path: string): Uint8Array => {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (buffer.length < size) buffer = Buffer.alloc(size);
      let at = 0;
      while (at < size) at += readSync(fd, buffer, at, size - at, at) || size;
      return buffer.subarray(0, size);
    } finally {
      closeSync(fd);
    }
  };
  const readRows = (epoch: number) => {
    const path = checkpointPath(zooDir, epoch);
    const bytes = readInto(path);
    const expected = manifest.files?.[checkpointFileName(epoch)];
    // each file is hashed on its first read only: later passes of the same analysis trust it
    if (verify && expected !== undefined && !checked.has(epoch) && sha256Hex(bytes) !== expected)
      throw new ZooError(
        `${path} is damaged: its bytes do not match the SHA-256 recorded in its manifest; run \`npm run verify -- --zoo ${zooDir}\``,
      );
    checked.add(epoch);
    const { rows } = parseCheckpoints(bytes, path, { view: true }); // read() hands the weights on at once
    if (rows.weights.buffer !== bytes.buffer)
      throw new Error(`internal: the Arrow reader copied the weights of ${path}`);
    offsets[epoch] = rows.weights.byteOffset - bytes.byteOffset;
    if (rows.size !== d || rows.run.length !== runs)
      throw new ZooError(
        `${path} holds ${rows.run.length} x ${rows.size} weights, the manifest promises ${runs} x ${d}`,
      );
    return rows;
  };
  return {
    manifest,
    n: runs * (epochs + 1),
    d,
    runs,
    epochs,
    blockRows: new Array(epochs + 1).fill(runs),
    blockBytes: runs * d * 4,
    read: (epoch) => readRows(epoch).weights,
    weightsOffset(epoch) {
      if (offsets[epoch] === undefined) readRows(epoch);
      return offsets[epoch];
    },
    labels() {
      const n = runs * (epochs + 1);
      const out: ZooLabels = {
        run: new Int32Array(n),
        seed: new Uint32Array(n),
        epoch: new Int32Array(n),
        step: new Int32Array(n),
        trainLoss: new Float64Array(n),
        testLoss: new Float64Array(n),
        testAccuracy: new Float64Array(n),
        sha256: new Array<string>(n),
        metrics: {},
      };
      for (let e = 0; e <= epochs; e++) {
        const rows = readRows(e);
        for (let i = 0; i < runs; i++) {
          if (rows.run[i] !== i || rows.epoch[i] !== e)
            throw new ZooError(
              `${checkpointPath(zooDir, e)} row ${i}: labelled run ${rows.run[i]}, epoch ${rows.epoch[i]}, where run ${i} of epoch ${e} belongs; the zoo is damaged`,
            );
        }
        const row = zooRowIndex(runs, 0, e);
        for (const key of ['run', 'seed', 'epoch', 'step', 'trainLoss', 'testLoss', 'testAccuracy'] as const)
          (out[key] as Float64Array).set(rows[key] as Float64Array, row);
        for (let i = 0; i < runs; i++) out.sha256[row + i] = rows.sha256[i];
        for (const [name, values] of Object.entries(rows.metrics ?? {}))
          (out.metrics[name] ??= new Float64Array(n).fill(NaN)).set(values, row);
      }
      return out;
    },
  };
}
