/**
 * Self-contained HTML pages of Plotly figures: plotly.js (from plotly.js-dist, minified once
 * with esbuild and cached) is inlined into every page, so each file opens with no network
 * and can be mailed or archived on its own, like Python plotly's include_plotlyjs=True.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { transformSync } from 'esbuild';
import { writeFileAtomic } from '../store/atomicWrite.ts';

/** One Plotly figure: traces and layout as plotly.js takes them. */
export interface Figure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
  /** A sentence under the figure: what it shows and how it was made. */
  caption?: string;
}

export interface Page {
  /** File name in the output folder, e.g. "trajectories-umap-full.html". */
  file: string;
  title: string;
  /** One line for index.html. */
  summary: string;
  figures: Figure[];
}

const require = createRequire(import.meta.url);
let bundle: string | null = null;

/** plotly.js minified (4.8 MB instead of 10 MB); cached next to the package's node_modules. */
export function plotlyBundle(): string {
  if (bundle) return bundle;
  const pkgPath = require.resolve('plotly.js-dist/package.json');
  const { version } = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  const cacheDir = join(dirname(dirname(pkgPath)), '.cache', 'weightspace-vc');
  const cached = join(cacheDir, `plotly-${version}.min.js`);
  if (existsSync(cached)) {
    bundle = readFileSync(cached, 'utf8');
  } else {
    const source = readFileSync(join(dirname(pkgPath), 'plotly.js'), 'utf8');
    bundle = transformSync(source, { minify: true, legalComments: 'eof' }).code;
    try {
      mkdirSync(cacheDir, { recursive: true });
      writeFileAtomic(cached, bundle);
    } catch {
      // a read-only node_modules only costs the minification again next time
    }
  }
  return bundle;
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
// JSON inside <script>: "</script>" or "<!--" in a string must not end the element
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * The page's HTML. Once every figure is drawn, `window.plotsReady` is true (headless
 * screenshots and the browser test wait for it); a failure sets `window.plotsError`.
 */
export function pageHtml(page: Page): string {
  const figures = page.figures.map(
    (f, i) =>
      `<figure><div id="plot-${i}" class="plot"></div>${f.caption ? `<figcaption>${escapeHtml(f.caption)}</figcaption>` : ''}</figure>`,
  );
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(page.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
figure { margin: 0 0 2em 0; }
figcaption { color: #555; font-size: 0.9em; margin-top: 0.3em; }
.plot { width: 100%; height: 640px; }
a { color: #1f5fa8; }
</style>
<script>${plotlyBundle()}</script>
</head>
<body>
<p><a href="index.html">all plots</a></p>
<h1>${escapeHtml(page.title)}</h1>
${figures.join('\n')}
<script>
const figures = ${scriptJson(page.figures.map(({ data, layout }) => ({ data, layout })))};
Promise.all(figures.map((f, i) => Plotly.newPlot('plot-' + i, f.data, f.layout, { responsive: true, displaylogo: false })))
  .then(() => { window.plotsReady = true; })
  .catch((err) => { window.plotsError = String(err); console.error(err); });
</script>
</body>
</html>
`;
}

/** index.html: a link and a line for each page. */
export function indexHtml(title: string, pages: Page[], notes: string[] = []): string {
  const items = pages.map(
    (p) => `<li><a href="${escapeHtml(p.file)}">${escapeHtml(p.title)}</a>: ${escapeHtml(p.summary)}</li>`,
  );
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 900px; color: #222; } li { margin: 0.4em 0; }</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<ul>
${items.join('\n')}
</ul>
${notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n')}
</body>
</html>
`;
}

export function writePage(outDir: string, page: Page): string {
  const path = join(outDir, page.file);
  writeFileAtomic(path, pageHtml(page));
  return path;
}
