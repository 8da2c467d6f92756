/**
 * `lineage --html`: the family tree as one offline page (no script or style from elsewhere,
 * so it opens with the network cable out). Each zoo is a section; its runs without a parent
 * are the roots, and every link hangs the child run under its parent run: recorded links
 * solid, inferred ones dashed with their verdict. A button folds a subtree away; hovering a
 * run shows its last checkpoint's hash, metrics and tags, and the link that brought it there.
 *
 * The tree is drawn by the page's own script from the lineage JSON, so a page of 10^4 runs
 * holds the data once instead of 10^4 pre-rendered rows. A run with two parents (a recorded
 * and an inferred one) appears under both; its subtree is drawn at the first only.
 */
import type { Lineage } from '../pipeline/lineage.ts';

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
// JSON inside <script>: "</script>" or "<!--" in a string must not end the element
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The page's HTML. Once the tree is drawn, `window.plotsReady` is true (as page.ts's pages). */
export function lineageHtml(lineage: Lineage, title = 'lineage'): string {
  const zoos = new Set(lineage.nodes.map((n) => n.zoo).filter((z) => z !== null)).size;
  const recorded = lineage.edges.filter((e) => e.kind === 'recorded').length;
  const summary = `${lineage.nodes.length} run(s) in ${zoos} zoo(s); ${recorded} recorded link(s), ${lineage.edges.length - recorded} inferred`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }
ul.tree, ul.tree ul { list-style: none; margin: 0; padding-left: 1.4em; }
ul.tree > li { padding-left: 0; }
li { margin: 0.15em 0; }
.node { display: inline-block; padding: 0.05em 0.4em; border: 1px solid #bbb; border-radius: 3px; background: #fafafa; cursor: default; }
.node.file { background: #fff8e6; }
.node:hover { background: #e8f0fb; }
.link { color: #555; font-size: 0.85em; margin-right: 0.3em; }
li.inferred > .link { border-bottom: 1px dashed #a33; color: #a33; }
li.repeat > .node { border-style: dotted; color: #777; }
button.fold { width: 1.6em; border: none; background: none; cursor: pointer; font-size: 0.9em; padding: 0; }
button.fold:disabled { cursor: default; color: #ccc; }
.tags { color: #1f6a1f; font-size: 0.85em; margin-left: 0.3em; }
h2 { font-size: 1.1em; margin: 1.2em 0 0.3em 0; }
#tip { position: fixed; display: none; background: #fff; border: 1px solid #888; padding: 0.5em 0.7em; font-size: 0.85em; max-width: 36em; box-shadow: 2px 2px 6px #0003; pointer-events: none; white-space: pre-wrap; font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p id="summary">${escapeHtml(summary)}. Recorded links are solid, links inferred by identify --record dashed; click ▾ to fold a subtree, hover a run for its hash and metrics.</p>
<div id="tree"></div>
<div id="tip"></div>
<script>
const lineage = ${scriptJson(lineage)};
try {
  const byId = new Map(lineage.nodes.map((n) => [n.id, n]));
  const children = new Map();
  const hasParent = new Set();
  for (const e of lineage.edges) {
    if (!children.has(e.from)) children.set(e.from, []);
    children.get(e.from).push(e);
    hasParent.add(e.to);
  }
  const tip = document.getElementById('tip');
  const fmt = (v) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString());
  const describe = (n, via) => {
    const lines = [n.id];
    if (n.sha256) lines.push('sha256 ' + n.sha256 + (n.lastEpoch !== null ? '  (epoch ' + n.lastEpoch + ')' : ''));
    for (const [k, v] of Object.entries(n.metrics)) lines.push(k + ' ' + fmt(v));
    for (const [k, v] of Object.entries(n.runTags)) lines.push('tags.' + k + ' = ' + v);
    if (n.tags.length) lines.push('tagged ' + n.tags.join(', '));
    if (via) lines.push(via.kind === 'recorded'
      ? 'recorded link from ' + via.from + '@' + via.at
      : 'inferred link from ' + via.from + '@' + fmt(via.at) + ': ' + via.verdict + ', ' + (via.pValue < (via.pValueFloor ?? 0)
        ? 'p < ' + Number(via.pValueFloor.toPrecision(2))
        : 'p = ' + Number(via.pValue.toPrecision(2))));
    return lines.join('\\n');
  };
  const drawn = new Set();
  const item = (id, via) => {
    const n = byId.get(id) || { id, zoo: null, run: null, lastEpoch: null, sha256: null, metrics: {}, tags: [], runTags: {} };
    const li = document.createElement('li');
    li.dataset.id = id;
    if (via) li.className = via.kind;
    const kids = drawn.has(id) ? [] : children.get(id) || [];
    const repeat = drawn.has(id);
    drawn.add(id);
    if (repeat) li.classList.add('repeat');
    const fold = document.createElement('button');
    fold.className = 'fold';
    fold.textContent = kids.length ? '▾' : '·';
    fold.disabled = !kids.length;
    li.append(fold);
    if (via) {
      const link = document.createElement('span');
      link.className = 'link';
      link.textContent = via.kind === 'recorded' ? '@' + via.at : via.verdict + ' @' + fmt(via.at);
      li.append(link);
    }
    const box = document.createElement('span');
    box.className = 'node' + (n.run === null ? ' file' : '');
    box.textContent = n.run === null ? id.replace(/^file:/, '') : id + (n.lastEpoch !== null ? '  epochs 0-' + n.lastEpoch : '');
    box.addEventListener('mouseenter', (ev) => {
      tip.textContent = describe(n, via);
      tip.style.display = 'block';
      tip.style.left = ev.clientX + 14 + 'px';
      tip.style.top = ev.clientY + 10 + 'px';
    });
    box.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
    li.append(box);
    if (n.tags.length) {
      const tags = document.createElement('span');
      tags.className = 'tags';
      tags.textContent = n.tags.join(', ');
      li.append(tags);
    }
    if (kids.length) {
      const ul = document.createElement('ul');
      for (const e of kids) ul.append(item(e.to, e));
      li.append(ul);
      fold.addEventListener('click', () => {
        const open = ul.style.display !== 'none';
        ul.style.display = open ? 'none' : '';
        fold.textContent = open ? '▸' : '▾';
        li.classList.toggle('folded', open);
      });
    }
    return li;
  };
  const tree = document.getElementById('tree');
  const sections = new Map();
  for (const n of lineage.nodes) {
    if (hasParent.has(n.id)) continue;
    const key = n.zoo === null ? 'files' : n.zoo;
    if (!sections.has(key)) {
      const h = document.createElement('h2');
      h.textContent = key === 'files' ? 'model files' : 'zoo ' + key;
      const ul = document.createElement('ul');
      ul.className = 'tree';
      tree.append(h, ul);
      sections.set(key, ul);
    }
    sections.get(key).append(item(n.id, null));
  }
  // runs inside a cycle of links have no root above them: drawn last, on their own
  const cycles = lineage.nodes.filter((n) => !drawn.has(n.id));
  if (cycles.length) {
    const h = document.createElement('h2');
    h.textContent = 'runs in a cycle of links';
    const ul = document.createElement('ul');
    ul.className = 'tree';
    for (const n of cycles) if (!drawn.has(n.id)) ul.append(item(n.id, null));
    tree.append(h, ul);
  }
  window.plotsReady = true;
} catch (err) {
  window.plotsError = String(err);
  console.error(err);
}
</script>
</body>
</html>
`;
}
