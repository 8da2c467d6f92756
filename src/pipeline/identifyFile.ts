/**
 * identify for a model file, the whole recipe the CLI and the server share: choose the zoo
 * it fits, open it, load the zoo's saved index (or build and save it), read the file, ask
 * identify, and with `record` keep an inferred link (store/inferredLinks.ts).
 */
import { resolve } from 'node:path';
import { identify, type Identification } from '../identify/identify.ts';
import { ZooIndex } from '../identify/zooIndex.ts';
import type { Calibration } from '../identify/calibration.ts';
import { readModel, type ReadModelOptions } from '../store/formats/readModel.ts';
import { readIndexFiles, writeIndexFiles } from '../store/indexFile.ts';
import { recordInferredLink } from '../store/inferredLinks.ts';
import { incompleteNote } from '../store/manifest.ts';
import { openZoo, type ZooSource } from '../store/openZoo.ts';
import { weightsSha256 } from '../store/sha256.ts';
import { chooseZoo } from './modelZoo.ts';

export interface IdentifyFileOptions {
  /** The zoo to search (default: the zoo under `root` the file fits, modelZoo.ts). */
  zoo?: string;
  /** Where zoos are found when `zoo` is not given (default zoo/). */
  root?: string;
  /** The zoos to choose among when `zoo` is not given (default: those under `root`). */
  zoos?: string[];
  /** Which row of a checkpoint file holding several. */
  pick?: ReadModelOptions;
  /** Candidates to list (identify's default when absent). */
  top?: number;
  /** Keep the result as an inferred link of the zoo (never for an unknown verdict). */
  record?: boolean;
  /** Save a built index beside the zoo (default true; the server writes nothing there). */
  save?: boolean;
  /** Build the index again even when the saved one is current. */
  rebuild?: boolean;
  /** Check every checkpoint's SHA-256 while opening the zoo (default true). */
  verify?: boolean;
  /** Bytes the zoo's weights may take in memory (openZoo's default when absent). */
  memory?: number;
  /** Indexes kept between calls (the server's), by zoo folder and content digest. */
  cache?: Map<string, ZooIndex>;
  /** How the file is named in results and links (default: its path). */
  name?: string;
  /** Remarks: an incomplete zoo, a file fitting several zoos, an index built. */
  onNote?: (message: string) => void;
  /** Progress of an index build. */
  onProgress?: (step: string, done: number, total: number) => void;
}

export interface IdentifiedFile {
  zooDir: string;
  /** What was read: the format and the row. */
  description: string;
  result: Identification;
  index: ZooIndex;
  /** The query's time, the index loaded. */
  milliseconds: number;
  /** The SHA-256 of the weights read. */
  sha256: string;
  /** Whether an inferred link was written. */
  recorded: boolean;
}

export function identifyFile(path: string, options: IdentifyFileOptions = {}): IdentifiedFile {
  const note = options.onNote ?? (() => {});
  const pick = options.pick ?? {};
  const zooDir = chooseZoo(path, pick, {
    zoo: options.zoo,
    root: options.root,
    zoos: options.zoos,
    onNote: note,
  });
  const source = openZoo(zooDir, { memory: options.memory, verify: options.verify });
  const incomplete = incompleteNote(source.zoo.manifest);
  if (incomplete) note(`${zooDir}: ${incomplete}`);
  const { weights, description } = readModel(path, source.zoo.manifest.architecture, pick);
  const index = zooIndex(zooDir, source, options);
  index.prepare(); // the query time below is a loaded index's
  const start = performance.now();
  const result = identify(index, weights, { top: options.top });
  const milliseconds = performance.now() - start;
  const sha256 = weightsSha256(weights);
  const recorded = Boolean(options.record) && result.verdict !== 'unknown';
  if (recorded)
    recordInferredLink(zooDir, {
      child: { ref: null, file: options.name ?? resolve(path), sha256 },
      run: result.run,
      epoch: result.epoch,
      verdict: result.verdict,
      pValue: result.pValue,
      pValueFloor: result.pValueFloor,
      recordedAt: new Date().toISOString(),
    });
  else if (options.record) note(`nothing recorded: ${description} is unknown to ${zooDir}`);
  return { zooDir, description, result, index, milliseconds, sha256, recorded };
}

/** The zoo's index: from the cache, the saved files, or built (and saved) now. */
function zooIndex(dir: string, source: ZooSource, options: IdentifyFileOptions): ZooIndex {
  const { zoo } = source;
  const key = `${resolve(dir)}\0${zoo.digest}`;
  const cached = options.rebuild ? undefined : options.cache?.get(key);
  if (cached) return cached;
  const saved = options.rebuild ? null : readIndexFiles<Calibration>(dir, zoo.manifest, zoo.digest);
  let index = saved && ZooIndex.fromSaved(saved, source);
  if (!index) {
    index = ZooIndex.build(source, { onProgress: options.onProgress });
    if (options.save ?? true) writeIndexFiles(dir, index.toSaved());
    options.onNote?.(
      `index of ${dir}: built in ${index.buildSeconds.toFixed(1)} s${source.weights ? '' : ` (streamed from the files: SVD-${index.k})`}`,
    );
  }
  // one index per zoo: a changed zoo replaces its old one
  if (options.cache) {
    for (const k of options.cache.keys()) if (k.startsWith(`${resolve(dir)}\0`)) options.cache.delete(k);
    options.cache.set(key, index);
  }
  return index;
}
