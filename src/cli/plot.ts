/**
 * npm run plot -- [options]: the paper's figures for every zoo under --zoo as offline,
 * interactive HTML (plotZoo.ts), and PNG images through headless Chromium with --png.
 */
import { parseArgs } from 'node:util';
import { findChromium, launchChromium, NO_CHROMIUM, renderPage } from '../plot/browser.ts';
import { plotZoo, PLOT_DEFAULTS } from '../plot/plotZoo.ts';
import { findZoos, intOption, runCli, UserError } from './common.ts';
import { StepProgress } from './progress.ts';

const HELP = `Usage: npm run plot -- [options]

Draws every zoo's figures as interactive HTML pages that work offline (plotly.js is inside
each file), in <out>/<zoo>/ with an index.html:
  trajectories-umap-full.html, trajectories-umap-svd-<k>.html   UMAP trajectories (paper Figs. 4-5)
  trajectories-svd.html     first SVD components, 2D and 3D
  dendrogram.html           single-linkage tree of a few runs, and one cluster in detail (Fig. 6)
  weight-stats.html         weight mean vs standard deviation per model (Fig. 3)
  sweep.html                purity and epoch order against SVD dimension (Tables 2-3)
  training-curves.html      loss and accuracy per epoch across the zoo
The dendrogram and the sweep use the cluster command's exports in <out> when they were made
from this zoo's current checkpoints; when they are missing or stale, the paper's sweep (full,
500, 100, 50, 25, 10, 5) runs first.

Options:
  --zoo DIR          a zoo, or a folder of zoos (default: zoo, i.e. every zoo under zoo/)
  --out DIR          cluster exports and plots (default: ${PLOT_DEFAULTS.outDir})
  --svd K            SVD dimension of the second UMAP and of the dendrogram (default: ${PLOT_DEFAULTS.svd})
  --runs N           runs in the dendrogram (default: ${PLOT_DEFAULTS.dendrogramRuns})
  --epoch E          epoch of the weight statistics (default: the last)
  --seed N           UMAP seed (default: ${PLOT_DEFAULTS.seed})
  --umap-epochs N    UMAP optimisation epochs (default: umap-js's, 500 below 10,000 points)
  --png              also write a PNG of every page (headless Chromium)
  --chromium PATH    the Chromium for --png (default: $CHROMIUM_PATH or /usr/bin/chromium)
  --no-verify        skip checking every checkpoint's SHA-256 while loading (see npm run verify)
  -h, --help         show this help

Examples:
  npm run plot
  npm run plot -- --zoo zoo/cnn-default --png
`;

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      zoo: { type: 'string' },
      out: { type: 'string' },
      svd: { type: 'string' },
      runs: { type: 'string' },
      epoch: { type: 'string' },
      seed: { type: 'string' },
      'umap-epochs': { type: 'string' },
      png: { type: 'boolean' },
      chromium: { type: 'string' },
      'no-verify': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const zooDirs = findZoos(values.zoo ?? 'zoo');
  // find the browser before minutes of UMAP, not after
  const chromiumPath = values.png ? findChromium(values.chromium) : null;
  if (values.png && !chromiumPath) throw new UserError(values.chromium ? `--chromium ${values.chromium} does not exist; give the path of a Chromium binary` : NO_CHROMIUM);
  const options = {
    outDir: values.out,
    svd: intOption('svd', values.svd, 1),
    dendrogramRuns: intOption('runs', values.runs, 1),
    epoch: intOption('epoch', values.epoch, 0),
    seed: intOption('seed', values.seed, 0, 0xffffffff),
    umapEpochs: intOption('umap-epochs', values['umap-epochs'], 1, 100_000),
    verify: !values['no-verify'],
  };
  for (const zooDir of zooDirs) {
    const progress = new StepProgress(zooDir);
    const result = await plotZoo(zooDir, { ...options, onProgress: (step, done, total) => progress.update(step, done, total) });
    progress.finish();
    process.stdout.write(`${zooDir}: ${result.files.length} pages in ${result.dir}/ (open ${result.dir}/index.html)\n`);
    if (chromiumPath) {
      const browser = await launchChromium(chromiumPath);
      try {
        for (const file of result.files.filter((f) => !f.endsWith('index.html'))) {
          const png = file.replace(/\.html$/, '.png');
          const rendered = await renderPage(browser, file, { png });
          if (rendered.errors.length) throw new Error(`${file} did not render: ${rendered.errors[0]}`);
          process.stdout.write(`  ${png}\n`);
        }
      } finally {
        await browser.close();
      }
    }
  }
});
