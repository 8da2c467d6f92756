// The dashboard's page: a hash router over the server's JSON endpoints (docs/serve.md).
// Pages are built with DOM calls, never from HTML strings, so that names, tags and notes
// from zoos are shown as text. window.appRenders counts finished renders and
// window.appError keeps the last failure: the browser test waits on them.
'use strict';

const main = document.getElementById('main');
window.appRenders = 0;
window.appError = null;

/** An element: h('a', { href: '#/' }, 'text', child...). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'className') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity))
    if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Puts the page's content in place (arrays flattened, empty parts left out). */
function show(...nodes) {
  main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== ''));
}

async function api(path, init) {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error ?? `${res.status}`);
  return body;
}

const fmt = (v, digits = 4) =>
  v === null || v === undefined
    ? ''
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toPrecision(digits)
      : String(v);
const pct = (v) => (typeof v === 'number' ? `${(100 * v).toFixed(1)} %` : '');
const refLink = (ref) => h('a', { href: `#/checkpoint/${encodeURIComponent(ref)}` }, ref);
const zooLink = (name) => h('a', { href: `#/zoo/${encodeURIComponent(name)}` }, name);
const bytes = (n) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

/** A sortable table: columns [{ key, label, value(row), cell(row), num }]. */
function table(rows, columns, options = {}) {
  let sortKey = options.sortKey ?? null;
  let desc = false;
  const wrap = h('div');
  const draw = () => {
    const col = columns.find((c) => c.key === sortKey);
    const sorted = col
      ? [...rows].sort((a, b) => {
          const [x, y] = [col.value(a), col.value(b)];
          return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
        })
      : rows;
    const head = h(
      'tr',
      {},
      columns.map((c) =>
        h(
          'th',
          {
            'data-key': c.key,
            onclick: () => {
              desc = sortKey === c.key ? !desc : false;
              sortKey = c.key;
              draw();
            },
          },
          c.label + (sortKey === c.key ? (desc ? ' ▾' : ' ▴') : ''),
        ),
      ),
    );
    const body = sorted.map((r) =>
      h(
        'tr',
        { className: options.rowClass?.(r) },
        columns.map((c) =>
          h('td', { className: c.num ? 'num' : null }, c.cell ? c.cell(r) : fmt(c.value(r))),
        ),
      ),
    );
    wrap.replaceChildren(
      h('table', { className: options.className }, h('thead', {}, head), h('tbody', {}, body)),
    );
  };
  draw();
  return wrap;
}

/** A table column for each field of `row` that is not an object, named by the field. */
const plainColumns = (row) =>
  Object.keys(row ?? {})
    .filter((k) => typeof row[k] !== 'object')
    .map((k) => ({ key: k, label: k, value: (x) => x[k], num: typeof row[k] === 'number' }));

function plot(el, data, layout) {
  // a plot whose drawing a note replaced meanwhile is drawn anew, not updated
  if (el._fullLayout && !el.querySelector('.main-svg')) Plotly.purge(el);
  return Plotly.react(
    el,
    data,
    { margin: { t: 40, r: 20 }, hovermode: 'closest', ...layout },
    { displaylogo: false, responsive: true },
  );
}

const GREY = '#c8c8c8';
/** The i-th of n chosen runs' colour: the static plots' rule (plot/colors.ts, served as colors.js). */
const colorOf = (i, n) => runColors.runColor(i, n);
/** A handful of runs spread over the zoo: the default choice where 250 colours would be unreadable. */
const spreadRuns = (runs, count = 5) => [
  ...new Set(
    Array.from({ length: Math.min(count, runs) }, (_, i) =>
      Math.round((i * (runs - 1)) / Math.max(1, Math.min(count, runs) - 1)),
    ),
  ),
];

/**
 * Every checkpoint on the plane: chosen runs in colour, the others in grey beneath; `mark`
 * draws extra points (a checkpoint, an identified upload) on top.
 */
function planeFigure(plane, chosen, labels, mark = []) {
  const { runs, epochs, coords } = plane;
  const rowOf = (run, e) => e * runs + run;
  const trace = (run, color, width, hover) => ({
    type: 'scatter',
    mode: 'lines+markers',
    name: labels?.[run] ? `run ${run}: ${labels[run]}` : `run ${run}`,
    x: Array.from({ length: epochs + 1 }, (_, e) => coords[2 * rowOf(run, e)]),
    y: Array.from({ length: epochs + 1 }, (_, e) => coords[2 * rowOf(run, e) + 1]),
    line: { color, width },
    marker: { color, size: 5 },
    text: Array.from({ length: epochs + 1 }, (_, e) => `run ${run}, epoch ${e}`),
    customdata: Array.from({ length: epochs + 1 }, (_, e) => [run, e]),
    hoverinfo: hover ? 'text' : 'skip',
    showlegend: hover,
  });
  const others = [];
  for (let r = 0; r < runs; r++) if (!chosen.includes(r)) others.push(trace(r, GREY, 1, false));
  const picked = chosen.map((r, i) => trace(r, colorOf(i, chosen.length), 2, true));
  const marks = mark.map((m) => ({
    type: 'scatter',
    mode: 'markers+text',
    name: m.name,
    x: [m.x],
    y: [m.y],
    text: [m.name],
    textposition: 'top center',
    marker: { size: 14, symbol: 'star', color: '#000' },
    hoverinfo: 'text',
  }));
  return [...others, ...picked, ...marks];
}

/** A point at a fractional epoch of a run: between its two checkpoints. */
function planePoint(plane, run, epoch) {
  const e0 = Math.max(0, Math.min(plane.epochs, Math.floor(epoch)));
  const e1 = Math.min(plane.epochs, e0 + 1);
  const t = Math.max(0, Math.min(1, epoch - e0));
  const at = (e) => [plane.coords[2 * (e * plane.runs + run)], plane.coords[2 * (e * plane.runs + run) + 1]];
  const [a, b] = [at(e0), at(e1)];
  return { x: a[0] + t * (b[0] - a[0]), y: a[1] + t * (b[1] - a[1]) };
}

// ---------------------------------------------------------------- pages

async function zoosPage(params) {
  const q = params.get('q') ?? '';
  const query = h('input', {
    type: 'text',
    className: 'query',
    id: 'query',
    value: q,
    placeholder: 'search expression, e.g. metrics.test_accuracy > 0.5 and epoch >= 2',
  });
  const apply = () => {
    location.hash = `#/?q=${encodeURIComponent(query.value)}`;
  };
  query.addEventListener('keydown', (e) => e.key === 'Enter' && apply());
  const bar = h(
    'div',
    { className: 'row' },
    query,
    h('button', { id: 'apply', onclick: apply }, 'Filter'),
    h('a', { href: `/api/zoos?format=csv&q=${encodeURIComponent(q)}`, download: 'zoos.csv' }, 'CSV'),
    h('a', { href: `/api/zoos?q=${encodeURIComponent(q)}`, target: '_blank' }, 'JSON'),
  );
  let body;
  try {
    const { root, zoos } = await api(`/api/zoos?q=${encodeURIComponent(q)}`);
    const all = [
      { key: 'name', label: 'zoo', value: (z) => z.name, cell: (z) => zooLink(z.name) },
      { key: 'architecture', label: 'architecture', value: (z) => z.architecture },
      { key: 'origin', label: 'origin', value: (z) => z.origin },
      { key: 'runs', label: 'runs', value: (z) => z.runs, num: true },
      { key: 'epochs', label: 'epochs', value: (z) => z.epochs, num: true },
      { key: 'checkpoints', label: 'checkpoints', value: (z) => z.checkpoints, num: true },
      { key: 'bytes', label: 'size', value: (z) => z.bytes, cell: (z) => bytes(z.bytes), num: true },
      { key: 'status', label: 'status', value: (z) => z.status },
      {
        key: 'parent',
        label: 'parent',
        value: (z) => z.parent ?? '',
        cell: (z) => (z.parent ? refLink(z.parent) : ''),
      },
      { key: 'updatedAt', label: 'updated', value: (z) => z.updatedAt },
      { key: 'matches', label: 'matches', value: (z) => z.matches ?? '', num: true },
      { key: 'verify', label: 'verify', value: () => '', cell: (z) => verifyButton(z.name) },
    ];
    const shown = new Set(JSON.parse(localStorage.getItem('zooColumns') ?? 'null') ?? all.map((c) => c.key));
    const holder = h('div', { id: 'zoo-table' });
    const draw = () =>
      holder.replaceChildren(
        table(
          zoos,
          all.filter((c) => shown.has(c.key)),
          { sortKey: 'name' },
        ),
      );
    const chooser = h(
      'div',
      { className: 'row note' },
      'columns:',
      all.map((c) =>
        h(
          'label',
          {},
          h('input', {
            type: 'checkbox',
            checked: shown.has(c.key),
            onchange: (e) => {
              e.target.checked ? shown.add(c.key) : shown.delete(c.key);
              localStorage.setItem('zooColumns', JSON.stringify([...shown]));
              draw();
            },
          }),
          c.label,
        ),
      ),
    );
    draw();
    body = [
      h(
        'p',
        { className: 'note' },
        `${zoos.length} zoo${zoos.length === 1 ? '' : 's'} under ${root}${q ? ` with checkpoints matching ${q}` : ''}`,
      ),
      zoos.length
        ? [chooser, holder]
        : h(
            'p',
            {},
            q
              ? 'No zoo has a checkpoint the expression selects.'
              : 'No zoo here yet: train one with npm run zoo; it appears as its epochs are written.',
          ),
    ];
  } catch (err) {
    body = h('p', { className: 'error', id: 'query-error' }, err.message);
  }
  show(h('h1', {}, 'Zoos'), bar, body);
}

function verifyButton(name) {
  const out = h('span');
  const button = h(
    'button',
    {
      onclick: async () => {
        out.textContent = 'checking…';
        try {
          const r = await api(`/api/zoos/${encodeURIComponent(name)}/verify`);
          out.textContent = r.ok
            ? 'ok'
            : `${r.problems.length} problem(s): ${r.problems.map((p) => p.message).join('; ')}`;
        } catch (err) {
          out.textContent = err.message;
        }
      },
    },
    'check',
  );
  return h('span', {}, button, ' ', out);
}

async function zooPage(name, params) {
  const z = await api(`/api/zoos/${encodeURIComponent(name)}`);
  const { summary: s, curves } = z;
  const labels = curves.runs.map((r) => r.label);
  const chosenKey = `chosen:${name}`;
  let chosen = (params.get('runs') ?? sessionStorage.getItem(chosenKey) ?? '')
    .split(',')
    .filter(Boolean)
    .map(Number)
    .filter((r) => r < s.runs);
  // by default a handful of runs spread over the dendrogram, where the cluster exports give one
  const byDefault = await api(`/api/zoos/${encodeURIComponent(name)}/dendrogram`).catch(() => ({}));
  const spread = byDefault.runs ?? spreadRuns(s.runs);
  if (!chosen.length) chosen = spread;
  const setChosen = (runs) => {
    chosen = runs;
    sessionStorage.setItem(chosenKey, runs.join(','));
    main.querySelectorAll('input.pick').forEach((c) => (c.checked = chosen.includes(+c.dataset.run)));
    drawCurves();
    drawPlane();
    drawDendrogram();
  };

  const runsTable = table(curves.runs, [
    {
      key: 'pick',
      label: 'show',
      value: (r) => (chosen.includes(r.run) ? 0 : 1),
      cell: (r) =>
        h('input', {
          type: 'checkbox',
          className: 'pick',
          'data-run': r.run,
          checked: chosen.includes(r.run),
          onchange: (e) =>
            setChosen(e.target.checked ? [...chosen, r.run] : chosen.filter((x) => x !== r.run)),
        }),
    },
    { key: 'run', label: 'run', value: (r) => r.run, cell: (r) => refLink(`${name}:${r.run}`), num: true },
    { key: 'label', label: 'seed / label', value: (r) => r.label },
    {
      key: 'tags',
      label: 'tags',
      value: (r) =>
        Object.entries(r.tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(', '),
    },
    { key: 'note', label: 'note', value: (r) => r.note ?? '' },
    ...Object.keys(curves.metrics).map((m) => ({
      key: m,
      label: `${m} (last)`,
      value: (r) => curves.metrics[m][r.run][curves.epochs] ?? '',
      num: true,
    })),
  ]);

  // curves: chosen runs overlaid, or minus one run, or mean / min / max over a run tag's groups
  const metricNames = Object.keys(curves.metrics);
  const metricSelect = h(
    'select',
    { id: 'metric', onchange: () => drawCurves() },
    metricNames.map((m) => h('option', { value: m }, m)),
  );
  const modeSelect = h(
    'select',
    { id: 'curve-mode', onchange: () => drawCurves() },
    h('option', { value: 'overlay' }, 'chosen runs'),
    h('option', { value: 'subtract' }, 'chosen runs minus the first chosen'),
    h('option', { value: 'aggregate' }, 'mean / min / max by run tag'),
  );
  const tagKeys = [...new Set(curves.runs.flatMap((r) => Object.keys(r.tags)))];
  const tagSelect = h(
    'select',
    { id: 'curve-tag', onchange: () => drawCurves() },
    h('option', { value: '' }, 'all runs'),
    tagKeys.map((k) => h('option', { value: k }, k)),
  );
  const curvePlot = h('div', { className: 'plot', id: 'curves' });
  const epochs = Array.from({ length: curves.epochs + 1 }, (_, e) => e);
  function drawCurves() {
    const metric = metricSelect.value;
    if (!metric) return;
    const values = curves.metrics[metric];
    let data;
    if (modeSelect.value === 'aggregate') {
      const key = tagSelect.value;
      const groups = new Map();
      for (const r of curves.runs) {
        const g = key ? (r.tags[key] ?? '(none)') : 'all runs';
        groups.set(g, [...(groups.get(g) ?? []), r.run]);
      }
      data = [...groups].flatMap(([g, runs], i) => {
        const stat = (f) =>
          epochs.map((e) => {
            const v = runs.map((r) => values[r][e]).filter((x) => x !== null);
            return v.length ? f(v) : null;
          });
        const color = colorOf(i, groups.size);
        return [
          {
            x: epochs,
            y: stat((v) => Math.max(...v)),
            mode: 'lines',
            line: { width: 0 },
            showlegend: false,
            name: `${g} max`,
            hoverinfo: 'skip',
          },
          {
            x: epochs,
            y: stat((v) => Math.min(...v)),
            mode: 'lines',
            line: { width: 0 },
            fill: 'tonexty',
            fillcolor: color + '33',
            showlegend: false,
            name: `${g} min`,
            hoverinfo: 'skip',
          },
          {
            x: epochs,
            y: stat((v) => v.reduce((a, b) => a + b, 0) / v.length),
            mode: 'lines',
            line: { color },
            name: `${key ? `${key}=` : ''}${g}: mean of ${runs.length}`,
          },
        ];
      });
    } else {
      const base = modeSelect.value === 'subtract' ? chosen[0] : null;
      data = chosen
        .filter((r) => r !== base)
        .map((r, i) => ({
          x: epochs,
          y: epochs.map((e) =>
            values[r][e] === null ? null : values[r][e] - (base === null ? 0 : (values[base][e] ?? NaN)),
          ),
          mode: 'lines+markers',
          name: `run ${r}${base === null ? '' : ` − run ${base}`}`,
          line: { color: colorOf(chosen.indexOf(r), chosen.length) },
        }));
    }
    plot(curvePlot, data, { title: { text: metric }, xaxis: { title: { text: 'epoch' } } });
  }

  const planeHolder = h(
    'div',
    { className: 'plot', id: 'plane' },
    h('p', { className: 'note' }, 'placing the checkpoints…'),
  );
  const methodSelect = h(
    'select',
    { id: 'plane-method', onchange: () => loadPlane() },
    h('option', { value: 'umap' }, 'UMAP of SVD-50'),
    h('option', { value: 'svd' }, 'SVD, first two components'),
  );
  let plane = null;
  // A selection (lasso or box) chooses the runs of the points it holds, grey ones included;
  // a click on a chosen run's point opens that checkpoint. Registered once: Plotly.react keeps
  // a div's listeners across redraws.
  let listening = false;
  const listen = () => {
    if (listening) return;
    listening = true;
    planeHolder.on('plotly_click', (ev) => {
      const [run, epoch] = ev.points[0].customdata ?? [];
      if (run !== undefined) location.hash = `#/checkpoint/${encodeURIComponent(`${name}:${run}@${epoch}`)}`;
    });
    planeHolder.on('plotly_selected', (ev) => {
      const runs = [
        ...new Set((ev?.points ?? []).map((pt) => pt.customdata?.[0]).filter((r) => r !== undefined)),
      ];
      if (!runs.length) return;
      setChosen(runs.sort((a, b) => a - b));
    });
  };
  async function loadPlane() {
    try {
      plane = await api(`/api/zoos/${encodeURIComponent(name)}/plane?method=${methodSelect.value}`);
      planeHolder.replaceChildren();
      drawPlane();
      listen();
    } catch (err) {
      planeHolder.replaceChildren(h('p', { className: 'error' }, err.message));
    }
  }
  let selections = 0;
  function drawPlane() {
    if (!plane) return;
    plot(planeHolder, planeFigure(plane, chosen, labels), {
      title: { text: `${plane.axes[0]} / ${plane.axes[1]}: chosen runs in colour` },
      xaxis: { title: { text: plane.axes[0] } },
      yaxis: { title: { text: plane.axes[1] } },
      dragmode: 'lasso',
      // the zoom and drag mode the user set survive a redraw; the last selection does not
      uirevision: `${name}:${methodSelect.value}`,
      selectionrevision: ++selections,
    });
  }

  // the single-linkage tree of the chosen runs, from the cluster exports where they exist
  const dendrogramHolder = h('div', { className: 'plot', id: 'dendrogram' });
  async function drawDendrogram() {
    if (!chosen.length)
      return dendrogramHolder.replaceChildren(h('p', { className: 'note' }, 'choose runs above'));
    try {
      // the page's first answer serves again for the same runs, and says the same note for any
      const { figure, note } =
        byDefault.figure === null || chosen.join(',') === byDefault.runs?.join(',')
          ? byDefault
          : await api(`/api/zoos/${encodeURIComponent(name)}/dendrogram?runs=${chosen.join(',')}`);
      if (!figure)
        return dendrogramHolder.replaceChildren(h('p', { className: 'note', id: 'dendrogram-note' }, note));
      dendrogramHolder.replaceChildren();
      plot(dendrogramHolder, figure.data, figure.layout);
    } catch (err) {
      dendrogramHolder.replaceChildren(h('p', { className: 'note', id: 'dendrogram-note' }, err.message));
    }
  }

  const statsHolder = h('div', { className: 'plot', id: 'stats' });
  api(`/api/zoos/${encodeURIComponent(name)}/stats`).then(
    (st) => {
      const data = st.tensors.flatMap((t, i) => [
        {
          x: epochs,
          y: st.meanAbs[i],
          name: `${t} mean |w|`,
          mode: 'lines',
          line: { color: colorOf(i, st.tensors.length) },
        },
        {
          x: epochs,
          y: st.std[i],
          name: `${t} std`,
          mode: 'lines',
          line: { color: colorOf(i, st.tensors.length), dash: 'dot' },
        },
      ]);
      plot(statsHolder, data, {
        title: { text: 'per-tensor weight statistics, mean over runs' },
        xaxis: { title: { text: 'epoch' } },
      });
    },
    (err) => statsHolder.replaceChildren(h('p', { className: 'error' }, err.message)),
  );

  const report = z.report
    ? [
        h('h2', {}, 'Cluster report'),
        h('p', { className: 'note' }, `from npm run cluster: run purity and epoch order per space`),
        table(z.report.rows, plainColumns(z.report.rows[0])),
      ]
    : h(
        'p',
        { className: 'note' },
        'No cluster report for this zoo (npm run cluster writes one; the dendrogram and sweep then show here).',
      );

  show(
    h('h1', {}, name),
    h(
      'p',
      {},
      `${s.architecture}, ${s.origin}, ${s.runs} runs, epochs 0-${s.epochs}, ${s.checkpoints} checkpoints of ${s.weights} weights (${bytes(s.bytes)}), ${s.status}`,
      s.parent ? [', forked from ', refLink(s.parent)] : '',
    ),
    h('h2', {}, 'Runs'),
    h(
      'div',
      { className: 'row' },
      h(
        'button',
        {
          onclick: () => setChosen(spread),
        },
        'spread',
      ),
      h(
        'button',
        {
          onclick: () => setChosen([]),
        },
        'none',
      ),
    ),
    // a paper-scale zoo has 250 runs: the table scrolls rather than pushing the plots down
    h('div', { className: 'scroll' }, runsTable),
    z.tags.length
      ? [
          h('h2', {}, 'Tags'),
          h(
            'ul',
            {},
            z.tags.map((t) =>
              h('li', {}, `${t.name}: `, refLink(t.ref), t.tag.note ? ` (${t.tag.note})` : ''),
            ),
          ),
        ]
      : '',
    h('h2', {}, 'Training curves'),
    metricNames.length
      ? h('div', { className: 'row' }, metricSelect, modeSelect, tagSelect)
      : h('p', { className: 'note' }, 'No metrics recorded.'),
    curvePlot,
    h('h2', {}, 'Weight space'),
    h(
      'div',
      { className: 'row' },
      methodSelect,
      h(
        'span',
        { className: 'note' },
        'draw around points to choose their runs (the toolbar zooms); click a point of a chosen run to open its checkpoint',
      ),
    ),
    planeHolder,
    h('h2', {}, 'Dendrogram'),
    dendrogramHolder,
    h('h2', {}, 'Weights over epochs'),
    statsHolder,
    h('h2', {}, 'Network'),
    networkTable(z.network, z.tensors),
    report,
  );
  drawCurves();
  await Promise.all([loadPlane(), drawDendrogram()]);
}

function networkTable(network, tensors) {
  const t = table(tensors, [
    { key: 'name', label: 'tensor', value: (x) => x.name },
    { key: 'shape', label: 'shape', value: (x) => x.shape.join(' × ') },
    { key: 'size', label: 'parameters', value: (x) => x.size, num: true },
  ]);
  if (!network)
    return h(
      'div',
      {},
      h(
        'p',
        { className: 'note' },
        'The computation these weights define is not recorded (import with --network to run them).',
      ),
      t,
    );
  return h(
    'div',
    {},
    h(
      'p',
      {},
      `input ${network.input.join(' × ')}: `,
      network.layers
        .map((l) => l.kind + (l.fn ? ` ${l.fn}` : l.units ? ` ${l.units}` : l.filters ? ` ${l.filters}` : ''))
        .join(' → '),
    ),
    t,
  );
}

async function checkpointPage(ref) {
  const d = await api(`/api/checkpoints/${encodeURIComponent(ref)}`);
  const s = d.show;
  const metrics = Object.entries(s.metrics)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
  const diffOut = h('div', { id: 'diff' });
  const other = h('input', {
    type: 'text',
    id: 'diff-ref',
    value: s.parentRef ?? `${s.zoo}:${s.run}@0`,
    size: 30,
  });
  const onlyChanged = h('input', { type: 'checkbox', id: 'only-changed', checked: true });
  async function runDiff() {
    diffOut.replaceChildren(h('p', { className: 'note' }, 'comparing…'));
    try {
      const r = await api(
        `/api/diff?a=${encodeURIComponent(other.value)}&b=${encodeURIComponent(s.ref)}&all=1`,
      );
      const rows = r.tensors.filter((t) => !onlyChanged.checked || t.l2 > 0);
      const chart = h('div', { className: 'plot', style: 'height:320px' });
      diffOut.replaceChildren(
        h('p', {}, r.summary),
        table(rows, plainColumns(r.tensors[0]), { rowClass: (x) => (x.l2 > 0 ? 'changed' : null) }),
        chart,
      );
      const numeric = Object.keys(r.tensors[0] ?? {}).find(
        (k) => /relative|l2/i.test(k) && typeof r.tensors[0][k] === 'number',
      );
      if (numeric)
        plot(
          chart,
          [{ type: 'bar', x: rows.map((t) => t.name ?? t.tensor), y: rows.map((t) => t[numeric]) }],
          { title: { text: numeric } },
        );
    } catch (err) {
      diffOut.replaceChildren(h('p', { className: 'error' }, err.message));
    }
  }
  onlyChanged.addEventListener('change', runDiff);

  const planeHolder = h('div', { className: 'plot', id: 'plane' });
  api(`/api/zoos/${encodeURIComponent(s.zoo)}/plane?method=umap`).then(
    (plane) => {
      const p = planePoint(plane, s.run, s.epoch);
      plot(planeHolder, planeFigure(plane, [s.run], null, [{ name: s.ref, ...p }]), {
        title: { text: `${s.ref} among the zoo's checkpoints` },
      });
    },
    (err) => planeHolder.replaceChildren(h('p', { className: 'note' }, err.message)),
  );

  const predictions = h('div', { id: 'predictions' });
  if (d.network) {
    api(`/api/predict?ref=${encodeURIComponent(s.ref)}&count=8`).then(
      (p) => predictions.replaceChildren(digits(p)),
      (err) => predictions.replaceChildren(h('p', { className: 'error' }, err.message)),
    );
  } else
    predictions.append(
      h('p', { className: 'note' }, 'The network of this zoo is not known, so the checkpoint cannot be run.'),
    );
  const imageInput = h('input', {
    type: 'file',
    accept: 'image/*',
    id: 'image-upload',
    onchange: async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      const side =
        d.network?.input?.length === 3
          ? d.network.input[2]
          : Math.round(Math.sqrt(d.network?.input?.[0] ?? 196));
      try {
        const pixels = await imagePixels(file, side);
        const p = await api(`/api/predict?ref=${encodeURIComponent(s.ref)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pixels }),
        });
        p.images = [pixels];
        predictions.prepend(digits(p, 'your image'));
      } catch (err) {
        predictions.prepend(h('p', { className: 'error' }, err.message));
      }
    },
  });

  const tagName = h('input', { type: 'text', id: 'tag-name', placeholder: 'tag name' });
  const tagNote = h('input', { type: 'text', id: 'tag-note', placeholder: 'message (optional)' });
  const tagOut = h('span');
  const addTag = async () => {
    try {
      const r = await api('/api/tags', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ref: s.ref, name: tagName.value, message: tagNote.value }),
      });
      tagOut.textContent = `tagged ${r.ref} as ${r.tag.name ?? tagName.value}`;
    } catch (err) {
      tagOut.textContent = err.message;
    }
  };

  show(
    h('h1', {}, s.ref),
    h(
      'table',
      {},
      h(
        'tbody',
        {},
        [
          ['zoo', zooLink(s.zoo)],
          ['architecture', s.architecture],
          ['SHA-256', h('code', {}, s.sha256)],
          ['step', s.step],
          [
            'parent',
            s.parentRef
              ? refLink(s.parentRef)
              : s.parent
                ? h('code', {}, s.parent.slice(0, 12))
                : 'none (a root)',
          ],
          ['children', s.children.length ? s.children.map((c, i) => [i ? ', ' : '', refLink(c)]) : 'none'],
          ['ancestors', (s.ancestors ?? []).length],
          ['descendants', (s.descendants ?? []).length],
          ['metrics', metrics || 'none'],
          ['tags', s.tags.join(', ') || 'none'],
          [
            'run',
            `${s.run} ${Object.entries(s.runTags)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')} ${s.note ?? ''}`,
          ],
        ].map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
      ),
    ),
    h(
      'div',
      { className: 'row' },
      tagName,
      tagNote,
      h('button', { id: 'tag-add', onclick: addTag }, 'tag'),
      tagOut,
    ),
    h('h2', {}, 'Where it is'),
    planeHolder,
    h('h2', {}, 'Weights per tensor'),
    table(s.profile, plainColumns(s.profile[0])),
    h('h2', {}, 'Diff'),
    h(
      'div',
      { className: 'row' },
      'against',
      other,
      h('label', {}, onlyChanged, 'only changed tensors'),
      h('button', { id: 'diff-run', onclick: runDiff }, 'diff'),
    ),
    diffOut,
    h('h2', {}, 'Predictions'),
    h('div', { className: 'row' }, 'an image of your own:', imageInput),
    predictions,
    h('h2', {}, 'Log of run ' + s.run),
    table(d.log, [
      { key: 'ref', label: 'checkpoint', value: (e) => e.epoch, cell: (e) => refLink(e.ref) },
      {
        key: 'sha',
        label: 'SHA-256',
        value: (e) => e.sha256,
        cell: (e) => h('code', {}, e.sha256.slice(0, 12)),
      },
      {
        key: 'acc',
        label: 'test accuracy',
        value: (e) => e.metrics.test_accuracy ?? '',
        cell: (e) => pct(e.metrics.test_accuracy),
        num: true,
      },
      { key: 'time', label: 'committed', value: (e) => e.time },
    ]),
    h('h2', {}, 'Lineage'),
    lineageView(d.lineage),
    h('h2', {}, 'Network'),
    networkTable(
      d.network,
      s.profile.map((p) => ({ name: p.name, shape: p.shape ?? [], size: p.size ?? p.count ?? 0 })),
    ),
  );
  await runDiff();
}

/** Images with the predicted class and its probability (and the label of test images). */
function digits(p, caption) {
  return h(
    'div',
    { className: 'digits' },
    p.probabilities.map((probs, i) => {
      const best = probs.indexOf(Math.max(...probs));
      const canvas = h('canvas', { className: 'digit', width: p.side, height: p.side });
      if (p.images?.[i]) {
        const ctx = canvas.getContext('2d');
        const img = ctx.createImageData(p.side, p.side);
        p.images[i].forEach((v, k) => {
          const g = 255 - Math.round(255 * v);
          img.data.set([g, g, g, 255], 4 * k);
        });
        ctx.putImageData(img, 0, 0);
      }
      return h(
        'figure',
        { className: 'prediction' },
        canvas,
        h(
          'figcaption',
          {},
          `${caption ?? (p.labels ? `label ${p.labels[i]}` : '')}`,
          h('br'),
          h('b', {}, `→ ${best}`),
          ` ${pct(probs[best])}`,
        ),
      );
    }),
  );
}

/** An uploaded image as the network reads MNIST: grey, white digit on black, side x side, values 0..1. */
async function imagePixels(file, side) {
  const bitmap = await createImageBitmap(file);
  const canvas = h('canvas', { width: side, height: side });
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0, side, side);
  const { data } = ctx.getImageData(0, 0, side, side);
  const grey = Array.from(
    { length: side * side },
    (_, k) => (data[4 * k] + data[4 * k + 1] + data[4 * k + 2]) / (3 * 255),
  );
  const mean = grey.reduce((a, b) => a + b, 0) / grey.length;
  return mean > 0.5 ? grey.map((v) => +(1 - v).toFixed(4)) : grey.map((v) => +v.toFixed(4)); // dark ink on white is turned over
}

function lineageView(lineage) {
  const children = new Map();
  for (const e of lineage.edges) children.set(e.from, [...(children.get(e.from) ?? []), e]);
  const hasParent = new Set(lineage.edges.map((e) => e.to));
  const roots = lineage.nodes.filter((n) => !hasParent.has(n.id));
  const seen = new Set();
  const nodeText = (n) => (n.zoo !== null ? refLink(`${n.zoo}:${n.run}`) : h('span', {}, n.id));
  const byId = new Map(lineage.nodes.map((n) => [n.id, n]));
  const item = (n, edge) => {
    if (seen.has(n.id)) return h('li', {}, nodeText(n), ' (above)');
    seen.add(n.id);
    const label = edge
      ? edge.kind === 'inferred'
        ? h(
            'span',
            { className: 'inferred' },
            ` ⇠ inferred (${edge.method ?? 'identify'}: ${edge.verdict ?? ''}${edge.pValue === undefined ? '' : edge.pValue < (edge.pValueFloor ?? 0) ? `, p < ${fmt(edge.pValueFloor, 2)}` : `, p ${fmt(edge.pValue, 2)}`}) at epoch ${fmt(edge.at, 3)}`,
          )
        : h('span', {}, ` ← recorded at epoch ${edge.at}`)
      : '';
    const kids = (children.get(n.id) ?? []).map((e) => item(byId.get(e.to) ?? { id: e.to, zoo: null }, e));
    return h(
      'li',
      { className: edge?.kind === 'inferred' ? 'inferred-node' : null },
      nodeText(n),
      label,
      kids.length ? h('ul', { className: 'tree' }, kids) : '',
    );
  };
  const recorded = lineage.edges.filter((e) => e.kind === 'recorded').length;
  return h(
    'div',
    { id: 'lineage' },
    h(
      'p',
      { className: 'note' },
      `${lineage.nodes.length} nodes; ${recorded} recorded links (←), ${lineage.edges.length - recorded} inferred (⇠)`,
    ),
    h(
      'ul',
      { className: 'tree' },
      roots.map((n) => item(n, null)),
    ),
  );
}

async function lineagePage() {
  show(h('h1', {}, 'Lineage'), lineageView(await api('/api/lineage')));
}

function identifyPage() {
  const out = h('div', { id: 'identify-result' });
  const zooSelect = h('select', { id: 'identify-zoo' }, h('option', { value: '' }, 'the zoo it fits'));
  api('/api/zoos').then(
    ({ zoos }) => zoos.forEach((z) => zooSelect.append(h('option', { value: z.name }, z.name))),
    () => {},
  );
  const record = h('input', { type: 'checkbox', id: 'identify-record' });
  const input = h('input', {
    type: 'file',
    id: 'identify-file',
    multiple: true,
    accept: '.safetensors,.arrow,.npy,.json,.bin',
    onchange: (e) => e.target.files.length && send([...e.target.files]),
  });
  const drop = h(
    'div',
    { className: 'drop', id: 'drop' },
    'Drop a checkpoint here (.safetensors, a one-row .arrow as npm run export writes, a .npy of the flat weights, or a TensorFlow.js model.json with its weight files), or ',
    input,
  );
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) send([...e.dataTransfer.files]);
  });
  async function send(files) {
    // one file goes as the body; a tfjs model's files go one after another, their sizes in ?parts=
    const file = files.find((f) => f.name.endsWith('.json')) ?? files[0];
    out.replaceChildren(
      h('p', { className: 'note' }, `identifying ${files.map((f) => f.name).join(' + ')}…`),
    );
    const q = new URLSearchParams({
      ...(files.length === 1
        ? { name: file.name }
        : { parts: files.map((f) => `${f.name}:${f.size}`).join(',') }),
      ...(zooSelect.value && { zoo: zooSelect.value }),
      ...(record.checked && { record: '1' }),
    });
    try {
      const r = await api(`/api/identify?${q}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: files.length === 1 ? files[0] : new Blob(files),
      });
      const ref = `${r.zoo}:${r.run}@${Math.min(r.epochs, Math.max(0, Math.round(r.epoch)))}`;
      const planeHolder = h('div', { className: 'plot', id: 'identify-plane' });
      out.replaceChildren(
        h(
          'p',
          { className: 'verdict', id: 'verdict' },
          `${r.verdict.toUpperCase()}: run ${r.run} of ${r.zoo}, epoch ${r.epoch.toFixed(2)}`,
        ),
        h(
          'p',
          {},
          `${r.runLabel}; p-value ${r.pValue < r.pValueFloor ? `< ${fmt(r.pValueFloor, 2)}` : fmt(r.pValue, 2)} (H0: not from run ${r.run}); distance ${fmt(r.distance)}, margin ${fmt(r.margin, 3)}; aligned: ${r.aligned ?? 'no'}${r.alignmentNote ? ` (${r.alignmentNote})` : ''}`,
        ),
        h(
          'p',
          {},
          'nearest checkpoint: ',
          refLink(ref),
          r.recorded ? ' — recorded as an inferred link (see Lineage)' : '',
        ),
        r.notes.length ? h('p', { className: 'note' }, r.notes.join('; ')) : '',
        table(r.candidates, [
          { key: 'run', label: 'run', value: (c) => c.run, num: true },
          { key: 'seed', label: 'seed', value: (c) => c.seed, num: true },
          { key: 'epoch', label: 'epoch', value: (c) => c.epoch, cell: (c) => c.epoch.toFixed(2), num: true },
          { key: 'distance', label: 'distance', value: (c) => c.distance, num: true },
        ]),
        planeHolder,
      );
      const plane = await api(`/api/zoos/${encodeURIComponent(r.zoo)}/plane?method=umap`);
      plot(
        planeHolder,
        planeFigure(plane, [r.run], null, [
          { name: file.name, ...planePoint(plane, r.run, Math.min(r.epoch, plane.epochs)) },
        ]),
        { title: { text: `${file.name}, placed at run ${r.run}, epoch ${r.epoch.toFixed(2)}` } },
      );
    } catch (err) {
      out.replaceChildren(h('p', { className: 'error', id: 'identify-error' }, err.message));
    }
    window.appRenders++;
  }
  show(
    h('h1', {}, 'Identify a checkpoint'),
    h(
      'div',
      { className: 'row' },
      'search',
      zooSelect,
      h('label', {}, record, 'record the result as an inferred link'),
    ),
    drop,
    out,
  );
}

// ---------------------------------------------------------------- routing and live updates

async function render() {
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'zoo' && parts[1]) await zooPage(parts[1], params);
    else if (parts[0] === 'checkpoint' && parts[1]) await checkpointPage(parts[1]);
    else if (parts[0] === 'identify') identifyPage();
    else if (parts[0] === 'lineage') await lineagePage();
    else await zoosPage(params);
    document.title = `weightspace: ${parts[1] ?? parts[0] ?? 'zoos'}`;
  } catch (err) {
    window.appError = err.message;
    show(h('p', { className: 'error', id: 'page-error' }, err.message));
  }
  window.appRenders++;
}

window.addEventListener('hashchange', render);
window.addEventListener('DOMContentLoaded', () => {
  render();
  const live = document.getElementById('live');
  const progress = document.getElementById('progress');
  const events = new EventSource('/api/events');
  events.onopen = () => live.classList.add('on');
  events.onerror = () => live.classList.remove('on');
  events.addEventListener('progress', (e) => {
    const p = JSON.parse(e.data);
    progress.textContent = p.done < p.total ? `${p.step}: ${p.done}/${p.total}` : '';
  });
  events.addEventListener('zoos', (e) => {
    const { changed } = JSON.parse(e.data);
    window.liveUpdates = (window.liveUpdates ?? 0) + 1;
    const [path] = location.hash.replace(/^#/, '').split('?');
    const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
    // the list shows every zoo; a zoo's page only its own
    if (parts.length === 0 || (parts[0] === 'zoo' && changed.includes(parts[1]))) render();
  });
});
