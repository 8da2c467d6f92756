/**
 * What the dashboard (`serve`) shows of zoos, as library functions a script can call too:
 * a zoo's one-line summary, its training curves, its checkpoints placed in two dimensions,
 * its weights' statistics per tensor over epochs, and a checkpoint's class probabilities on
 * images. Nothing here knows about HTTP.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { matrix } from '../core/matrix.ts';
import { inNetworkOrder, networkOf } from '../core/network.ts';
import { zooRowIndex } from '../core/zoo.ts';
import { loadMnist } from '../data/mnist.ts';
import { maxComponents, TruncatedSVD } from '../reduce/svd.ts';
import { umapEmbedding } from '../reduce/umap.ts';
import { withZooMatrix } from '../reduce/zooMatrix.ts';
import type { Catalog, CatalogZoo } from '../store/catalog.ts';
import { runDescription, zooShape, zooWeightBytes } from '../store/manifest.ts';
import { openZoo } from '../store/openZoo.ts';
import type { CheckpointRef } from '../store/refs.ts';
import { MANIFEST_FILE } from '../store/zooLayout.ts';
import { forward } from '../train/forward.ts';
import { mnistSide } from '../train/scoreNetwork.ts';
import { checkpointWeights, metricsOf } from './history.ts';
import { searchCatalog } from './search.ts';

/** One zoo as the dashboard's list shows it. */
export interface ZooSummary {
  name: string;
  architecture: string;
  /** trained here, imported from files, or recorded during training elsewhere. */
  origin: 'trained' | 'import' | 'record';
  runs: number;
  /** The last committed epoch (-1 before any). */
  epochs: number;
  checkpoints: number;
  /** Weights per checkpoint. */
  weights: number;
  /** Bytes of weights the zoo holds (float32). */
  bytes: number;
  status: 'training' | 'complete';
  /** The checkpoint its runs start from, for a fork or a fine-tune. */
  parent: string | null;
  updatedAt: string;
  /** Checkpoints a search expression selected (null without one). */
  matches: number | null;
}

export function zooSummary(zoo: CatalogZoo, matches: number | null = null): ZooSummary {
  const m = zoo.manifest;
  const { runs } = zooShape(m);
  const epochs = m.epochsCompleted;
  return {
    name: zoo.name,
    architecture: m.architecture.name,
    origin: m.origin?.kind ?? 'trained',
    runs,
    epochs,
    checkpoints: runs * (epochs + 1),
    weights: m.architecture.size,
    bytes: zooWeightBytes(m),
    status: m.status,
    parent: m.origin?.parent?.ref ?? null,
    updatedAt: m.updatedAt,
    matches,
  };
}

/** Every zoo of the catalog; with an expression of the search grammar, those it selects checkpoints of. */
export function zooSummaries(catalog: Catalog, query?: string): ZooSummary[] {
  if (!query?.trim()) return catalog.zoos.map((z) => zooSummary(z));
  const counts = new Map<string, number>();
  for (const hit of searchCatalog(catalog, query)) counts.set(hit.zoo, (counts.get(hit.zoo) ?? 0) + 1);
  return catalog.zoos.filter((z) => counts.has(z.name)).map((z) => zooSummary(z, counts.get(z.name)!));
}

/** A zoo's content as the server watches it: its manifest's time and size change with every commit. */
export function zooStamp(dir: string): string {
  const s = statSync(join(dir, MANIFEST_FILE));
  return `${s.mtimeMs}:${s.size}`;
}

/** A zoo's runs and their metrics per epoch: values[metric][run][epoch], null where none is recorded. */
export interface ZooCurves {
  runs: { run: number; label: string; tags: Record<string, string>; note: string | null }[];
  epochs: number;
  metrics: Record<string, (number | null)[][]>;
}

export function zooCurves(zoo: CatalogZoo): ZooCurves {
  const { runs } = zooShape(zoo.manifest);
  const epochs = zoo.manifest.epochsCompleted;
  const metrics: Record<string, (number | null)[][]> = {};
  for (let r = 0; r < runs; r++)
    for (let e = 0; e <= epochs; e++)
      for (const [name, value] of Object.entries(metricsOf(zoo, zooRowIndex(runs, r, e)))) {
        metrics[name] ??= Array.from({ length: runs }, () => new Array<number | null>(epochs + 1).fill(null));
        metrics[name][r][e] = value;
      }
  const info = zoo.manifest.origin?.runInfo;
  return {
    runs: Array.from({ length: runs }, (_, run) => ({
      run,
      label: runDescription(zoo.manifest, run),
      tags: info?.[run]?.tags ?? {},
      note: info?.[run]?.note ?? null,
    })),
    epochs,
    metrics,
  };
}

export type PlaneMethod = 'svd' | 'umap';

/** Every checkpoint of a zoo in two dimensions, by zoo row (core/zoo.ts's order). */
export interface ZooPlane {
  method: PlaneMethod;
  axes: [string, string];
  runs: number;
  epochs: number;
  /** x, y of row i at 2i, 2i + 1. */
  coords: number[];
}

export interface ZooPlaneOptions {
  /** svd: the first two singular directions; umap: UMAP of the SVD-k coordinates (the plot command's second view). */
  method?: PlaneMethod;
  /** SVD components UMAP reads (default 50, lowered to what the zoo allows). */
  k?: number;
  seed?: number;
  onProgress?: (step: string, done: number, total: number) => void;
}

export function zooPlane(dir: string, options: ZooPlaneOptions = {}): ZooPlane {
  const method = options.method ?? 'umap';
  const source = openZoo(dir);
  const { n, dim, runs, epochs } = source.zoo;
  if (runs < 2 && method === 'umap')
    throw new UserError(`${dir} has one run; UMAP needs more checkpoints to place (use method svd)`);
  const k = Math.min(method === 'svd' ? 2 : (options.k ?? 50), maxComponents(n, dim));
  const svd = withZooMatrix(source, k, 'k', (x) => new TruncatedSVD({ components: k }).fitTransform(x));
  let plane: Float64Array;
  if (method === 'svd') {
    plane = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) for (let a = 0; a < Math.min(k, 2); a++) plane[2 * i + a] = svd[i * k + a];
  } else {
    plane = umapEmbedding(matrix(svd, n, k), {
      seed: options.seed ?? 0,
      onProgress: (done, total) => options.onProgress?.(`UMAP of SVD-${k}`, done, total),
    });
  }
  const round = (v: number) => +v.toPrecision(5);
  return {
    method,
    axes: method === 'svd' ? ['SVD 1', 'SVD 2'] : ['UMAP 1', 'UMAP 2'],
    runs,
    epochs,
    coords: Array.from(plane, round),
  };
}

/** Per tensor and epoch, over the zoo's runs: the mean of each checkpoint's mean |w| and of its standard deviation. */
export interface WeightStatistics {
  tensors: string[];
  epochs: number;
  meanAbs: number[][];
  std: number[][];
}

export function weightStatistics(dir: string): WeightStatistics {
  const source = openZoo(dir);
  const { runs, epochs } = source.zoo;
  const params = source.zoo.manifest.architecture.params;
  const meanAbs = params.map(() => new Array<number>(epochs + 1).fill(0));
  const std = params.map(() => new Array<number>(epochs + 1).fill(0));
  for (let e = 0; e <= epochs; e++)
    for (let r = 0; r < runs; r++) {
      const row = source.rows.row(zooRowIndex(runs, r, e));
      params.forEach((p, t) => {
        let abs = 0;
        let sum = 0;
        let sq = 0;
        for (let i = p.offset; i < p.offset + p.size; i++) {
          abs += Math.abs(row[i]);
          sum += row[i];
          sq += row[i] * row[i];
        }
        const mean = sum / p.size;
        meanAbs[t][e] += abs / p.size / runs;
        std[t][e] += Math.sqrt(Math.max(0, sq / p.size - mean * mean)) / runs;
      });
    }
  return { tensors: params.map((p) => p.name), epochs, meanAbs, std };
}

/**
 * A checkpoint's class probabilities on images. How outputs become probabilities depends on
 * what the network was trained to give: a network ending in a softmax gives them; one trained
 * with mean squared error against the one-hot label (the toolkit's loss, and a recorded run's
 * meanSquaredError) gives outputs that estimate them (the regression's target is the
 * conditional mean of the one-hot vector), clipped at 0 and normalised here; any other is
 * taken to give logits, and gets a softmax.
 */
export interface Predictions {
  side: number;
  classes: number;
  /** How the outputs were read: 'softmax layer', 'normalised outputs' or 'softmax of outputs'. */
  reading: 'softmax layer' | 'normalised outputs' | 'softmax of outputs';
  /** probabilities[i][k]: image i, class k. */
  probabilities: number[][];
  /** The raw outputs, likewise. */
  outputs: number[][];
  /** The MNIST labels, for the test images (null for given images). */
  labels: number[] | null;
  /** The images themselves, side * side values in [0, 1] each (test images only). */
  images: number[][] | null;
}

/** Runs the checkpoint on the first `count` MNIST test images, or on `images` (side * side values each). */
export function predictCheckpoint(
  c: CheckpointRef,
  input: { count: number } | { images: Float32Array },
): Predictions {
  const arch = c.zoo.manifest.architecture;
  const net = networkOf(arch, c.zoo.manifest.network);
  if (!net)
    throw new UserError(
      `${c.zoo.name} does not say which network its weights define, so its checkpoints cannot be run (import it with --network)`,
    );
  const side = mnistSide(net);
  const given = 'images' in input ? input.images : null;
  if (given && given.length % (side * side) !== 0)
    throw new UserError(
      `images must be ${side}x${side} (${side * side} values each); got ${given.length} values`,
    );
  const mnist = 'count' in input ? loadMnist({ trainSize: 1, testSize: input.count, side }).test : null;
  const images = given ?? mnist!.images;
  const n = images.length / (side * side);
  const out = forward(net, inNetworkOrder(net, arch, checkpointWeights(c)), images, n);
  const classes = out.length / n;
  const m = c.zoo.manifest;
  const reading: Predictions['reading'] =
    net.layers.at(-1)?.kind === 'activation' && (net.layers.at(-1) as { fn: string }).fn === 'softmax'
      ? 'softmax layer'
      : m.config ||
          Object.values(m.origin?.runInfo ?? {}).some((r) => r.training?.loss === 'meanSquaredError')
        ? 'normalised outputs'
        : 'softmax of outputs';
  const outputs = Array.from({ length: n }, (_, i) =>
    Array.from(out.subarray(i * classes, (i + 1) * classes)),
  );
  const probabilities = outputs.map((y) => {
    if (reading === 'softmax layer') return y;
    const p =
      reading === 'normalised outputs'
        ? y.map((v) => Math.max(0, v))
        : y.map((v) => Math.exp(v - Math.max(...y)));
    const total = p.reduce((a, b) => a + b, 0);
    return total > 0 ? p.map((v) => v / total) : p.map(() => 1 / classes);
  });
  return {
    side,
    classes,
    reading,
    probabilities,
    outputs,
    labels: mnist ? Array.from(mnist.labels.subarray(0, n)) : null,
    images: mnist
      ? Array.from({ length: n }, (_, i) =>
          Array.from(images.subarray(i * side * side, (i + 1) * side * side), (v) => +v.toFixed(3)),
        )
      : null,
  };
}
