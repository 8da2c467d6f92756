/**
 * A zoo's checkpoints as blocks of rows read from disk one epoch file at a time (each checked
 * against the SHA-256 its manifest records before it is parsed), for analyses of zoos larger
 * than memory (reduce/streamingProducts.ts). Rows are in loadZoo's order (core/zoo.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseCheckpoints } from './checkpointFile.ts';
import { addEpochLabels, emptyZooLabels, type ZooLabels } from './loadZoo.ts';
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
      const out = emptyZooLabels(runs * (epochs + 1));
      for (let e = 0; e <= epochs; e++) addEpochLabels(out, readRows(e), e, runs, checkpointPath(zooDir, e));
      return out;
    },
  };
}
