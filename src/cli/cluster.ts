/**
 * npm run cluster -- [options]: truncated SVD, exact single linkage, purity and epoch order
 * (paper section 3.2, Tables 2-3) for every zoo under --zoo.
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { clusterSweep, type SpaceSummary } from '../cluster/sweep.ts';
import { writeClusterReport } from '../cluster/report.ts';
import { ORDER_BY, type OrderBy } from '../cluster/clusterZoo.ts';
import { loadZoo } from '../store/loadZoo.ts';
import { readManifest } from '../store/manifest.ts';
import { choiceOption, findZoos, intOption, runCli, UserError } from './common.ts';
import { ProgressBar } from './progress.ts';

const HELP = `Usage: npm run cluster -- [options]

Clusters every checkpoint of a zoo by exact single linkage (Euclidean) in the full weight
space or after a truncated SVD, cuts the tree into as many clusters as the zoo has runs, and
reports cluster purity and epoch-order recovery (paper Tables 2 and 3).

Options:
  --zoo DIR            a zoo, or a folder of zoos (default: zoo, i.e. every zoo under zoo/)
  --svd LIST           SVD dimensions, comma-separated (default: 50); 0 = the full weight space.
                       A list of several also analyses the full space, one table row each.
  --full               add the full weight space
  --center             centre the weights before the SVD (PCA); default: plain truncated SVD
  --order-by KEY       epoch order shown in the table: 'last' = decreasing distance to the run's
                       last checkpoint in the cluster (default); 'merge' = decreasing merge height
                       at which each checkpoint joins the dendrogram. The JSON holds both.
  --power-iterations N randomized-SVD subspace iterations (default: 1, or 0 when k + 10 > 128)
  --seed N             seed of the randomized SVD (default: 0)
  --save-basis         store each fitted SVD basis in the zoo as svd-<k>.arrow (for identify)
  --out DIR            where reports go (default: results)
  --workers N          worker threads (default: ${availableParallelism()})
  --no-verify          skip checking every checkpoint's SHA-256 while loading (see npm run verify)
  -h, --help           show this help

Outputs: a table per zoo on stdout; <out>/cluster-<zoo>.json (every number and the options);
<out>/<zoo>/linkage-<space>.npy (SciPy linkage matrix) and .json (with each leaf's run and epoch).

Examples:
  npm run cluster -- --svd 50
  npm run cluster -- --svd 500,100,50,25,10,5          # the paper's sweep, full space included
  npm run cluster -- --zoo zoo/cnn-default --full --order-by merge
`;

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      zoo: { type: 'string' },
      svd: { type: 'string' },
      full: { type: 'boolean' },
      center: { type: 'boolean' },
      'order-by': { type: 'string' },
      'power-iterations': { type: 'string' },
      seed: { type: 'string' },
      'save-basis': { type: 'boolean' },
      out: { type: 'string' },
      workers: { type: 'string' },
      'no-verify': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const orderBy: OrderBy = choiceOption('order-by', values['order-by'], ORDER_BY) ?? 'last';
  const spaces = parseSpaces(values.svd ?? '50', values.full ?? false);
  const zooDirs = findZoos(values.zoo ?? 'zoo');
  // check every zoo before any work: clear errors for empty zoos, one run, mixed architectures, k too large
  for (const dir of zooDirs) {
    const zoo = loadZoo(dir, { verify: !values['no-verify'] });
    if (zoo.runs < 2) throw new UserError(`${dir} has ${zoo.runs} run; clustering needs at least 2 runs`);
    const tooBig = spaces.filter((k) => k > Math.min(zoo.n, zoo.dim));
    if (tooBig.length) throw new UserError(`--svd ${tooBig.join(',')} is too large for ${dir}: ${zoo.n} checkpoints x ${zoo.dim} weights (k must be <= ${Math.min(zoo.n, zoo.dim)})`);
  }
  const outDir = values.out ?? 'results';
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create output folder ${outDir} (${(err as NodeJS.ErrnoException).code}); choose another with --out`);
  }
  const cluster = {
    center: values.center ?? false,
    powerIterations: intOption('power-iterations', values['power-iterations'], 0, 20),
    seed: intOption('seed', values.seed, 0, 0xffffffff),
  };
  const bar = new ProgressBar('cluster', 'spaces/s');
  const started = performance.now();
  const results = await clusterSweep({
    zooDirs,
    spaces,
    cluster,
    outDir,
    saveBasis: values['save-basis'] ?? false,
    verify: false, // checked above
    workers: intOption('workers', values.workers, 1, 256),
    onDone: (s, done, total) => bar.update({ done, total, detail: `${s.zoo} ${s.space} done` }),
  });
  bar.finish(`done: ${zooDirs.length} zoo(s) x ${spaces.length} space(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  zooDirs.forEach((dir, z) => {
    const rows = results[z];
    process.stdout.write(`\n${formatTable(dir, readManifest(dir).config.arch, rows, orderBy)}\n`);
    const path = writeClusterReport(outDir, dir, rows, { spaces, orderBy, ...cluster, saveBasis: values['save-basis'] ?? false });
    process.stdout.write(`report: ${path}; dendrograms: ${join(outDir, basename(dir))}/linkage-<space>.{npy,json}\n`);
  });
});

function parseSpaces(list: string, full: boolean): number[] {
  const spaces = list.split(',').map((s) => {
    const k = intOption('svd', s.trim(), 0);
    return k!;
  });
  if ((spaces.length > 1 || full) && !spaces.includes(0)) spaces.unshift(0);
  return [...new Set(spaces)];
}

function formatTable(dir: string, arch: string, rows: SpaceSummary[], orderBy: OrderBy): string {
  const first = rows[0];
  const title = `${dir} (${arch}): ${first.runs} runs, ${first.checkpoints} checkpoints; epoch order by ${
    orderBy === 'last' ? "distance to the run's last checkpoint in the cluster" : 'merge height'
  }`;
  const header = ['space', 'dim', 'purity', 'purity (global)', 'ordered initial epochs', 'ordered pairs', 'seconds'];
  const body = rows.map((r) => [
    r.space,
    String(r.dim),
    r.purityMean.toFixed(3),
    r.purityGlobal.toFixed(3),
    r.order[orderBy].orderedInitialEpochs.toFixed(3),
    r.order[orderBy].orderedPairs.toFixed(3),
    r.seconds.total.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [title, line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
