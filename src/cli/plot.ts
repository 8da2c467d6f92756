/** `plot`: the paper's figures for every zoo under --zoo as offline, interactive HTML (plot/plotZoo.ts), and PNG through headless Chromium. */
import { PAPER_SPACES } from '../pipeline/report.ts';
import { findChromium, launchChromium, NO_CHROMIUM, renderPage } from '../plot/browser.ts';
import { plotZoo, PLOT_DEFAULTS } from '../plot/plotZoo.ts';
import { DEFAULT_DIRS } from '../store/paths.ts';
import { defineCommand } from './command.ts';
import { eachZoo, findZoos, refusedExitCode, UserError, userMessage } from './common.ts';
import { flag, int, parseInteger, text } from './options.ts';
import { memoryBound, memoryOption } from './memory.ts';
import { StepProgress } from './progress.ts';

/** `3,7,12` as run numbers. */
function runList(text: string): number[] {
  return text.split(',').map((s) => parseInteger('highlight', s.trim(), 0));
}

export const plotCommand = defineCommand({
  name: 'plot',
  description: `Draws every zoo's figures as interactive HTML pages that work offline (plotly.js is inside
each file), in <out>/<zoo>/ with an index.html:
  trajectories-umap-full.html, trajectories-umap-svd-<k>.html   UMAP trajectories (paper Figs. 4-5)
  trajectories-svd.html     first SVD components, 2D and 3D
  dendrogram.html           single-linkage tree of the chosen runs, and one cluster in detail (Fig. 6)
  weight-stats.html         weight mean vs standard deviation per model (Fig. 3)
  sweep.html                purity and epoch order against SVD dimension (Tables 2-3)
  training-curves.html      loss and accuracy per epoch across the zoo
The dendrogram and the sweep use the cluster command's exports in <out> when they were made
from this zoo's current checkpoints; when they are missing or stale, the paper's sweep (${PAPER_SPACES.map((k) => k || 'full').join(', ')}) runs first.`,
  options: {
    zoo: text({
      arg: 'DIR',
      help: 'a zoo, or a folder of zoos',
      default: DEFAULT_DIRS.zoos,
      defaultText: 'zoo, i.e. every zoo under zoo/',
    }),
    out: text({ arg: 'DIR', help: 'cluster exports and plots', default: PLOT_DEFAULTS.outDir }),
    svd: int({
      arg: 'K',
      help: 'SVD dimension of the second UMAP and of the dendrogram;\na value larger than a zoo allows refuses that zoo (the others are plotted)',
      min: 1,
      defaultText: `${PLOT_DEFAULTS.svd}, lowered with a note for a zoo of fewer checkpoints or weights`,
    }),
    runs: int({
      help: 'runs chosen when --highlight does not say: spread over the dendrogram,\nin colour on the trajectory plots and alone in the dendrogram',
      min: 1,
      default: PLOT_DEFAULTS.dendrogramRuns,
    }),
    highlight: text({
      arg: 'R,R,...',
      help: "runs drawn in colour on the trajectory plots, the others in grey, and in the dendrogram\n('all': every run in colour)",
      defaultText: '--runs of them spread over the dendrogram; every run for a zoo of no more',
    }),
    epoch: int({ arg: 'E', help: 'epoch of the weight statistics', min: 0, defaultText: 'the last' }),
    seed: int({ help: 'UMAP seed', min: 0, max: 0xffffffff, default: PLOT_DEFAULTS.seed }),
    'umap-epochs': int({
      help: 'UMAP optimisation epochs',
      min: 1,
      max: 100_000,
      defaultText: 'by size, as umap-learn: 500 up to 2,500 points, down to 200 above 7,500',
    }),
    png: flag({ help: 'also write a PNG of every page (headless Chromium)' }),
    chromium: text({
      arg: 'PATH',
      help: 'the Chromium for --png',
      defaultText: '$CHROMIUM_PATH or /usr/bin/chromium',
    }),
    'no-verify': flag({
      help: "skip checking every checkpoint's SHA-256 while loading (see npm run verify)",
    }),
    memory: memoryOption('SVD spaces only, no UMAP of the full space'),
  },
  examples: [
    'npm run plot',
    'npm run plot -- --zoo zoo/cnn-default --png',
    'npm run plot -- --zoo zoo/ffnn-paper --highlight 3,7,12',
  ],
  async run(o) {
    const zooDirs = findZoos(o.zoo);
    // find the browser before minutes of UMAP, not after
    const chromiumPath = o.png ? findChromium(o.chromium) : null;
    if (o.png && !chromiumPath)
      throw new UserError(
        o.chromium
          ? `--chromium ${o.chromium} does not exist; give the path of a Chromium binary`
          : NO_CHROMIUM,
      );
    const options = {
      outDir: o.out,
      svd: o.svd,
      dendrogramRuns: o.runs,
      highlight: o.highlight === undefined ? undefined : o.highlight === 'all' ? [] : runList(o.highlight),
      epoch: o.epoch,
      seed: o.seed,
      umapEpochs: o['umap-epochs'],
      verify: !o['no-verify'],
      memory: memoryBound(o.memory),
    };
    const plotted = await eachZoo(zooDirs, async (zooDir) => {
      const progress = new StepProgress(zooDir);
      const result = await plotZoo(zooDir, {
        ...options,
        onProgress: (step, done, total) => progress.update(step, done, total),
      });
      progress.finish();
      for (const note of result.notes) process.stderr.write(`note: ${zooDir}: ${userMessage(note)}\n`);
      process.stdout.write(
        `${zooDir}: ${result.files.length} pages in ${result.dir}/ (open ${result.dir}/index.html)\n`,
      );
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
    });
    return refusedExitCode(plotted.refused, zooDirs.length);
  },
});
