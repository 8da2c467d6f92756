/** `cluster`: truncated SVD, exact single linkage, purity and epoch order (paper section 3.2, Tables 2-3). */
import { mkdirSync } from 'node:fs';
import { ORDER_BY } from '../cluster/clusterZoo.ts';
import type { OrderBy } from '../cluster/clusterZoo.ts';
import { writeClusterReport } from '../pipeline/report.ts';
import { clusterSweep, DEFAULT_SVD, planSweepZoo, type SpaceSummary } from '../pipeline/sweep.ts';
import { readManifest } from '../store/manifest.ts';
import { DEFAULT_DIRS, zooResultsDir } from '../store/paths.ts';
import { defaultWorkers } from '../util/threads.ts';
import { defineCommand } from './command.ts';
import { eachZoo, findZoos, refusedExitCode, UserError, userMessage } from './common.ts';
import { EXIT } from '../core/errors.ts';
import { choice, flag, int, parseInteger, text } from './options.ts';
import { ProgressBar } from './progress.ts';
import { memoryBound, memoryOption } from './memory.ts';

export const clusterCommand = defineCommand({
  name: 'cluster',
  description: `Clusters every checkpoint of a zoo by exact single linkage (Euclidean) in the full weight
space or after a truncated SVD, cuts the tree into as many clusters as the zoo has runs, and
reports cluster purity and epoch-order recovery (paper Tables 2 and 3).`,
  options: {
    zoo: text({
      arg: 'DIR',
      help: 'a zoo, or a folder of zoos',
      default: DEFAULT_DIRS.zoos,
      defaultText: 'zoo, i.e. every zoo under zoo/',
    }),
    svd: text({
      arg: 'LIST',
      help: 'SVD dimensions, comma-separated; 0 = the full weight space.\nA list of several also analyses the full space, one table row each.\nA value larger than a zoo allows refuses that zoo (the others are analysed).',
      defaultText: '50, lowered with a note for a zoo of fewer checkpoints or weights',
    }),
    full: flag({ help: 'add the full weight space' }),
    center: flag({ help: 'centre the weights before the SVD (PCA); default: plain truncated SVD' }),
    'order-by': choice({
      arg: 'KEY',
      help: "epoch order shown in the table: 'last' = decreasing distance to the run's\nlast checkpoint in the cluster; 'merge' = decreasing merge height\nat which each checkpoint joins the dendrogram. The JSON holds both.",
      choices: ORDER_BY,
      default: 'last',
    }),
    'power-iterations': int({
      help: 'randomized-SVD subspace iterations',
      min: 0,
      max: 20,
      defaultText: '1, or 0 when k + 10 > 128',
    }),
    seed: int({ help: 'seed of the randomized SVD', min: 0, max: 0xffffffff, defaultText: '0' }),
    'save-basis': flag({ help: 'store each fitted SVD basis in the zoo as svd-<k>.arrow (for identify)' }),
    out: text({ arg: 'DIR', help: 'where reports go (git ignores results/)', default: DEFAULT_DIRS.results }),
    workers: int({ help: 'worker threads', min: 1, max: 256, defaultText: String(defaultWorkers()) }),
    memory: memoryOption('SVD spaces only'),
    'no-verify': flag({
      help: "skip checking every checkpoint's SHA-256 while loading (see npm run verify)",
    }),
  },
  after: `Outputs: a table per zoo on stdout; <out>/cluster-<zoo>.json (every number and the options;
the spaces of earlier runs on the same zoo content are kept, a space analysed again is replaced);
<out>/<zoo>/linkage-<space>.npy (SciPy linkage matrix) and .json (with each leaf's run and epoch).

Exit code: ${EXIT.ok} when every zoo was analysed, ${EXIT.usage} when one was refused (named on stderr; the
others are still analysed and reported).`,
  examples: [
    'npm run cluster -- --svd 50',
    "npm run cluster -- --svd 500,100,50,25,10,5          # the paper's sweep, full space included",
    'npm run cluster -- --zoo zoo/cnn-default --full --order-by merge',
  ],
  async run(o) {
    const orderBy: OrderBy = o['order-by'];
    const zooDirs = findZoos(o.zoo);
    // the spaces asked for, checked once: each zoo's plan may then lower the default
    const asked = {
      spaces: parseSpaces(o.svd ?? String(DEFAULT_SVD), o.full),
      defaulted: o.svd === undefined,
      fullAsked: o.full || (o.svd ?? '').split(',').some((s) => s.trim() === '0'),
    };
    const memory = memoryBound(o.memory);
    // each zoo is planned on its own: a default that does not fit it is lowered with a note; a
    // value typed that does not fit refuses that zoo by name, and the others are still analysed
    const plans = await eachZoo(zooDirs, (dir) => {
      const plan = planSweepZoo(dir, { ...asked, memory, verify: !o['no-verify'] });
      for (const note of plan.notes) process.stderr.write(`note: ${dir}: ${userMessage(note)}\n`);
      return plan.zoo;
    });
    const planned = plans.done.map((d) => d.value);
    if (planned.length === 0) return refusedExitCode(plans.refused, zooDirs.length);
    const outDir = o.out;
    try {
      mkdirSync(outDir, { recursive: true });
    } catch (err) {
      throw new UserError(
        `cannot create output folder ${outDir} (${(err as NodeJS.ErrnoException).code}); choose another with --out`,
      );
    }
    const cluster = { center: o.center, powerIterations: o['power-iterations'], seed: o.seed };
    const bar = new ProgressBar('cluster', 'spaces/s');
    const started = performance.now();
    const results = await clusterSweep({
      zoos: planned,
      cluster,
      outDir,
      saveBasis: o['save-basis'],
      memory,
      workers: o.workers,
      onDone: (s, done, total) => bar.update({ done, total, detail: `${s.zoo} ${s.space} done` }),
    });
    const spaceCount = planned.reduce((sum, z) => sum + z.spaces.length, 0);
    bar.finish(
      `done: ${planned.length} zoo(s), ${spaceCount} space(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    planned.forEach(({ dir, spaces }, z) => {
      const rows = results[z];
      process.stdout.write(`\n${formatTable(dir, readManifest(dir).architecture.name, rows, orderBy)}\n`);
      const written = writeClusterReport(outDir, dir, rows, {
        spaces,
        orderBy,
        ...cluster,
        saveBasis: o['save-basis'],
      });
      const kept = written.kept.length ? ` (kept from earlier runs: ${written.kept.join(', ')})` : '';
      process.stdout.write(
        `report: ${written.path}${kept}; dendrograms: ${zooResultsDir(outDir, dir)}/linkage-<space>.{npy,json}\n`,
      );
      if (written.replacedStale)
        process.stderr.write(
          `note: ${written.path} described other content of ${dir}; its earlier rows were replaced\n`,
        );
    });
    return refusedExitCode(plans.refused, zooDirs.length);
  },
});

function parseSpaces(list: string, full: boolean): number[] {
  const spaces = list.split(',').map((s) => parseInteger('svd', s.trim(), 0));
  if ((spaces.length > 1 || full) && !spaces.includes(0)) spaces.unshift(0);
  return [...new Set(spaces)];
}

function formatTable(dir: string, arch: string, rows: SpaceSummary[], orderBy: OrderBy): string {
  const first = rows[0];
  const title = `${dir} (${arch}): ${first.runs} runs, ${first.checkpoints} checkpoints; epoch order by ${
    orderBy === 'last' ? "distance to the run's last checkpoint in the cluster" : 'merge height'
  }`;
  const header = [
    'space',
    'dim',
    'purity',
    'purity (global)',
    'ordered initial epochs',
    'ordered pairs',
    'seconds',
  ];
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
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [title, line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
