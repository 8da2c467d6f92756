/**
 * A zoo's checkpoints one row at a time, for analyses that visit a few rows (identify's
 * candidate runs) of a zoo that may be larger than memory: views of a loaded zoo's matrix, or
 * rows read from the epoch files at the offsets a streamed pass over them found (zooBlocks,
 * which checked each file against its manifest hash on that pass; `verifyRows` checks every
 * row read again against its own SHA-256, at the cost of hashing it).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { zooRowLabel, type RowReader } from '../core/zoo.ts';
import { zooDigest, ZooIntegrityError, type ZooInfo, type ZooLabels } from './loadZoo.ts';
import { checkpointPath, zooShape, type ZooManifest } from './manifest.ts';
import { weightsSha256 } from './sha256.ts';
import type { ZooBlocks } from './zooBlocks.ts';

const CACHED_ROWS = 8; // a segment's two ends and a leave-one-out triple stay read

/** Rows read from the epoch files of a streamed zoo (its labels from zooLabels). */
export function fileRows(zooDir: string, zoo: ZooInfo, blocks: ZooBlocks, verifyRows = false): RowReader {
  const d = zoo.dim;
  const cache = new Map<number, Float32Array>();
  return {
    inMemory: false,
    row(i) {
      const hit = cache.get(i);
      if (hit) return hit;
      const { run, epoch } = zooRowLabel(zoo.runs, i);
      const path = checkpointPath(zooDir, epoch);
      const w = new Float32Array(d);
      const fd = openSync(path, 'r');
      try {
        const bytes = new Uint8Array(w.buffer);
        const at = blocks.weightsOffset(epoch) + run * d * 4;
        let got = 0;
        while (got < bytes.length) {
          const n = readSync(fd, bytes, got, bytes.length - got, at + got);
          if (n === 0) break;
          got += n;
        }
      } finally {
        closeSync(fd);
      }
      if (verifyRows && weightsSha256(w) !== zoo.sha256[i])
        throw new ZooIntegrityError(
          `${path}: run ${run}'s weights do not match their SHA-256; run \`npm run verify -- --zoo ${zooDir}\``,
        );
      if (cache.size >= CACHED_ROWS) cache.delete(cache.keys().next().value!);
      cache.set(i, w);
      return w;
    },
  };
}

/** A zoo's labels without its weights (one pass over the files), for analyses that stream the weights. */
export const zooLabels = (blocks: ZooBlocks): ZooInfo => zooInfo(blocks.manifest, blocks.labels());

/** A zoo's info from its manifest and its labels (in row order); `digest` when already known. */
export function zooInfo(manifest: ZooManifest, labels: ZooLabels, digest?: string): ZooInfo {
  const { runs } = zooShape(manifest);
  return {
    ...labels,
    manifest,
    n: labels.run.length,
    dim: manifest.architecture.size,
    runs,
    epochs: manifest.epochsCompleted,
    digest: digest ?? zooDigest(labels.sha256),
  };
}
