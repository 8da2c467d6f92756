/**
 * Purity and epoch-order recovery against SVD dimension (the Tables 2/3 sweep as a chart),
 * from the rows of a cluster report (cluster-<zoo>.json).
 */
import type { SpaceSummary } from '../pipeline/sweep.ts';
import type { Figure } from './page.ts';

export function sweepFigure(
  zooName: string,
  rows: SpaceSummary[],
  orderBy: 'last' | 'merge' = 'last',
): Figure {
  // the full space at its own dimension, so the x axis reads left to right as "more weights"
  const sorted = [...rows].sort((a, b) => a.dim - b.dim);
  const x = sorted.map((r) => r.dim);
  const label = sorted.map((r) => r.space);
  const trace = (name: string, y: number[], axis: string, color: string) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name,
    x,
    y,
    yaxis: axis,
    text: label,
    hovertemplate: `%{text}: %{y:.3f}<extra>${name}</extra>`,
    line: { color },
  });
  return {
    data: [
      trace(
        'cluster purity (mean)',
        sorted.map((r) => r.purityMean),
        'y',
        '#1f77b4',
      ),
      trace(
        'ordered epoch pairs',
        sorted.map((r) => r.order[orderBy].orderedPairs),
        'y2',
        '#ff7f0e',
      ),
      trace(
        'ordered initial epochs',
        sorted.map((r) => r.order[orderBy].orderedInitialEpochs),
        'y3',
        '#2ca02c',
      ),
    ],
    layout: {
      title: { text: `${zooName}: purity and epoch order against SVD dimension` },
      xaxis: {
        type: 'log',
        title: { text: 'dimension (SVD components; the rightmost point is the full weight space)' },
        tickvals: x,
        ticktext: label,
        anchor: 'y3',
      },
      yaxis: { title: { text: 'purity' }, domain: [0.7, 1], range: [0, 1.05] },
      yaxis2: { title: { text: 'ordered pairs' }, domain: [0.36, 0.64], range: [0, 1.05], tickformat: '.0%' },
      yaxis3: { title: { text: 'initial epochs' }, domain: [0, 0.3], rangemode: 'tozero' },
      hovermode: 'closest',
      margin: { t: 50 },
    },
    caption: `Single linkage cut at the number of runs. Epoch order by '${orderBy}' (see npm run cluster -- --help). Paper: CNN purity 1.0 down to SVD-25 and 0.465 at SVD-5; FFNN 1.0 down to SVD-10.`,
  };
}
