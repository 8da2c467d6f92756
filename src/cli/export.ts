/** npm run export -- --zoo DIR --run R --epoch E --format safetensors|tfjs|arrow [--out PATH] */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadZoo } from '../store/loadZoo.ts';
import { exportModel } from '../store/formats/exportModel.ts';
import { MODEL_FORMATS } from '../store/formats/readModel.ts';
import { choiceOption, intOption, runCli, UserError } from './common.ts';

const HELP = `Usage: npm run export -- --zoo DIR --run R --epoch E --format FORMAT [--out PATH]

Writes one zoo checkpoint in a format other tools read (tensor names and layouts: README "Export"):
  safetensors  one file, float32 tensors named as PyTorch's state_dict (fc1.weight, ...)
  tfjs         a folder with model.json + weights.bin; loads with tf.loadLayersModel
  arrow        a one-row checkpoint file of this toolkit

Options:
  --zoo DIR      the zoo (required)
  --run R        run id (required)
  --epoch E      epoch, 0 = initial weights (required)
  --format F     safetensors, tfjs or arrow (required)
  --out PATH     file (or folder for tfjs); default exports/<zoo>-run<R>-epoch<E>.<ext> (tfjs: a folder)
  --no-verify    skip checking every checkpoint's SHA-256 while loading (see npm run verify)
  -h, --help     show this help
`;

await runCli(async () => {
  const { values } = parseArgs({
    options: {
      zoo: { type: 'string' },
      run: { type: 'string' },
      epoch: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      'no-verify': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const missing = (['zoo', 'run', 'epoch', 'format'] as const).filter((k) => values[k] === undefined);
  if (missing.length) throw new UserError(`missing ${missing.map((k) => `--${k}`).join(', ')}; see npm run export -- --help`);
  const format = choiceOption('format', values.format, MODEL_FORMATS)!;
  const run = intOption('run', values.run, 0)!;
  const epoch = intOption('epoch', values.epoch, 0)!;
  const zoo = loadZoo(values.zoo!, { verify: !values['no-verify'] });
  const ext = { safetensors: '.safetensors', arrow: '.arrow', tfjs: '-tfjs' }[format];
  const out = values.out ?? join('exports', `${zoo.manifest.name}-run${run}-epoch${epoch}${ext}`);
  await exportModel(zoo, run, epoch, format, out);
  process.stdout.write(`wrote ${out}${format === 'tfjs' ? '/model.json + weights.bin' : ''} (${zoo.manifest.config.arch}, run ${run}, epoch ${epoch})\n`);
});
