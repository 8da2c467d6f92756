/**
 * Every figure of one zoo as offline HTML in <outDir>/<zoo>/ (what `npm run plot` does):
 *
 *   trajectories-umap-full.html    UMAP of the full weight space (paper Figures 4 and 5)
 *   trajectories-umap-svd-<k>.html UMAP of the SVD-k coordinates
 *   trajectories-svd.html          the first SVD components in 2D and 3D (no UMAP)
 *   dendrogram.html                single-linkage tree of a few runs, and one cluster in detail (Figure 6)
 *   weight-stats.html              weight mean vs standard deviation per model (Figure 3)
 *   sweep.html                     purity and epoch order against SVD dimension (Tables 2-3)
 *   training-curves.html           loss and accuracy per epoch across the zoo
 *   index.html                     links to all of them
 *
 * The dendrogram and the sweep come from the cluster command's exports in <outDir> when they
 * were computed from this zoo's current content; otherwise the paper's sweep is run first (the
 * same files `npm run cluster` writes). The recipe: load, embed, cluster exports, pages
 * (zooPages.ts, figures from that data only), write.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { option, OptionNote, UserError } from '../core/errors.ts';
import { currentClusterExports } from '../pipeline/report.ts';
import { embedZoo } from '../reduce/embed.ts';
import { memoryFitOf, refuseUnfitSpaces } from '../reduce/zooMatrix.ts';
import { maxComponents } from '../reduce/svd.ts';
import { openZoo } from '../store/openZoo.ts';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { incompleteNote, ZooError } from '../store/manifest.ts';
import { DEFAULT_DIRS, zooResultsDir } from '../store/paths.ts';
import { indexHtml, writePage, type Page } from './page.ts';
import { clusterAndStatisticsPages, runsSpreadOverTree, trajectoryPages } from './zooPages.ts';

export interface PlotZooOptions {
  /** Where the cluster exports are and the plots go (<outDir>/<zoo>/; default results). */
  outDir?: string;
  /** SVD dimension of the second UMAP and of the dendrogram's space (default 50). */
  svd?: number;
  /**
   * How many runs are chosen when `highlight` does not say (default 5): spread over the
   * dendrogram, in colour on the trajectory plots and alone in the dendrogram, in the same
   * colours. A zoo of no more runs has every run in colour and its first ones in the dendrogram.
   */
  dendrogramRuns?: number;
  /** Epoch of the weight statistics (default: the last). */
  epoch?: number;
  /**
   * Runs the trajectory plots draw in colour over the others in grey, and the dendrogram shows.
   * Default: `dendrogramRuns` of them. An empty list: every run in colour.
   */
  highlight?: number[];
  /** UMAP seed (default 0). */
  seed?: number;
  /** UMAP optimisation epochs (default: by the number of points, reduce/umap.ts defaultEpochs). */
  umapEpochs?: number;
  /** Check every checkpoint's SHA-256 while loading the zoo (default true). */
  verify?: boolean;
  /**
   * Bytes a zoo's weights may take in memory (default util/memory.ts's defaultMemory); a larger
   * zoo is streamed from its files: SVD spaces only, no UMAP of the full space.
   */
  memory?: number;
  /** Progress of the long steps: UMAP, and a cluster sweep when one is needed. */
  onProgress?: (step: string, done: number, total: number) => void;
}

export const PLOT_DEFAULTS = {
  outDir: DEFAULT_DIRS.results,
  svd: 50,
  dendrogramRuns: 5,
  seed: 0,
} as const;

export interface PlotZooResult {
  dir: string;
  /** Pages written, index.html last. */
  files: string[];
  pages: Page[];
  /** What was adapted to the zoo (a default lowered) or is worth knowing (an incomplete zoo). */
  notes: OptionNote[];
}

export async function plotZoo(zooDir: string, options: PlotZooOptions = {}): Promise<PlotZooResult> {
  const outDir = options.outDir ?? PLOT_DEFAULTS.outDir;
  const seed = options.seed ?? PLOT_DEFAULTS.seed;
  const progress = options.onProgress ?? (() => {});
  const source = openZoo(zooDir, { memory: options.memory, verify: options.verify });
  const { zoo, rows: checkpoints } = source;
  const name = basename(zooDir);
  if (zoo.runs < 2)
    throw new ZooError(
      `${zooDir} has ${zoo.runs} run; the plots compare runs, so they need at least 2 (train more seeds: npm run zoo -- --seeds N)`,
    );
  const epoch = options.epoch ?? zoo.epochs;
  if (epoch < 0 || epoch > zoo.epochs)
    throw new UserError(`${option('epoch')} ${epoch} is not in ${zooDir} (epochs 0-${zoo.epochs})`);
  const bad = options.highlight?.find((r) => !Number.isInteger(r) || r < 0 || r >= zoo.runs);
  if (bad !== undefined)
    throw new UserError(`${option('highlight')} names run ${bad}; ${zooDir} has runs 0-${zoo.runs - 1}`);
  const dir = zooResultsDir(outDir, zooDir);
  mkdirSync(dir, { recursive: true });

  const largest = maxComponents(zoo.n, zoo.dim);
  if (options.svd !== undefined && options.svd > largest)
    throw new UserError(
      `${option('svd')} ${options.svd} is too large for ${zooDir}: ${zoo.n} checkpoints x ${zoo.dim} weights (k must be <= ${largest})`,
    );
  const incomplete = incompleteNote(zoo.manifest);
  const notes = incomplete ? [new OptionNote(incomplete)] : [];
  if (options.svd === undefined && PLOT_DEFAULTS.svd > largest)
    notes.push(
      new OptionNote(
        `${option('svd')} ${PLOT_DEFAULTS.svd} (the default) lowered to ${largest}: the zoo has ${zoo.n} checkpoints x ${zoo.dim} weights`,
      ),
    );
  const k = Math.min(options.svd ?? PLOT_DEFAULTS.svd, largest);
  refuseUnfitSpaces(memoryFitOf(source), [k], 'svd');
  const embedding = embedZoo(source, {
    k,
    seed,
    umapEpochs: options.umapEpochs,
    onProgress: progress,
  });
  const clusters = await currentClusterExports(source, outDir, embedding.k, progress);
  const dendrogramRuns = options.dendrogramRuns ?? PLOT_DEFAULTS.dendrogramRuns;
  const highlight = options.highlight
    ? options.highlight.length
      ? options.highlight
      : undefined
    : zoo.runs > dendrogramRuns
      ? runsSpreadOverTree(clusters.linkage, zoo.epochs, dendrogramRuns)
      : undefined;
  const input = {
    highlight,
    name,
    zoo,
    checkpoints,
    embedding,
    clusters,
    epoch,
    seed,
    dendrogramRuns,
  };
  const pages = [...trajectoryPages(input), ...clusterAndStatisticsPages(input)];

  const files = pages.map((page) => writePage(dir, page));
  const index = join(dir, 'index.html');
  writeFileAtomic(
    index,
    indexHtml(`${name}: plots`, pages, [
      `Zoo ${zooDir}: ${zoo.runs} runs x ${zoo.epochs + 1} checkpoints, ${zoo.dim} weights each (${zoo.manifest.architecture.name}).`,
      ...(pages.some((p) => p.file === 'training-curves.html')
        ? []
        : [
            'No training metrics (loss, accuracy) are recorded in this zoo, so there is no training-curves page.',
          ]),
      ...(!source.weights
        ? [
            'Larger than the memory bound, so streamed from its files: SVD spaces only, no UMAP of the full weight space.',
          ]
        : []),
    ]),
  );
  return { dir, files: [...files, index], pages, notes };
}
