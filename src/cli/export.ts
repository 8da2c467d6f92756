/** `export`: one zoo checkpoint as safetensors, a TensorFlow.js model or a one-row Arrow file. */
import { exportModel } from '../store/formats/exportModel.ts';
import { MODEL_FORMATS } from '../store/formats/readModel.ts';
import { loadZoo } from '../store/loadZoo.ts';
import { exportPath } from '../store/paths.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { choice, flag, int, text } from './options.ts';

const EXTENSION = { safetensors: '.safetensors', arrow: '.arrow', tfjs: '-tfjs' } as const;

export const exportCommand = defineCommand({
  name: 'export',
  usage: ['--zoo DIR --run R --epoch E --format FORMAT [--out PATH]'],
  description: `Writes one zoo checkpoint in a format other tools read (tensor names and layouts: docs/formats.md):
  safetensors  one file, float32 tensors named as PyTorch's state_dict (fc1.weight, ...)
  tfjs         a folder with model.json + weights.bin; loads with tf.loadLayersModel
  arrow        a one-row checkpoint file of this toolkit`,
  options: {
    zoo: text({ arg: 'DIR', help: 'the zoo (required)' }),
    run: int({ arg: 'R', help: 'run id (required)', min: 0 }),
    epoch: int({ arg: 'E', help: 'epoch, 0 = initial weights (required)', min: 0 }),
    format: choice({ arg: 'F', help: 'safetensors, tfjs or arrow (required)', choices: MODEL_FORMATS }),
    out: text({
      arg: 'PATH',
      help: 'file (or folder for tfjs)',
      defaultText: 'exports/<zoo>-run<R>-epoch<E>.<ext> (tfjs: a folder)',
    }),
    'no-verify': flag({
      help: "skip checking every checkpoint's SHA-256 while loading (see npm run verify)",
    }),
  },
  examples: ['npm run export -- --zoo zoo/cnn-default --run 3 --epoch 7 --format safetensors'],
  async run(o) {
    const { zoo: zooDir, run, epoch, format } = o;
    if (zooDir === undefined || run === undefined || epoch === undefined || format === undefined) {
      const missing = (['zoo', 'run', 'epoch', 'format'] as const).filter((k) => o[k] === undefined);
      throw new UserError(`missing ${missing.map((k) => `--${k}`).join(', ')}; see npm run export -- --help`);
    }
    const zoo = loadZoo(zooDir, { verify: !o['no-verify'] });
    const out = o.out ?? exportPath(zoo.manifest.name, run, epoch, EXTENSION[format]);
    await exportModel(zoo, run, epoch, format, out);
    process.stdout.write(
      `wrote ${out}${format === 'tfjs' ? '/model.json + weights.bin' : ''} (${zoo.manifest.architecture.name}, run ${run}, epoch ${epoch})\n`,
    );
  },
});
