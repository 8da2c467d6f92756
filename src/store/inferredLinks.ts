/**
 * Inferred links: what `identify --record` found about a checkpoint that names no parent (a
 * model file, or a checkpoint of another zoo): the run and epoch of this zoo it belongs to or
 * descends from, the verdict and its p-value. Kept apart from recorded links (a manifest's
 * origin.parent), in the parent zoo's inferred.json, replaced whole under the zoo's lock.
 *
 *   { "format": "weightspace-inferred/1", "links": [ { "child": {...}, "run": 3, "epoch": 7.5, ... } ] }
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { INFERRED_FILE } from './zooLayout.ts';
import { withZooLockSync } from './zooLock.ts';

export const INFERRED_FORMAT = 'weightspace-inferred/1';

export interface InferredLink {
  /** What was identified: a checkpoint under the root (its reference) or a model file (its path), and its weights' SHA-256. */
  child: { ref: string | null; file: string | null; sha256: string };
  /** The run of this zoo identify named, where on it, and how sure. */
  run: number;
  epoch: number;
  verdict: string;
  pValue: number;
  /** The smallest p-value identify's calibration could give (a smaller pValue reads "p < pValueFloor"); absent in links recorded before it was kept. */
  pValueFloor?: number;
  recordedAt: string;
}

/** The inferred links of the zoo in `dir` ([] when it has none). */
export function readInferredLinks(dir: string): InferredLink[] {
  return readLinks<InferredLink>(
    join(dir, INFERRED_FILE),
    INFERRED_FORMAT,
    'the inferred links file is damaged',
  );
}

/** The `links` of a links file of `format` ([] when there is none); `fix` ends the message of a damaged one. */
function readLinks<T>(path: string, format: string, fix: string): T[] {
  if (!existsSync(path)) return [];
  let parsed: { format?: unknown; links?: unknown };
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UserError(`${path} is not JSON (${(err as Error).message}); ${fix}`);
  }
  if (parsed?.format !== format || !Array.isArray(parsed.links))
    throw new UserError(`${path} is not a ${format} file; ${fix}`);
  return parsed.links as T[];
}

/** Adds (or replaces: one link per child hash) an inferred link of the zoo in `dir`. */
export function recordInferredLink(dir: string, link: InferredLink): void {
  withZooLockSync(dir, 'record the link when it is done', () => {
    const links = readInferredLinks(dir).filter((l) => l.child.sha256 !== link.child.sha256);
    writeFileAtomic(
      join(dir, INFERRED_FILE),
      JSON.stringify({ format: INFERRED_FORMAT, links: [...links, link] }, null, 2) + '\n',
    );
  });
}

/**
 * Links `lineage --infer` found among models with no history: each model's parent in its
 * inferred family tree, kept at the root of the zoos (one file for every zoo and model file
 * under it), one link per child hash, replaced whole under the root's lock:
 *
 *   <root>/lineage-inferred.json
 *   { "format": "weightspace-lineage-inferred/1", "links": [ { "parent": {...}, "child": {...}, ... } ] }
 */
export const LINEAGE_INFERRED_FILE = 'lineage-inferred.json';
export const LINEAGE_INFERRED_FORMAT = 'weightspace-lineage-inferred/1';

/** A model a bag link names: a checkpoint under the root (its reference) or a model file (its path), and its weights' SHA-256. */
export interface LinkedModel {
  ref: string | null;
  file: string | null;
  sha256: string;
}

export interface BagLink {
  parent: LinkedModel;
  child: LinkedModel;
  /** The family's number in that inference, and how sure the edge is. */
  family: number;
  /** The parent's share of the softmax over candidate parents (familyTree.ts). */
  confidence: number;
  /** The pair's p-value of "unrelated". */
  pValue: number;
  recordedAt: string;
}

/** The bag links kept at `root` ([] when there are none). */
export function readBagLinks(root: string): BagLink[] {
  return readLinks<BagLink>(
    join(root, LINEAGE_INFERRED_FILE),
    LINEAGE_INFERRED_FORMAT,
    'delete it and run lineage --infer again',
  );
}

/**
 * Records bag links at `root`: each replaces the link of the same child, and a child the
 * inference made a root loses its old link (`roots`: their hashes).
 */
export function recordBagLinks(root: string, links: BagLink[], roots: string[]): void {
  withZooLockSync(root, 'record the links when it is done', () => {
    const replaced = new Set([...links.map((l) => l.child.sha256), ...roots]);
    const kept = readBagLinks(root).filter((l) => !replaced.has(l.child.sha256));
    writeFileAtomic(
      join(root, LINEAGE_INFERRED_FILE),
      JSON.stringify({ format: LINEAGE_INFERRED_FORMAT, links: [...kept, ...links] }, null, 2) + '\n',
    );
  });
}
