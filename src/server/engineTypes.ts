/** What the server asks its worker thread (engineWorker.ts), and the catalog both sides read. */
import { openCatalog, type Catalog } from '../store/catalog.ts';
import type { PlaneMethod } from '../pipeline/dashboard.ts';

export type EngineRequest =
  | { kind: 'plane'; dir: string; method: PlaneMethod }
  | { kind: 'stats'; dir: string }
  | { kind: 'predict'; root: string; ref: string; count: number; images: Float32Array | null }
  | { kind: 'diff'; root: string; a: string; b: string; all: boolean; testImages: number }
  | {
      kind: 'identify';
      /** The uploaded file, in a temporary folder outside the root. */
      path: string;
      /** How the page named it. */
      name: string;
      zoo?: string;
      zoos: string[];
      record: boolean;
      top: number;
    };

/**
 * The zoos under the root as the server sees them: none linked from outside it, and no
 * reference read as a file path (a page could otherwise name any file on the machine).
 */
export const catalogWithin = (root: string): Catalog => openCatalog(root, { contained: true, files: false });
