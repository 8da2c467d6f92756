/**
 * `import --network`: a PyTorch CNN with biases and a flatten over a 3x3 map (conv 1->8, ReLU,
 * maxpool, conv 8->16, ReLU, maxpool, fc 144->32, ReLU, fc 32->10), its checkpoints written
 * as safetensors from the specification, imported with the JSON description of its network.
 * With the network, identify aligns a permuted and ReLU-rescaled copy (the same function,
 * checked with the reference forward pass); without it, only permutations are known.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../src/core/rng.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { disguisedCopy } from '../src/identify/symmetry.ts';
import { identify } from '../src/identify/identify.ts';
import { symmetriesOf } from '../src/identify/symmetry.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { forward } from '../src/train/forward.ts';
import { runCliSync, tempDir, treeFingerprint } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';

const RUNS = 6;
const EPOCHS = 5;
const TENSORS: [string, number[]][] = [
  ['conv1.weight', [8, 1, 3, 3]],
  ['conv1.bias', [8]],
  ['conv2.weight', [16, 8, 3, 3]],
  ['conv2.bias', [16]],
  ['fc1.weight', [32, 144]],
  ['fc1.bias', [32]],
  ['fc2.weight', [10, 32]],
  ['fc2.bias', [10]],
];

/** The network as a user writes it for this nn.Sequential, PyTorch's defaults left out (docs/formats.md). */
const NETWORK = {
  input: [1, 14, 14],
  layers: [
    { kind: 'conv2d', name: 'conv1', in: 1, out: 8, kernel: 3, padding: 1 },
    { kind: 'activation', fn: 'relu' },
    { kind: 'maxpool', size: 2 },
    { kind: 'conv2d', name: 'conv2', in: 8, out: 16, kernel: 3, padding: 1 },
    { kind: 'activation', fn: 'relu' },
    { kind: 'maxpool', size: 2 },
    { kind: 'flatten' },
    { kind: 'dense', name: 'fc1', in: 144, out: 32 },
    { kind: 'activation', fn: 'relu' },
    { kind: 'dense', name: 'fc2', in: 32, out: 10 },
  ],
};

let root: string;
let withNetwork: Zoo;
let withoutNetwork: Zoo;

beforeAll(() => {
  root = tempDir('wsvc-network-');
  // each run a random walk from its own initialisation, one checkpoint per epoch
  const rng = new Rng(2503, 1);
  for (let run = 0; run < RUNS; run++) {
    let values = TENSORS.map(([, shape]) =>
      Array.from({ length: shape.reduce((a, b) => a * b) }, () => 0.3 * rng.nextNormal()),
    );
    for (let epoch = 0; epoch <= EPOCHS; epoch++) {
      if (epoch) values = values.map((v) => v.map((x) => x + 0.03 * rng.nextNormal()));
      const file = TENSORS.map(([name, shape], t) => ({ name, shape, dtype: 'F32', values: values[t] }));
      mkdirSync(join(root, 'runs', `run-${run}`), { recursive: true });
      writeFileSync(join(root, 'runs', `run-${run}`, `epoch-${epoch}.safetensors`), safetensorsBytes(file));
    }
  }
  writeFileSync(join(root, 'network.json'), JSON.stringify(NETWORK, null, 2));
  for (const args of [
    ['--name', 'cnn-torch', '--network', 'network.json'],
    ['--name', 'cnn-plain'],
  ]) {
    const r = runCliSync('import', ['runs', ...args], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
  }
  withNetwork = loadZoo(join(root, 'zoo', 'cnn-torch'));
  withoutNetwork = loadZoo(join(root, 'zoo', 'cnn-plain'));
}, 60_000);

describe('import --network', () => {
  it('stores the network with the defaults filled in', () => {
    expect(withNetwork.manifest.network!.layers[0]).toEqual({
      kind: 'conv2d',
      name: 'conv1',
      in: 1,
      out: 8,
      kernel: [3, 3],
      stride: 1,
      padding: 1,
      bias: true,
      layout: 'torch',
    });
    expect(withNetwork.manifest.network!.layers[6]).toEqual({ kind: 'flatten', order: 'channel-major' });
    expect(withoutNetwork.manifest.network).toBeUndefined();
    expect(runCliSync('verify', ['--zoo', join(root, 'zoo', 'cnn-torch')]).code).toBe(0);
  });

  it('lets identify find a permuted and ReLU-rescaled copy, the same function, at its run and epoch', () => {
    const network = withNetwork.manifest.network!;
    const sym = symmetriesOf(withNetwork.manifest.architecture, network);
    expect([sym.hidden.map((h) => [h.units, h.block]), sym.scale]).toEqual([
      [
        [8, 1],
        [16, 9],
        [32, 1],
      ],
      true,
    ]);
    const w = checkpointWeights(withNetwork, 2, 3);
    const copy = disguisedCopy(sym, w, new Rng(2504, 1), { permute: true, scale: true });
    const images = loadMnist({ trainSize: 1, testSize: 20 }).test.images;
    const [a, b] = [forward(network, w, images, 20), forward(network, copy, images, 20)];
    const scale = Math.max(...Array.from(a, Math.abs));
    expect(Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)).toBeLessThan(1e-5 * scale);
    expect(copy.reduce((m, v, i) => Math.max(m, Math.abs(v - w[i])), 0)).toBeGreaterThan(0.1);

    const found = identify(ZooIndex.build(withNetwork), copy);
    expect([found.verdict, found.run]).toEqual(['member', 2]);
    expect(Math.abs(found.epoch - 3)).toBeLessThan(0.05);
    expect(found.aligned).toMatch(/^permutation \(\d+ of 56 units moved\), scale$/);

    // without the network the activations are unknown: no rescaling, so the copy is not found as a member
    const plain = identify(ZooIndex.build(withoutNetwork), copy);
    expect(plain.verdict).not.toBe('member');
    expect(plain.alignmentNote).toBe(
      'no scale alignment: the activation is not known (describe the network)',
    );
  });

  it('adds the network to an earlier import without rewriting a checkpoint', () => {
    const dir = join(root, 'zoo', 'cnn-plain');
    const checkpoints = treeFingerprint(join(dir, 'checkpoints'));
    const r = runCliSync('import', ['runs', '--name', 'cnn-plain', '--network', 'network.json'], {
      cwd: root,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/already up to date; nothing to do; layout .*; network known/);
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).network).toEqual(
      withNetwork.manifest.network,
    );
    expect(treeFingerprint(join(dir, 'checkpoints'))).toEqual(checkpoints);
  });

  it.each([
    [
      'a layer that does not fit',
      { ...NETWORK, layers: NETWORK.layers.map((l) => (l.name === 'fc1' ? { ...l, in: 100 } : l)) },
      /^error: bad\.json: layer 7 \(dense fc1\): it reads 100 inputs, but it receives \[144\]\n$/,
    ],
    [
      'an unknown kind',
      { ...NETWORK, layers: [NETWORK.layers[0], { kind: 'swish' }] },
      /^error: bad\.json: layer 1 \(swish\): kind must be one of dense, conv2d, .*\n$/,
    ],
    [
      'a field of the wrong type',
      { ...NETWORK, layers: [{ ...NETWORK.layers[0], padding: 'same' }] },
      /^error: bad\.json: layer 0 \(conv2d conv1\): padding must be a whole number, got "same"\n$/,
    ],
    [
      'tensors of other names',
      { ...NETWORK, layers: NETWORK.layers.map((l) => (l.name === 'fc2' ? { ...l, name: 'head' } : l)) },
      /^error: the network given does not describe the imported tensors: the checkpoints lack its tensor\(s\) head\.weight, head\.bias; it has no layer for the checkpoints' fc2\.weight, fc2\.bias\n$/,
    ],
  ])('refuses %s with one line, writing nothing', (_, network, message) => {
    writeFileSync(join(root, 'bad.json'), JSON.stringify(network));
    const r = runCliSync('import', ['runs', '--name', 'bad', '--network', 'bad.json'], { cwd: root });
    expect(r.code).toBe(2);
    // (progress lines of the files checked may come first)
    expect(`${r.stderr.trim().split('\n').pop()}\n`).toMatch(message);
    expect(existsSync(join(root, 'zoo', 'bad'))).toBe(false);
  });
});
