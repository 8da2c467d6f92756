/**
 * A zoo opened for analysis, whether its weights fit in memory or not: the one place that
 * decides. A zoo whose weights fit within the memory bound is loaded (loadZoo); a larger one is
 * streamed from its epoch files (zooBlocks), with its labels read in one pass and its rows
 * read on demand. The analyses (TruncatedSVD, clusterZoo, ZooIndex, embeddings, plots) take the
 * source and work either way; what needs the whole matrix in memory asks reduce/zooMatrix.ts's
 * `requireWeights`.
 */
import { option, UserError } from '../core/errors.ts';
import { inMemorySource, type RowReader } from '../core/zoo.ts';
import { defaultMemory } from '../util/memory.ts';
import { loadZoo, type Zoo, type ZooInfo } from './loadZoo.ts';
import { readManifest, zooWeightBytes, type ZooManifest } from './manifest.ts';
import { fileRows, zooLabels } from './rowReader.ts';
import { zooBlocks, type ZooBlocks } from './zooBlocks.ts';

interface SourceParts {
  /** The zoo's folder ('' for a zoo made in memory). */
  dir: string;
  /** Labels, shape, manifest and digest: everything but the weights. */
  zoo: ZooInfo;
  /** Row i's weights (core/zoo.ts's order); `rows.inMemory` says whether reading one is free. */
  rows: RowReader;
  /** The memory bound it was opened with (bytes): an analysis of a streamed zoo stays within it. */
  memory: number;
}

/** A zoo to analyse: its weights in memory (`weights`), or its epoch files to stream (`blocks`). */
export type ZooSource = SourceParts &
  (
    | { /** n x dim, row-major. */ weights: Float32Array; blocks: null }
    | { weights: null; /** One block of rows per epoch file. */ blocks: ZooBlocks }
  );

export interface OpenZooOptions {
  /** Bytes the zoo's weights may take in memory; a larger zoo is streamed (default util/memory.ts's defaultMemory). */
  memory?: number;
  /** Check every file against its manifest's SHA-256 as it is read (default true). */
  verify?: boolean;
}

/** Whether a zoo's weights fit within `memory` bytes: the one test of whether it is loaded or streamed. */
export const weightsFit = (manifest: ZooManifest, memory: number): boolean =>
  zooWeightBytes(manifest) <= memory;

/** Opens the zoo in `dir`: loaded when its weights fit within `memory`, else streamed from its files. */
export function openZoo(dir: string, options: OpenZooOptions = {}): ZooSource {
  const memory = options.memory ?? defaultMemory();
  if (!(memory > 0))
    throw new UserError(`${option('memory')} must be a positive number of bytes, got ${memory}`);
  if (weightsFit(readManifest(dir), memory))
    return inMemorySource(loadZoo(dir, { verify: options.verify }), { dir, memory });
  return streamZoo(dir, { ...options, memory });
}

/** Opens the zoo in `dir` streamed from its files whatever its size (openZoo does it when the zoo is larger than memory). */
export function streamZoo(dir: string, options: OpenZooOptions = {}): ZooSource {
  const blocks = zooBlocks(dir, { verify: options.verify });
  const zoo = zooLabels(blocks);
  return {
    dir,
    zoo,
    rows: fileRows(dir, zoo, blocks),
    memory: options.memory ?? defaultMemory(),
    weights: null,
    blocks,
  };
}

/** A loaded zoo as a source (e.g. one made in memory by a test or a notebook). */
export const zooSource = (zoo: Zoo, place: { dir?: string; memory?: number } = {}): ZooSource =>
  inMemorySource(zoo, { dir: place.dir ?? '', memory: place.memory ?? defaultMemory() });
