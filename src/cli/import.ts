/** `import`: checkpoints trained elsewhere (safetensors, e.g. PyTorch state_dicts) as a zoo every command can analyse. */
import { join } from 'node:path';
import { COMMON_LAYOUTS } from '../store/importSources.ts';
import { importZoo, listingParent, sourceNetwork } from '../store/importZoo.ts';
import { openCatalog } from '../store/catalog.ts';
import { parentLink } from '../store/refs.ts';
import type { Architecture } from '../core/architectures.ts';
import { inNetworkOrder, type Network } from '../core/network.ts';
import { loadMnist, MNIST_TEST_SIZE } from '../data/mnist.ts';
import { readNetworkFile } from '../store/formats/networkFile.ts';
import { mnistSide, scoreNetwork } from '../train/scoreNetwork.ts';
import { DEFAULT_DIRS } from '../store/paths.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { flag, int, text } from './options.ts';
import { ProgressBar } from './progress.ts';

export const importCommand = defineCommand({
  name: 'import',
  optionFlags: { dir: '--out' },
  usage: ['<source> --name NAME [options]'],
  description: `Imports checkpoints trained elsewhere as a zoo in <out>/<name>/: the same Arrow checkpoint
files with SHA-256 and parent chain as \`npm run zoo\` writes, and a manifest recording every
source file and its SHA-256. Every command (cluster, identify, plot, verify, export) then
works on it. Running it again continues an interrupted import, adds checkpoints the source
has gained, and refuses a source file that changed since it was imported.

<source>: a folder of .safetensors files (F32, F64, F16, BF16 tensors, stored as float32;
tensors of other dtypes, such as BatchNorm's num_batches_tracked, are skipped and listed), a
folder of TensorFlow.js model folders (model.json + weight files; each folder is matched by the
layout as a file would be), or a .csv/.json listing with columns path, run, epoch and optionally step. PyTorch .pt/.pth pickles
are refused (they can run code when loaded); save a state_dict with safetensors instead.
The run and epoch of each file come from --layout or from the first common layout that fits
every file:
${COMMON_LAYOUTS.map((l) => `  ${l}`).join('\n')}
A run's checkpoints become its epochs 0, 1, ... in the order of their epoch (or step) numbers;
every run needs the same number.`,
  positionals: true,
  options: {
    name: text({
      arg: 'NAME',
      help: 'the zoo name (required); the zoo is <out>/<name>',
      check: (opt, value) => {
        if (!/^[\w.-]+$/.test(value))
          throw new UserError(`--${opt} may use letters, digits, '.', '_' and '-' only, got '${value}'`);
      },
    }),
    out: text({ arg: 'DIR', help: 'folder that holds the zoos', default: DEFAULT_DIRS.zoos }),
    layout: text({
      arg: 'PATTERN',
      help: "paths of the checkpoints: {run}, {epoch} or {step}, * (e.g. '{run}/epoch_{epoch}.safetensors')",
      defaultText: 'auto-detected',
    }),
    arch: text({ arg: 'NAME', help: "the architecture's name", defaultText: 'the zoo name' }),
    strict: flag({ help: 'refuse tensors that are not floating point instead of skipping them' }),
    network: text({
      arg: 'FILE',
      help: 'the network the tensors define: an ONNX graph (torch.onnx.export) or a JSON description\n(docs/formats.md, "Networks"); given for an earlier import, it is added without rewriting checkpoints',
      defaultText:
        "a tfjs model folder's topology; none for safetensors (identify then permutes units, never rescales)",
    }),
    evaluate: flag({
      help: "run every checkpoint written with --network's network on MNIST test images, filling the\ntest loss (MSE to the one-hot label) and accuracy columns a listing leaves empty",
    }),
    'test-size': int({
      help: 'MNIST test images --evaluate runs (the first N)',
      min: 1,
      max: MNIST_TEST_SIZE,
      default: 1000,
    }),
    parent: text({
      arg: 'REF',
      help: 'the checkpoint the runs were fine-tuned from, recorded in the manifest (docs/vc.md)',
      defaultText: "a JSON listing's parent field",
    }),
    root: text({ arg: 'DIR', help: '--parent resolves against the zoos here', default: DEFAULT_DIRS.zoos }),
  },
  examples: [
    'npm run import -- runs/ --name my-mlp                       # runs/<run>/epoch_<e>.safetensors, auto-detected',
    "npm run import -- ckpts/ --name vit --layout 'seed{run}/ep{epoch}.safetensors'",
    'npm run import -- listing.csv --name sweep                  # path,run,epoch[,step]',
    'npm run import -- runs/ --name my-cnn --network network.onnx  # with the network the tensors define',
    'npm run import -- runs/ --name my-cnn --network network.onnx --evaluate  # + test accuracy per checkpoint',
  ],
  async run(o, positionals) {
    if (positionals.length !== 1)
      throw new UserError(
        `give one source folder or listing (got ${positionals.length}); see npm run import -- --help`,
      );
    if (!o.name) throw new UserError('missing --name; the zoo is written to <out>/<name>');
    const dir = join(o.out, o.name);
    // a tfjs model folder's topology is its network, unless one is given
    const found = o.network === undefined ? await sourceNetwork(positionals[0], o.layout) : null;
    if (found?.note) process.stdout.write(`note: ${found.note}\n`);
    const network = o.network === undefined ? (found?.network ?? undefined) : readNetworkFile(o.network);
    if (o.evaluate && !network)
      throw new UserError('--evaluate runs the checkpoints with their network: give --network FILE too');
    const evaluate = o.evaluate && network ? mnistScorer(network, o['test-size']) : undefined;
    const parentRef = o.parent ?? listingParent(positionals[0]);
    const parent = parentRef === undefined ? null : parentLink(openCatalog(o.root), parentRef);
    const bar = new ProgressBar(dir, 'files/s');
    const started = performance.now();
    const result = importZoo({
      source: positionals[0],
      dir,
      name: o.name,
      arch: o.arch,
      layout: o.layout,
      strict: o.strict,
      network,
      evaluate,
      ...(parent && { parent }),
      onProgress: (phase, done, total) => bar.update({ done, total, detail: phase }),
    });
    const origin = result.manifest.origin!;
    const seconds = (performance.now() - started) / 1000;
    const what =
      result.epochsWritten === 0
        ? 'already up to date; nothing to do'
        : `${origin.runs} runs x ${origin.epochs + 1} checkpoints, ${result.manifest.architecture.size} weights each, in ${seconds.toFixed(1)} s` +
          (result.resumedAfterEpoch !== null ? ` (continued after epoch ${result.resumedAfterEpoch})` : '');
    bar.finish(`${what}; layout ${result.layout}${result.manifest.network ? '; network known' : ''}`);
    if (o.evaluate && result.epochsWritten === 0)
      process.stdout.write(
        'note: --evaluate scored nothing: every checkpoint was imported before; import into a new --name to score them\n',
      );
    if (result.skippedTensors.length)
      process.stdout.write(`skipped (not floating point): ${result.skippedTensors.join(', ')}\n`);
  },
});

/** Scores a checkpoint (weights in the architecture's order) with the network on the first `testSize` MNIST test images. */
function mnistScorer(network: Network, testSize: number) {
  const { test } = loadMnist({ trainSize: 1, testSize, side: mnistSide(network) });
  return (w: Float32Array, arch: Architecture) => {
    const score = scoreNetwork(network, inNetworkOrder(network, arch, w), test);
    return { testLoss: score.mse, testAccuracy: score.accuracy };
  };
}
