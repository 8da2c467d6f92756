/**
 * Dendrograms of the single-linkage tree (paper Figure 6), drawn from the SciPy linkage
 * matrix the cluster command exports. A zoo has thousands of leaves, so a plot shows the
 * tree restricted to a few runs' checkpoints: the restriction of a single-linkage tree to a
 * subset of leaves keeps each pair's merge height (its cophenetic distance), so the
 * restricted tree is exactly the part of the zoo's tree those checkpoints span.
 */
import { runColor } from './colors.ts';
import type { Figure } from './page.ts';

/** The linkage-<space>.json the cluster command writes. */
/** A tree over chosen leaves: merges in SciPy layout, leaves numbered 0..m-1 in `leaves` order. */
export interface SubTree {
  leaves: number[];
  merges: [number, number, number][];
}

/** Restricts a linkage to the given leaves (original leaf ids). */
export function restrictLinkage(linkage: number[][], n: number, leaves: number[]): SubTree {
  const m = leaves.length;
  // rep[node] = the restricted tree's node standing for it (-1: no chosen leaf below)
  const rep = new Int32Array(2 * n - 1).fill(-1);
  leaves.forEach((leaf, i) => (rep[leaf] = i));
  const merges: [number, number, number][] = [];
  linkage.forEach(([a, b, height], i) => {
    const [ra, rb] = [rep[a], rep[b]];
    if (ra >= 0 && rb >= 0) {
      merges.push([ra, rb, height]);
      rep[n + i] = m + merges.length - 1;
    } else {
      rep[n + i] = ra >= 0 ? ra : rb;
    }
  });
  return { leaves, merges };
}

export interface DendrogramOptions {
  title: string;
  /** Leaf labels and colours: the true run and epoch of each original leaf. */
  run: number[];
  epoch: number[];
  runs: number;
  /** A run's leaf colour (default: runColor of the run among `runs`). */
  colorOf?: (run: number) => string;
  /** Label leaves by epoch (a single run's detail view) instead of by run. */
  epochLabels?: boolean;
  caption?: string;
}

/**
 * The dendrogram as Plotly traces: one trace of all links (U shapes, leaves at height 0) and
 * one marker trace of leaves per run, so the legend names the runs.
 */
export function dendrogramFigure(tree: SubTree, options: DendrogramOptions): Figure {
  const m = tree.leaves.length;
  if (m < 2) throw new RangeError(`a dendrogram needs at least 2 leaves, got ${m}`);
  if (tree.merges.length !== m - 1)
    throw new RangeError(`the leaves are not one tree: ${tree.merges.length} merges for ${m} leaves`);
  const children = (node: number) => tree.merges[node - m];
  // leaf order: depth-first, lower child first (iterative: single-linkage trees can be chains)
  const order: number[] = [];
  const stack = [2 * m - 2];
  while (stack.length) {
    const node = stack.pop()!;
    if (node < m) order.push(node);
    else stack.push(children(node)[1], children(node)[0]);
  }
  const x = new Float64Array(2 * m - 1);
  const y = new Float64Array(2 * m - 1);
  order.forEach((leaf, i) => (x[leaf] = i));
  const linkX: (number | null)[] = [];
  const linkY: (number | null)[] = [];
  tree.merges.forEach(([a, b, h], i) => {
    const node = m + i;
    x[node] = (x[a] + x[b]) / 2;
    y[node] = h;
    linkX.push(x[a], x[a], x[b], x[b], null);
    linkY.push(y[a], h, h, y[b], null);
  });
  const byRun = new Map<number, number[]>();
  for (const leaf of order) {
    const r = options.run[tree.leaves[leaf]];
    if (!byRun.has(r)) byRun.set(r, []);
    byRun.get(r)!.push(leaf);
  }
  const leafText = (leaf: number) =>
    `run ${options.run[tree.leaves[leaf]]}, epoch ${options.epoch[tree.leaves[leaf]]}`;
  const data: Record<string, unknown>[] = [
    {
      type: 'scatter',
      mode: 'lines',
      x: linkX,
      y: linkY,
      line: { color: '#888', width: 1 },
      hoverinfo: 'skip',
      showlegend: false,
      name: 'links',
    },
    ...[...byRun]
      .sort((p, q) => p[0] - q[0])
      .map(([r, leaves]) => ({
        type: 'scatter',
        mode: 'markers',
        name: `run ${r}`,
        x: leaves.map((l) => x[l]),
        y: leaves.map(() => 0),
        marker: { color: options.colorOf?.(r) ?? runColor(r, options.runs), size: 7, symbol: 'square' },
        text: leaves.map(leafText),
        hoverinfo: 'text',
      })),
  ];
  const layout: Record<string, unknown> = {
    title: { text: options.title },
    xaxis: options.epochLabels
      ? {
          tickvals: order.map((_, i) => i),
          ticktext: order.map((l) => String(options.epoch[tree.leaves[l]])),
          title: { text: 'checkpoint (epoch)' },
          tickfont: { size: 9 },
        }
      : { showticklabels: false, title: { text: `${m} checkpoints` }, zeroline: false },
    yaxis: { title: { text: 'merge height (distance)' }, rangemode: 'tozero' },
    hovermode: 'closest',
    margin: { t: 50 },
  };
  return { data, layout, caption: options.caption };
}
