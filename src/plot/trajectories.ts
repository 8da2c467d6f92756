/**
 * Weight-space trajectories (paper Figures 4 and 5): every checkpoint as a point of an
 * embedding (UMAP or the first SVD components), one colour and one trace per run,
 * consecutive epochs joined by lines, hover with run, seed, epoch and test accuracy.
 */
import type { ZooInfo } from '../store/loadZoo.ts';
import { runDescription } from '../store/manifest.ts';
import { chosenRunColor, runColor } from './colors.ts';
import type { Figure } from './page.ts';
import { zooRowIndex } from '../core/zoo.ts';

export interface TrajectoryFigureOptions {
  title: string;
  /** Axis names, e.g. ["UMAP 1", "UMAP 2"] or ["SVD 1", "SVD 2", "SVD 3"]. */
  axes: string[];
  caption?: string;
  /**
   * Runs drawn in colour, over the others in grey without hover or legend (at paper scale
   * 250 colours cannot be told apart); absent: every run in its own colour.
   */
  highlight?: readonly number[];
}

/** The colour of the runs not highlighted. */
export const UNCHOSEN_GREY = '#c8c8c8';

/** `coords`: one row of axes.length values per zoo row (loadZoo's epoch-major order). */
export function trajectoryFigure(
  zoo: ZooInfo,
  coords: Float64Array,
  options: TrajectoryFigureOptions,
): Figure {
  const c = options.axes.length;
  if (c !== 2 && c !== 3) throw new RangeError(`a trajectory plot has 2 or 3 axes, got ${c}`);
  if (coords.length !== zoo.n * c)
    throw new RangeError(`expected ${zoo.n} x ${c} coordinates, got ${coords.length}`);
  const keys = c === 2 ? ['x', 'y'] : ['x', 'y', 'z'];
  const chosen = options.highlight ?? null;
  const colorOf = (run: number) => {
    if (!chosen) return runColor(run, zoo.runs);
    return chosen.includes(run) ? chosenRunColor(chosen, run) : UNCHOSEN_GREY;
  };
  // grey runs first, so that the chosen ones are drawn over them
  const order = chosen
    ? [...Array.from({ length: zoo.runs }, (_, r) => r).filter((r) => !chosen.includes(r)), ...chosen]
    : Array.from({ length: zoo.runs }, (_, r) => r);
  const data = order.map((run) => {
    const rows = Array.from({ length: zoo.epochs + 1 }, (_, e) => zooRowIndex(zoo.runs, run, e));
    const grey = chosen !== null && !chosen.includes(run);
    const trace: Record<string, unknown> = {
      type: c === 2 ? 'scatter' : 'scatter3d',
      mode: 'lines+markers',
      name: `run ${run}`,
      ...(grey && { hoverinfo: 'skip', showlegend: false }),
      line: { color: colorOf(run), width: c === 2 ? 1 : 2 },
      marker: {
        color: colorOf(run),
        size: rows.map((_, e) => (e === 0 || e === zoo.epochs ? 7 : 4)),
        symbol: c === 2 ? rows.map((_, e) => (e === 0 ? 'circle-open' : 'circle')) : 'circle',
      },
      text: rows.map(
        (row) =>
          `run ${run} (${runDescription(zoo.manifest, run)})<br>epoch ${zoo.epoch[row]}<br>test accuracy ${formatAccuracy(zoo.testAccuracy[row])}`,
      ),
      ...(!grey && { hoverinfo: 'text' }),
    };
    keys.forEach((key, a) => (trace[key] = rows.map((row) => round(coords[row * c + a]))));
    return trace;
  });
  const axis = (title: string) => ({ title: { text: title }, zeroline: false });
  const layout: Record<string, unknown> = {
    title: { text: options.title },
    showlegend: (chosen?.length ?? zoo.runs) <= 20,
    hovermode: 'closest',
    margin: { t: 50 },
  };
  if (c === 2) Object.assign(layout, { xaxis: axis(options.axes[0]), yaxis: axis(options.axes[1]) });
  else
    layout.scene = {
      xaxis: axis(options.axes[0]),
      yaxis: axis(options.axes[1]),
      zaxis: axis(options.axes[2]),
    };
  return { data, layout, caption: options.caption };
}

export const formatAccuracy = (a: number) => (Number.isFinite(a) ? `${(100 * a).toFixed(1)} %` : 'n/a');
// 5 significant digits: plenty for a screen, and a third of the page size
const round = (v: number) => +v.toPrecision(5);
