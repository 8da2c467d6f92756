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
 * same files `npm run cluster` writes).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { clusterSweep, readClusterReport, RERUN, writeClusterReport, type ClusterReport, type SpaceSummary } from '../cluster/sweep.ts';
import { readJsonFile } from '../util/json.ts';
import { cutTree } from '../cluster/linkage.ts';
import { TruncatedSVD } from '../reduce/svd.ts';
import { umapEmbedding, UMAP_DEFAULTS } from '../reduce/umap.ts';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { readNpy } from '../store/formats/npy.ts';
import { loadZoo, type Zoo } from '../store/loadZoo.ts';
import { ZooError } from '../store/manifest.ts';
import { dendrogramFigure, restrictLinkage, type LinkageExport } from './dendrogram.ts';
import { indexHtml, writePage, type Page } from './page.ts';
import { sweepFigure } from './sweep.ts';
import { trajectoryFigure } from './trajectories.ts';
import { trainingCurvesFigure, weightStatsFigure } from './zooStatistics.ts';
import { UserError } from '../core/errors.ts';

export interface PlotZooOptions {
  /** Where the cluster exports are and the plots go (<outDir>/<zoo>/; default results). */
  outDir?: string;
  /** SVD dimension of the second UMAP and of the dendrogram's space (default 50). */
  svd?: number;
  /** Runs shown in the dendrogram (default 5: the first ones). */
  dendrogramRuns?: number;
  /** Epoch of the weight statistics (default: the last). */
  epoch?: number;
  /** UMAP seed (default 0). */
  seed?: number;
  /** UMAP optimisation epochs (default: umap-js's). */
  umapEpochs?: number;
  /** Check every checkpoint's SHA-256 while loading the zoo (default true). */
  verify?: boolean;
  /** Progress of the long steps: UMAP, and a cluster sweep when one is needed. */
  onProgress?: (step: string, done: number, total: number) => void;
}

export const PLOT_DEFAULTS = { outDir: 'results', svd: 50, dendrogramRuns: 5, seed: 0 } as const;

/** The paper's sweep (Tables 2-3): the full space and these SVD dimensions. */
const PAPER_SPACES = [0, 500, 100, 50, 25, 10, 5];

export interface PlotZooResult {
  dir: string;
  /** Pages written, index.html last. */
  files: string[];
  pages: Page[];
}

export async function plotZoo(zooDir: string, options: PlotZooOptions = {}): Promise<PlotZooResult> {
  const outDir = options.outDir ?? PLOT_DEFAULTS.outDir;
  const dendrogramRuns = options.dendrogramRuns ?? PLOT_DEFAULTS.dendrogramRuns;
  const seed = options.seed ?? PLOT_DEFAULTS.seed;
  const progress = options.onProgress ?? (() => {});
  const zoo = loadZoo(zooDir, { verify: options.verify });
  const name = basename(zooDir);
  if (zoo.runs < 2) throw new ZooError(`${zooDir} has ${zoo.runs} run; the plots compare runs, so they need at least 2 (train more seeds: npm run zoo -- --seeds N)`);
  const k = Math.min(options.svd ?? PLOT_DEFAULTS.svd, zoo.n, zoo.dim);
  const epoch = options.epoch ?? zoo.epochs;
  if (epoch < 0 || epoch > zoo.epochs) throw new UserError(`--epoch ${epoch} is not in ${zooDir} (epochs 0-${zoo.epochs})`);
  const dir = join(outDir, name);
  mkdirSync(dir, { recursive: true });
  const pages: Page[] = [];
  const umap = (x: Float32Array | Float64Array, d: number, step: string) => {
    progress(`${step}, neighbour graph`, 0, 1); // a minute at paper scale, before the epochs are known
    return umapEmbedding(x, zoo.n, d, { seed, nEpochs: options.umapEpochs, onProgress: (done, total) => progress(step, done, total) });
  };
  const umapCaption = (space: string) =>
    `UMAP (umap-js) of ${space}: ${UMAP_DEFAULTS.nNeighbors} neighbours, minimum distance ${UMAP_DEFAULTS.minDist}, seed ${seed}, as in the paper. One colour per run; lines join consecutive epochs; the open circle is epoch 0.`;

  const svd = new TruncatedSVD({ components: k });
  const coords = svd.fitTransform(zoo.weights, zoo.n, zoo.dim);
  pages.push({
    file: 'trajectories-umap-full.html',
    title: `${name}: trajectories, UMAP of the full weight space`,
    summary: `UMAP of all ${zoo.n} checkpoints in the full ${zoo.dim}-dimensional weight space`,
    figures: [trajectoryFigure(zoo, umap(zoo.weights, zoo.dim, 'UMAP, full space'), { title: `${name}: UMAP of the full weight space`, axes: ['UMAP 1', 'UMAP 2'], caption: umapCaption(`the ${zoo.dim} weights`) })],
  });
  pages.push({
    file: `trajectories-umap-svd-${k}.html`,
    title: `${name}: trajectories, UMAP of SVD-${k}`,
    summary: `UMAP of the checkpoints' ${k} truncated-SVD coordinates`,
    figures: [trajectoryFigure(zoo, umap(coords, k, `UMAP, SVD-${k}`), { title: `${name}: UMAP of SVD-${k}`, axes: ['UMAP 1', 'UMAP 2'], caption: umapCaption(`the ${k} SVD coordinates`) })],
  });
  const firstComponents = (c: number) => Float64Array.from({ length: zoo.n * c }, (_, i) => coords[Math.floor(i / c) * k + (i % c)]);
  pages.push({
    file: 'trajectories-svd.html',
    title: `${name}: trajectories on the first SVD components`,
    summary: 'the checkpoints on the first two and three singular vectors (no UMAP)',
    figures: [
      trajectoryFigure(zoo, firstComponents(2), { title: `${name}: SVD components 1-2`, axes: ['SVD 1', 'SVD 2'], caption: 'Coordinates U Σ of the truncated SVD (not centred), components 1 and 2.' }),
      ...(k >= 3 ? [trajectoryFigure(zoo, firstComponents(3), { title: `${name}: SVD components 1-3`, axes: ['SVD 1', 'SVD 2', 'SVD 3'], caption: 'Components 1 to 3; drag to rotate.' })] : []),
    ],
  });

  const { rows, linkage } = await clusterExports(zooDir, zoo, outDir, k, progress);
  const shown = Math.min(dendrogramRuns, zoo.runs);
  const leaves = linkage.run.flatMap((r, leaf) => (r < shown ? [leaf] : []));
  // the detail view is a cluster of the cut at the number of runs (the one holding run 0's
  // last checkpoint), so an impure cluster shows its intruders in their runs' colours
  const anchor = linkage.run.findIndex((r, leaf) => r === 0 && linkage.epoch[leaf] === zoo.epochs);
  const labels = cutTree({ n: linkage.n, z: Float64Array.from(linkage.linkage.flat()) }, zoo.runs);
  const cluster = Array.from(labels.keys()).filter((leaf) => labels[leaf] === labels[anchor]);
  const clusterRuns = [...new Set(cluster.map((leaf) => linkage.run[leaf]))].sort((a, b) => a - b);
  const leafLabels = { run: linkage.run, epoch: linkage.epoch, runs: zoo.runs };
  pages.push({
    file: 'dendrogram.html',
    title: `${name}: single-linkage dendrogram (${linkage.space})`,
    summary: `the single-linkage tree in ${linkage.space} restricted to runs 0-${shown - 1}, and one cluster in detail`,
    figures: [
      dendrogramFigure(restrictLinkage(linkage.linkage, linkage.n, leaves), {
        ...leafLabels,
        title: `${name}: single linkage in ${linkage.space}, runs 0-${shown - 1} (${leaves.length} checkpoints)`,
        caption: `The zoo's single-linkage tree (${linkage.n} checkpoints) restricted to these runs' checkpoints, which keeps every merge height. Leaves coloured by true run.`,
      }),
      dendrogramFigure(restrictLinkage(linkage.linkage, linkage.n, cluster), {
        ...leafLabels,
        epochLabels: true,
        title: `${name}: detail, the cluster of run 0's last checkpoint (${cluster.length} checkpoints of run${clusterRuns.length > 1 ? 's' : ''} ${clusterRuns.join(', ')})`,
        caption: `One of the ${zoo.runs} clusters of the cut at the number of runs, leaves labelled by epoch and coloured by true run. Consecutive epochs merge low when the run moves little between them; early epochs join late, higher up.`,
      }),
    ],
  });
  pages.push({
    file: 'weight-stats.html',
    title: `${name}: weight statistics at epoch ${epoch}`,
    summary: `mean vs standard deviation of every model's weights at epoch ${epoch}, coloured by test accuracy`,
    figures: [weightStatsFigure(zoo, epoch)],
  });
  pages.push({
    file: 'sweep.html',
    title: `${name}: purity and epoch order against SVD dimension`,
    summary: 'cluster purity, ordered epoch pairs and ordered initial epochs for each space of the sweep',
    figures: [sweepFigure(name, rows)],
  });
  pages.push({
    file: 'training-curves.html',
    title: `${name}: training curves`,
    summary: 'train and test loss and test accuracy per epoch: median and 10-90 % band across runs',
    figures: [trainingCurvesFigure(zoo)],
  });

  const files = pages.map((page) => writePage(dir, page));
  const index = join(dir, 'index.html');
  writeFileAtomic(index, indexHtml(`${name}: plots`, pages, [`Zoo ${zooDir}: ${zoo.runs} runs x ${zoo.epochs + 1} checkpoints, ${zoo.dim} weights each (${zoo.manifest.config.arch}).`]));
  return { dir, files: [...files, index], pages };
}

/**
 * The sweep rows and the SVD-k linkage, from earlier cluster exports of this very zoo content
 * (their zoo digest), or from a sweep run now when they are missing or stale.
 */
async function clusterExports(zooDir: string, zoo: Zoo, outDir: string, k: number, progress: (step: string, done: number, total: number) => void): Promise<{ rows: SpaceSummary[]; linkage: LinkageExport }> {
  const space = k >= Math.min(zoo.n, zoo.dim) ? 'full' : `svd-${k}`;
  const linkageJson = join(outDir, basename(zooDir), `linkage-${space}.json`);
  const linkageNpy = join(outDir, basename(zooDir), `linkage-${space}.npy`);
  const current = (report: ClusterReport | null): report is ClusterReport =>
    !!report &&
    report.zoo.digest === zoo.digest &&
    report.rows.length >= 2 &&
    existsSync(linkageNpy) &&
    existsSync(linkageJson) &&
    (readJsonFile(linkageJson, RERUN) as LinkageExport).zooDigest === zoo.digest;
  let report = readClusterReport(outDir, zooDir);
  if (!current(report)) {
    const spaces = [...new Set([...PAPER_SPACES, k])].filter((s) => s < Math.min(zoo.n, zoo.dim));
    progress('cluster sweep', 0, spaces.length);
    const [rows] = await clusterSweep({ zooDirs: [zooDir], spaces, outDir, verify: false, onDone: (_, done, total) => progress('cluster sweep', done, total) });
    writeClusterReport(outDir, zooDir, rows, { spaces, orderBy: 'last', center: false, saveBasis: false, by: 'npm run plot' });
    report = readClusterReport(outDir, zooDir)!;
  }
  const labels = readJsonFile(linkageJson, RERUN) as LinkageExport;
  const { data, shape } = readNpy(linkageNpy);
  if (shape.length !== 2 || shape[0] !== zoo.n - 1 || shape[1] !== 4) {
    throw new UserError(`${linkageNpy} holds a (${shape.join(', ')}) matrix, a linkage of this zoo is (${zoo.n - 1}, 4); ${RERUN}`);
  }
  const linkage = Array.from({ length: zoo.n - 1 }, (_, i) => Array.from(data.subarray(4 * i, 4 * i + 4)));
  return { rows: report.rows, linkage: { ...labels, linkage } };
}
