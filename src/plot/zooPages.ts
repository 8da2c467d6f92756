/**
 * The pages of one zoo's plots, from data handed in (the zoo, its embeddings, its cluster
 * exports): no analysis here. plotZoo.ts computes the data and writes the pages.
 */
import type { ClusterExports } from '../pipeline/report.ts';
import type { ZooEmbedding } from '../reduce/embed.ts';
import { UMAP_DEFAULTS } from '../reduce/umap.ts';
import type { ZooInfo } from '../store/loadZoo.ts';
import type { RowReader } from '../core/zoo.ts';
import { leafOrder } from '../cluster/linkage.ts';
import type { LinkageExport } from '../pipeline/spaceJob.ts';
import { chosenRunColor } from './colors.ts';
import { dendrogramFigure, restrictLinkage } from './dendrogram.ts';
import type { Figure, Page } from './page.ts';
import { sweepFigure } from './sweep.ts';
import { trajectoryFigure } from './trajectories.ts';
import { trainingCurvesFigure, weightStatsFigure } from './zooStatistics.ts';

export interface ZooPagesInput {
  name: string;
  zoo: ZooInfo;
  /** The zoo's checkpoints by row (in memory, or read from the files of a streamed zoo). */
  checkpoints: RowReader;
  embedding: ZooEmbedding;
  clusters: ClusterExports;
  /** Epoch of the weight statistics. */
  epoch: number;
  /** Runs shown in the dendrogram (the first ones). */
  dendrogramRuns: number;
  /** The UMAP seed, for the captions. */
  seed: number;
  /** Runs the trajectory plots draw in colour over the others in grey (undefined: every run in colour). */
  highlight?: readonly number[];
}

/**
 * `count` runs spread over the dendrogram: the runs in the order their last checkpoints take
 * among its leaves, taken at even steps, so that the chosen runs come from all over the tree.
 */
export function runsSpreadOverTree(linkage: LinkageExport, lastEpoch: number, count: number): number[] {
  const order = leafOrder({ n: linkage.n, z: Float64Array.from(linkage.linkage.flat()) });
  const runs = [...order]
    .filter((leaf) => linkage.epoch[leaf] === lastEpoch)
    .map((leaf) => linkage.run[leaf]);
  const take = Math.min(count, runs.length);
  if (take <= 1) return runs.slice(0, take);
  return [
    ...new Set(
      Array.from({ length: take }, (_, i) => runs[Math.round((i * (runs.length - 1)) / (take - 1))]),
    ),
  ];
}

export function trajectoryPages({ name, zoo, embedding, seed, highlight }: ZooPagesInput): Page[] {
  const { k, svd: coords } = embedding;
  const colours = highlight
    ? `Runs ${highlight.join(', ')} in colour, the other ${zoo.runs - highlight.length} in grey (choose with --highlight)`
    : 'One colour per run';
  const umapCaption = (space: string) =>
    `UMAP of ${space}: ${UMAP_DEFAULTS.nNeighbors} neighbours, minimum distance ${UMAP_DEFAULTS.minDist}, seed ${seed}, as in the paper. ${colours}; lines join consecutive epochs; the open circle is epoch 0. A long straight line is two consecutive checkpoints that UMAP placed far apart: it keeps neighbourhoods, not distances, so the length of a line is not the distance between the checkpoints.`;
  const firstComponents = (c: number) =>
    Float64Array.from({ length: zoo.n * c }, (_, i) => coords[Math.floor(i / c) * k + (i % c)]);
  const { umapFull } = embedding;
  return [
    ...(umapFull
      ? [
          {
            file: 'trajectories-umap-full.html',
            title: `${name}: trajectories, UMAP of the full weight space`,
            summary: `UMAP of all ${zoo.n} checkpoints in the full ${zoo.dim}-dimensional weight space`,
            figures: [
              trajectoryFigure(zoo, umapFull, {
                title: `${name}: UMAP of the full weight space`,
                axes: ['UMAP 1', 'UMAP 2'],
                caption: umapCaption(`the ${zoo.dim} weights`),
                highlight,
              }),
            ],
          },
        ]
      : []),
    {
      file: `trajectories-umap-svd-${k}.html`,
      title: `${name}: trajectories, UMAP of SVD-${k}`,
      summary: `UMAP of the checkpoints' ${k} truncated-SVD coordinates`,
      figures: [
        trajectoryFigure(zoo, embedding.umapSvd, {
          title: `${name}: UMAP of SVD-${k}`,
          axes: ['UMAP 1', 'UMAP 2'],
          caption: umapCaption(`the ${k} SVD coordinates`),
          highlight,
        }),
      ],
    },
    {
      file: 'trajectories-svd.html',
      title: `${name}: trajectories on the first SVD components`,
      summary: 'the checkpoints on the first two and three singular vectors (no UMAP)',
      figures: [
        trajectoryFigure(zoo, firstComponents(2), {
          title: `${name}: SVD components 1-2`,
          axes: ['SVD 1', 'SVD 2'],
          caption: `Coordinates U Σ of the truncated SVD (not centred), components 1 and 2. ${colours}.`,
          highlight,
        }),
        ...(k >= 3
          ? [
              trajectoryFigure(zoo, firstComponents(3), {
                title: `${name}: SVD components 1-3`,
                axes: ['SVD 1', 'SVD 2', 'SVD 3'],
                caption: 'Components 1 to 3; drag to rotate.',
                highlight,
              }),
            ]
          : []),
      ],
    },
  ];
}

/** The single-linkage tree restricted to the checkpoints of `runs` (every merge height kept), leaves in the colour of their run's place in `runs`. */
export function runsDendrogram(
  linkage: LinkageExport,
  runs: readonly number[],
  options: { zooRuns: number; title: string; caption?: string },
): Figure {
  const leaves = linkage.run.flatMap((r, leaf) => (runs.includes(r) ? [leaf] : []));
  return dendrogramFigure(restrictLinkage(linkage.linkage, linkage.n, leaves), {
    run: linkage.run,
    epoch: linkage.epoch,
    runs: options.zooRuns,
    colorOf: (r) => chosenRunColor(runs, r), // as the chosen runs' trajectories
    title: `${options.title} (${leaves.length} checkpoints)`,
    caption: options.caption,
  });
}

export function clusterAndStatisticsPages({
  name,
  zoo,
  checkpoints,
  clusters,
  epoch,
  dendrogramRuns,
  highlight,
}: ZooPagesInput): Page[] {
  const { rows, linkage, cut } = clusters;
  // the runs in colour on the trajectory pages, in the same colours; else the first few
  const shown = highlight ?? Array.from({ length: Math.min(dendrogramRuns, zoo.runs) }, (_, r) => r);
  const named = highlight ? `runs ${shown.join(', ')}` : `runs 0-${shown.length - 1}`;
  // the detail view is a cluster of the cut at the number of runs (the one holding run 0's
  // last checkpoint), so an impure cluster shows its intruders in their runs' colours
  const anchor = linkage.run.findIndex((r, leaf) => r === 0 && linkage.epoch[leaf] === zoo.epochs);
  const cluster = Array.from(cut.keys()).filter((leaf) => cut[leaf] === cut[anchor]);
  const clusterRuns = [...new Set(cluster.map((leaf) => linkage.run[leaf]))].sort((a, b) => a - b);
  const leafLabels = { run: linkage.run, epoch: linkage.epoch, runs: zoo.runs };
  const curves = trainingCurvesFigure(zoo); // null: no metrics recorded, no page
  return [
    {
      file: 'dendrogram.html',
      title: `${name}: single-linkage dendrogram (${linkage.space})`,
      summary: `the single-linkage tree in ${linkage.space} restricted to ${named}, and one cluster in detail`,
      figures: [
        runsDendrogram(linkage, shown, {
          zooRuns: zoo.runs,
          title: `${name}: single linkage in ${linkage.space}, ${named}`,
          caption: `The zoo's single-linkage tree (${linkage.n} checkpoints) restricted to these runs' checkpoints, which keeps every merge height. Leaves coloured by true run.`,
        }),
        dendrogramFigure(restrictLinkage(linkage.linkage, linkage.n, cluster), {
          ...leafLabels,
          epochLabels: true,
          title: `${name}: detail, the cluster of run 0's last checkpoint (${cluster.length} checkpoints of run${clusterRuns.length > 1 ? 's' : ''} ${clusterRuns.join(', ')})`,
          caption: `One of the ${zoo.runs} clusters of the cut at the number of runs, leaves labelled by epoch and coloured by true run. Consecutive epochs merge low when the run moves little between them; early epochs join late, higher up.`,
        }),
      ],
    },
    {
      file: 'weight-stats.html',
      title: `${name}: weight statistics at epoch ${epoch}`,
      summary: `mean vs standard deviation of every model's weights at epoch ${epoch}, coloured by test accuracy`,
      figures: [weightStatsFigure(zoo, checkpoints, epoch)],
    },
    {
      file: 'sweep.html',
      title: `${name}: purity and epoch order against SVD dimension`,
      summary: 'cluster purity, ordered epoch pairs and ordered initial epochs for each space of the sweep',
      figures: [sweepFigure(name, rows)],
    },
    ...(curves
      ? [
          {
            file: 'training-curves.html',
            title: `${name}: training curves`,
            summary: 'train and test loss and test accuracy per epoch: median and 10-90 % band across runs',
            figures: [curves],
          },
        ]
      : []),
  ];
}
