/**
 * npm run bench [-- --only=zoo|load|cluster|identify|stream|catalog|provenance|serve] [-- --quick]: prints the toolkit's performance figures
 * as JSON on stdout (progress on stderr) and keeps a copy in results/bench.json. --quick skips
 * the minutes-long full-space linkage; --only=load runs only the zoo-loading part of `zoo`
 * (loadZoo with and without the hash check, verifyZoo). Figures are throughputs and times measured
 * on this machine in this run; ratios compare against baselines measured in the same run.
 */
import { cpus } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { runCli } from '../src/cli/common.ts';
import { choice, flag, optionsHelp, parseOptions } from '../src/cli/options.ts';
import { coreCount } from '../src/util/threads.ts';
import { benchCluster } from './cluster.ts';
import { benchIdentify } from './identify.ts';
import { benchZoo } from './zoo.ts';
import { benchStream } from './stream.ts';
import { benchCatalog } from './catalog.ts';
import { benchProvenance } from './provenance.ts';
import { benchServe } from './serve.ts';

const OPTIONS = {
  only: choice({
    arg: 'PART',
    help: "one part: zoo, load (the loading part of 'zoo'), cluster, identify, stream (a 2 GB zoo), catalog (10^6 checkpoints) or provenance (pairs and trees, results/provenance-eval.json), serve (the dashboard under load); the last four not in a full run",
    choices: ['zoo', 'load', 'cluster', 'identify', 'stream', 'catalog', 'provenance', 'serve'],
  }),
  quick: flag({ help: 'skip the minutes-long full-space linkage' }),
};
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
let only: string | undefined;
let quick = false;
await runCli(() => {
  const { values } = parseOptions(OPTIONS, process.argv.slice(2), false);
  if (values.help) {
    process.stdout.write(`Usage: npm run bench -- [options]\n\nOptions:\n${optionsHelp(OPTIONS)}\n`);
    process.exit(0);
  }
  [only, quick] = [values.only, values.quick];
});
if (process.exitCode) process.exit();
const started = new Date().toISOString();
const zoo =
  !only || only === 'zoo' || only === 'load' ? await benchZoo(log, { training: only !== 'load' }) : undefined;
const cluster = !only || only === 'cluster' ? benchCluster(log, { fullSpace: !quick }) : undefined;
const identify = !only || only === 'identify' ? benchIdentify(log) : undefined;
const stream = only === 'stream' ? await benchStream(log) : undefined;
const catalog = only === 'catalog' ? await benchCatalog(log) : undefined;
const provenance = only === 'provenance' ? await benchProvenance(log, { quick }) : undefined;
const serve = only === 'serve' ? await benchServe(log) : undefined;
const measured = {
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: coreCount(), node: process.version },
  started,
  ...(zoo && { zoo }),
  ...(cluster && { cluster }),
  ...(identify && { identify }),
  ...(stream && { stream }),
  ...(catalog && { catalog }),
  ...(provenance && { provenance: provenanceSummary(provenance) }),
  ...(serve && { serve }),
};
process.stdout.write(JSON.stringify(measured, null, 2) + '\n');

/** bench.json keeps provenance's headline figures; results/provenance-eval.json has the rest. */
function provenanceSummary(report: Awaited<ReturnType<typeof benchProvenance>>) {
  return { report: 'results/provenance-eval.json', speed: report.speed };
}
// results/bench.json keeps the latest figures of every section, also after a partial run
const path = 'results/bench.json';
const previous = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
mkdirSync('results', { recursive: true });
writeFileSync(
  path,
  JSON.stringify({ ...previous, ...measured, ...(zoo && { zoo: { ...previous.zoo, ...zoo } }) }, null, 2) +
    '\n',
);
