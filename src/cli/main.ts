/**
 * The command line: `weightspace <command> [options]` (package.json "bin"), or
 * `npm run <command> -- [options]`. Each command is a table of options and a run function
 * (command.ts); errors follow one rule (common.ts): bad input one line and exit code 2.
 */
import { EXIT } from '../core/errors.ts';
import { runCommand, type Command } from './command.ts';
import { nearestName } from './options.ts';
import { runCli, UserError } from './common.ts';

// any: each command has its own option table; runCommand needs only the shape
type Loaded = Promise<Command<any>>;

/** Every command, with the line the command list shows; a command's module loads only when it runs. */
export const COMMANDS: readonly { name: string; summary: string; load: () => Loaded }[] = [
  {
    name: 'zoo',
    summary: 'train seeded model zoos on MNIST 14x14, one checkpoint per epoch',
    load: async () => (await import('./zoo.ts')).zooCommand,
  },
  {
    name: 'cluster',
    summary: 'cluster every checkpoint; purity and epoch-order recovery (Tables 2-3)',
    load: async () => (await import('./cluster.ts')).clusterCommand,
  },
  {
    name: 'identify',
    summary: 'name the run and epoch a checkpoint comes from, with a verdict',
    load: async () => (await import('./identify.ts')).identifyCommand,
  },
  {
    name: 'eval',
    summary: "a checkpoint's test accuracy and loss on MNIST, run by its network",
    load: async () => (await import('./eval.ts')).evalCommand,
  },
  {
    name: 'plot',
    summary: 'trajectory plots, dendrograms, weight statistics as offline HTML (and PNG)',
    load: async () => (await import('./plot.ts')).plotCommand,
  },
  {
    name: 'verify',
    summary: "check a zoo's hashes, lineage and files (like git fsck)",
    load: async () => (await import('./verify.ts')).verifyCommand,
  },
  {
    name: 'log',
    summary: "a zoo's history like git log: hashes, parents, metrics, tags",
    load: async () => (await import('./history.ts')).logCommand,
  },
  {
    name: 'show',
    summary: 'one checkpoint: hash, parent and children, metrics, per-tensor profile',
    load: async () => (await import('./history.ts')).showCommand,
  },
  {
    name: 'diff',
    summary: 'how checkpoint B differs from A, per tensor, in function space, and how they relate',
    load: async () => (await import('./compare.ts')).diffCommand,
  },
  {
    name: 'provenance',
    summary: 'is model B derived from model A? a p-value from the weights alone (--among DIR)',
    load: async () => (await import('./provenance.ts')).provenanceCommand,
  },
  {
    name: 'fork',
    summary: 'train a new run from a checkpoint, its parent recorded',
    load: async () => (await import('./compare.ts')).forkCommand,
  },
  {
    name: 'lineage',
    summary: 'the family tree across zoos: recorded and inferred links (--dot, --json)',
    load: async () => (await import('./history.ts')).lineageCommand,
  },
  {
    name: 'search',
    summary: 'find checkpoints across zoos: metrics.test_accuracy > 0.9 and epoch >= 10',
    load: async () => (await import('./history.ts')).searchCommand,
  },
  {
    name: 'tag',
    summary: 'name a checkpoint (release, baseline), like git tag',
    load: async () => (await import('./history.ts')).tagCommand,
  },
  {
    name: 'import',
    summary: 'import checkpoints trained elsewhere (safetensors) as a zoo',
    load: async () => (await import('./import.ts')).importCommand,
  },
  {
    name: 'export',
    summary: 'write one checkpoint as safetensors, TensorFlow.js or Arrow',
    load: async () => (await import('./export.ts')).exportCommand,
  },
  {
    name: 'serve',
    summary: 'a local web app: zoos, runs, checkpoints, identify by upload, lineage, live',
    load: async () => (await import('./serve.ts')).serveCommand,
  },
];

const HELP = `Usage: weightspace <command> [options]     (or: npm run <command> -- [options])

Identifies neural-network versions from their weights alone: trains seeded model zoos,
clusters their checkpoints in weight space, and names the run a checkpoint comes from.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

\`weightspace <command> --help\` describes each command's options; \`weightspace --version\`
prints the toolkit's version.
`;

/** The toolkit's, the training engine's and Node's versions. */
async function versionLine(): Promise<string> {
  const { softwareVersions } = await import('../store/manifest.ts');
  const { ENGINE } = await import('../train/trainZoo.ts');
  const { toolkit, node, packages } = softwareVersions();
  return `weightspace ${toolkit} (engine ${ENGINE.name}, node ${node}, apache-arrow ${packages['apache-arrow']})`;
}

const [name, ...args] = process.argv.slice(2);
const command = COMMANDS.find((c) => c.name === name);
if (command) await runCommand(await command.load(), args);
else if (name === undefined || name === '--help' || name === '-h') process.stdout.write(HELP);
else if (name === '--version' || name === '-V' || name === 'version')
  process.stdout.write(`${await versionLine()}\n`);
else {
  const names = COMMANDS.map((c) => c.name);
  const near = nearestName(name, names);
  await runCli(() => {
    throw new UserError(
      `unknown command '${name}'${near ? ` (did you mean ${near}?)` : ''}; the commands are ${names.join(', ')} (weightspace --help)`,
    );
  });
  process.exitCode ??= EXIT.usage;
}
