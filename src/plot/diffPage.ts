/**
 * `diff --html`: the diff of two checkpoints as an offline page (page.ts: plotly inlined, no
 * request leaves it): the change of each tensor, then a bar chart per layer of how far each
 * of its units moved.
 */
import type { DiffResult } from '../pipeline/diff.ts';
import type { Figure, Page } from './page.ts';

export function diffPage(d: DiffResult, file: string): Page {
  const names = d.tensors.map((t) => t.name);
  const overview: Figure = {
    data: [
      { type: 'bar', name: '|B - A|', x: names, y: d.tensors.map((t) => t.l2) },
      {
        type: 'bar',
        name: 'relative to |A|',
        x: names,
        y: d.tensors.map((t) => t.relative),
        yaxis: 'y2',
        visible: 'legendonly',
      },
    ],
    layout: {
      title: { text: `${d.b} vs ${d.a}: the change of each tensor` },
      yaxis: { title: { text: 'L2 of the change' } },
      yaxis2: { title: { text: 'relative' }, overlaying: 'y', side: 'right' },
      barmode: 'group',
    },
    caption: d.summary,
  };
  const perLayer = d.tensors.map((t): Figure => ({
    data: [{ type: 'bar', x: t.unitL2.map((_, u) => u), y: t.unitL2, name: t.name }],
    layout: {
      title: { text: `${t.name} [${t.shape.join(', ')}]: the change of each unit` },
      xaxis: { title: { text: 'unit (first axis)' } },
      yaxis: { title: { text: 'L2 of the change' } },
    },
    caption: `cosine ${t.cosine.toPrecision(6)}, max |change| ${t.maxAbs.toPrecision(4)}, sign flips ${(100 * t.signFlips).toPrecision(3)} %, |w| < 1e-3 ${(100 * t.nearZero.before).toPrecision(3)} % before, ${(100 * t.nearZero.after).toPrecision(3)} % after`,
  }));
  return {
    file,
    title: `diff: ${d.b} vs ${d.a}`,
    summary: d.summary,
    figures: [overview, ...perLayer],
  };
}
