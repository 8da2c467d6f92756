/**
 * Figures of per-model numbers: weight statistics at one epoch (paper Figure 3) and the
 * training curves of the whole zoo.
 */
import type { ZooInfo } from '../store/loadZoo.ts';
import type { RowReader } from '../core/zoo.ts';
import type { Figure } from './page.ts';
import { formatAccuracy } from './trajectories.ts';
import { UserError } from '../core/errors.ts';
import { zooRowIndex } from '../core/zoo.ts';

/** Mean against standard deviation of all of each model's weights at `epoch`, coloured by test accuracy. */
export function weightStatsFigure(zoo: ZooInfo, weights: RowReader, epoch: number): Figure {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > zoo.epochs)
    throw new UserError(`epoch ${epoch} is not in the zoo (epochs 0-${zoo.epochs})`);
  const d = zoo.dim;
  const rows = Array.from({ length: zoo.runs }, (_, run) => zooRowIndex(zoo.runs, run, epoch));
  const stats = rows.map((row) => {
    const w = weights.row(row);
    let s = 0,
      ss = 0;
    for (let j = 0; j < d; j++) {
      s += w[j];
      ss += w[j] * w[j];
    }
    const mean = s / d;
    return { mean, std: Math.sqrt(Math.max(0, ss / d - mean * mean)) };
  });
  const accuracy = rows.map((row) => zoo.testAccuracy[row]);
  return {
    data: [
      {
        type: 'scatter',
        mode: 'markers',
        name: `epoch ${epoch}`,
        x: stats.map((s) => s.mean),
        y: stats.map((s) => s.std),
        marker: {
          size: 8,
          color: accuracy.map((a) => (Number.isFinite(a) ? a : null)),
          colorscale: 'Viridis',
          showscale: true,
          colorbar: { title: { text: 'test accuracy' } },
        },
        text: rows.map(
          (row, run) =>
            `run ${run} (seed ${zoo.seed[row]})<br>test accuracy ${formatAccuracy(accuracy[run])}`,
        ),
        hoverinfo: 'text+x+y',
      },
    ],
    layout: {
      title: { text: `${zoo.manifest.name}: weight mean vs standard deviation at epoch ${epoch}` },
      xaxis: { title: { text: 'mean of all weights' } },
      yaxis: { title: { text: 'standard deviation of all weights' } },
      hovermode: 'closest',
      margin: { t: 50 },
    },
    caption: `One point per model (${zoo.runs} runs), all ${d} weights of each; colour: test accuracy at epoch ${epoch}.`,
  };
}

/** Quantile q of sorted values (linear interpolation, like numpy's default). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Median and 10-90 % band across runs of train loss, test loss and test accuracy per epoch,
 * or null when the zoo recorded none of them (an imported zoo has no metrics). Loss on a log
 * axis: it falls by orders of magnitude after epoch 0, which a linear axis flattens. Test loss
 * is drawn first and dashed, so train loss stays visible where the two coincide.
 */
export function trainingCurvesFigure(zoo: ZooInfo): Figure | null {
  const epochs = Array.from({ length: zoo.epochs + 1 }, (_, e) => e);
  const series = [
    { key: 'testLoss', name: 'test loss', color: '255, 127, 14', axis: 'y', dash: 'dash' },
    { key: 'trainLoss', name: 'train loss', color: '31, 119, 180', axis: 'y', dash: 'solid' },
    { key: 'testAccuracy', name: 'test accuracy', color: '44, 160, 44', axis: 'y2', dash: 'solid' },
  ] as const;
  const values = (key: (typeof series)[number]['key'], e: number) =>
    Array.from({ length: zoo.runs }, (_, r) => zoo[key][zooRowIndex(zoo.runs, r, e)])
      // a log axis shows positive losses only
      .filter((v) => Number.isFinite(v) && (key === 'testAccuracy' || v > 0))
      .sort((a, b) => a - b);
  const recorded = series.filter(({ key }) => epochs.some((e) => values(key, e).length > 0));
  if (recorded.length === 0) return null;
  const data = recorded.flatMap(({ key, name, color, axis, dash }) => {
    const per = epochs.map((e) => values(key, e));
    const band = (q: number) => per.map((v) => (v.length ? quantile(v, q) : null));
    const common = { type: 'scatter', x: epochs, yaxis: axis, legendgroup: name };
    return [
      {
        ...common,
        name: `${name} 10 %`,
        y: band(0.1),
        mode: 'lines',
        line: { width: 0 },
        showlegend: false,
        hoverinfo: 'skip',
      },
      {
        ...common,
        name: `${name} 10-90 %`,
        y: band(0.9),
        mode: 'lines',
        line: { width: 0 },
        fill: 'tonexty',
        fillcolor: `rgba(${color}, 0.2)`,
        showlegend: false,
        hoverinfo: 'skip',
      },
      {
        ...common,
        name: `${name} (median)`,
        y: band(0.5),
        mode: 'lines+markers',
        line: { color: `rgb(${color})`, width: 2, dash },
        marker: { size: 4 },
      },
    ];
  });
  return {
    data,
    layout: {
      title: { text: `${zoo.manifest.name}: training curves across ${zoo.runs} runs` },
      grid: { rows: 2, columns: 1, pattern: 'independent' },
      xaxis: { title: { text: 'epoch' }, anchor: 'y2' },
      yaxis: { title: { text: 'loss (log scale)' }, domain: [0.55, 1], type: 'log' },
      yaxis2: { title: { text: 'test accuracy' }, domain: [0, 0.45], tickformat: '.0%' },
      hovermode: 'x',
      margin: { t: 50 },
    },
    caption:
      'Lines: the median across runs; bands: 10th to 90th percentile. Loss as trained (the zoo config names it), on a log scale; test loss dashed; epoch 0 is the initialisation.' +
      (recorded.length < series.length
        ? ` Not recorded in this zoo: ${series
            .filter((s) => !recorded.includes(s))
            .map((s) => s.name)
            .join(', ')}.`
        : ''),
  };
}
