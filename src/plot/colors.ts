/**
 * One colour per run: Plotly's ten default colours while they last, then hues spread by the
 * golden angle, so neighbouring run numbers never get look-alike colours. Chosen runs (plot
 * --highlight, the dashboard) take the colour of their place in the choice (chosenRunColor).
 * The dashboard's page runs this module too (served by serve as /assets/colors.js), so a run
 * has one colour in every plot.
 */
const PLOTLY_COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

export function runColor(run: number, runs: number): string {
  if (runs <= PLOTLY_COLORS.length) return PLOTLY_COLORS[run];
  const hue = (run * 137.508) % 360;
  const lightness = 38 + 14 * (run % 3);
  return `hsl(${hue.toFixed(1)}, 70%, ${lightness}%)`;
}

/** The colour of `run`, one of the `chosen` runs: that of its place in the choice. */
export function chosenRunColor(chosen: readonly number[], run: number): string {
  return runColor(chosen.indexOf(run), chosen.length);
}
