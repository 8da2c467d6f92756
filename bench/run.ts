/**
 * npm run bench: prints the toolkit's performance figures as JSON on stdout (progress on
 * stderr) and keeps a copy in results/bench.json. Figures are throughputs and times measured
 * on this machine in this run; ratios compare against baselines measured in the same run.
 */
import { availableParallelism, cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { benchZoo } from './zoo.ts';

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const started = new Date().toISOString();
const zoo = await benchZoo(log);
const report = {
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version },
  started,
  zoo,
};
const json = JSON.stringify(report, null, 2);
mkdirSync('results', { recursive: true });
writeFileSync('results/bench.json', json + '\n');
process.stdout.write(json + '\n');
