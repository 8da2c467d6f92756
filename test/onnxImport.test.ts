/**
 * A zoo trained in PyTorch (test/fixtures/torch-bn-zoo, made by scripts/torch_zoo.py: a CNN
 * with biases and batch norm, 5 runs x 4 checkpoints as safetensors sorted by name, the
 * network exported once with torch.onnx.export) imported with `--network network.onnx
 * --evaluate`. Checked against PyTorch's own numbers in the fixture's pytorch.json: each
 * checkpoint's test accuracy and the last epoch's outputs for 5 inputs. Refusals are checked
 * on graphs built from the ONNX schema (onnx-proto's encoder), not by our reader.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { beforeAll, describe, expect, it } from 'vitest';
import { inNetworkOrder } from '../src/core/network.ts';
import { Rng } from '../src/core/rng.ts';
import { checkpointWeights } from '../src/core/zoo.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { disguisedCopy } from '../src/identify/symmetry.ts';
import { evaluateIdentify } from '../src/identify/evaluate.ts';
import { identify } from '../src/identify/identify.ts';
import { symmetriesOf } from '../src/identify/symmetry.ts';
import { ZooIndex } from '../src/identify/zooIndex.ts';
import { onnxNetwork } from '../src/store/formats/onnxNetwork.ts';
import { loadZoo, type Zoo } from '../src/store/loadZoo.ts';
import { forward } from '../src/train/forward.ts';
import { runCliSync, tempDir } from './helpers.ts';

const { onnx } = onnxProto;
const FIXTURE = join(import.meta.dirname, 'fixtures', 'torch-bn-zoo');
const pytorch = JSON.parse(readFileSync(join(FIXTURE, 'pytorch.json'), 'utf8')) as {
  test_size: number;
  probe: number[];
  runs: { run: number; accuracy: number[]; probe_output: number[] }[];
};

let root: string;
let zoo: Zoo;

beforeAll(() => {
  root = tempDir('wsvc-onnx-');
  const r = runCliSync(
    'import',
    [FIXTURE, '--name', 'torch-bn', '--network', join(FIXTURE, 'network.onnx'), '--evaluate'],
    { cwd: root },
  );
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr + r.stdout).toContain('network known');
  expect(r.stdout).toContain('skipped (not floating point): bn1.num_batches_tracked (I64)');
  zoo = loadZoo(join(root, 'zoo', 'torch-bn'));
}, 60_000);

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('import --network network.onnx', () => {
  it("reads the layers of PyTorch's export, defaults and names as the state_dict has them", () => {
    const torch = { bias: true, layout: 'torch' };
    expect(zoo.manifest.network).toEqual({
      format: 1,
      input: [1, 14, 14],
      layers: [
        { kind: 'conv2d', name: 'conv1', in: 1, out: 4, kernel: [3, 3], stride: 1, padding: 1, ...torch },
        { kind: 'batchnorm', name: 'bn1', channels: 4, eps: 1e-5, layout: 'torch' },
        { kind: 'activation', fn: 'relu' },
        { kind: 'maxpool', size: 2, stride: 2 },
        { kind: 'conv2d', name: 'conv2', in: 4, out: 8, kernel: [3, 3], stride: 1, padding: 0, ...torch },
        { kind: 'activation', fn: 'relu' },
        { kind: 'maxpool', size: 2, stride: 2 },
        { kind: 'flatten', order: 'channel-major' },
        { kind: 'dense', name: 'fc1', in: 32, out: 16, ...torch },
        { kind: 'activation', fn: 'relu' },
        { kind: 'dense', name: 'fc2', in: 16, out: 10, ...torch },
      ],
    });
    // the files list tensors by name (bn1.bias before conv1.weight): the network matches by name
    expect(zoo.manifest.architecture.params[0].name).toBe('bn1.bias');
  });

  it("computes PyTorch's outputs and test accuracy for every checkpoint", () => {
    const network = zoo.manifest.network!;
    const arch = zoo.manifest.architecture;
    for (const { run, accuracy, probe_output } of pytorch.runs) {
      const w = inNetworkOrder(network, arch, checkpointWeights(zoo, run, zoo.epochs));
      const ours = forward(network, w, pytorch.probe, 5);
      expect(maxAbs(ours, probe_output)).toBeLessThan(1e-4);
      for (let e = 0; e <= zoo.epochs; e++) {
        // --evaluate scored the first 1000 test images, as the script did in PyTorch
        const row = zoo.run.findIndex((r, i) => r === run && zoo.epoch[i] === e);
        expect(Math.abs(zoo.testAccuracy[row] - accuracy[e]), `run ${run} epoch ${e}`).toBeLessThanOrEqual(
          1 / pytorch.test_size,
        );
      }
    }
    expect(pytorch.test_size).toBe(1000);
    const r = runCliSync('eval', [
      '--zoo',
      join(root, 'zoo', 'torch-bn'),
      '--run',
      '2',
      '--epoch',
      '3',
      '--test-size',
      '1000',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(Math.abs(JSON.parse(r.stdout).accuracy - pytorch.runs[2].accuracy[3])).toBeLessThanOrEqual(0.001);
  });

  it('finds a permuted and rescaled copy (through batch norm), the same function, at its run and epoch', () => {
    const network = zoo.manifest.network!;
    const arch = zoo.manifest.architecture;
    const sym = symmetriesOf(arch, network);
    expect([sym.hidden.map((h) => h.units), sym.scale]).toEqual([[4, 8, 16], true]);
    const w = checkpointWeights(zoo, 2, 3);
    const copy = disguisedCopy(sym, w, new Rng(77, 1), { permute: true, scale: true });
    const images = loadMnist({ trainSize: 1, testSize: 20 }).test.images;
    const [a, b] = [w, copy].map((x) => forward(network, inNetworkOrder(network, arch, x), images, 20));
    expect(maxAbs(a, b)).toBeLessThan(1e-4);
    expect(maxAbs(w, copy)).toBeGreaterThan(0.05); // not the checkpoint itself
    const index = ZooIndex.build(zoo);
    try {
      const found = identify(index, copy);
      expect([found.verdict, found.run]).toEqual(['member', 2]);
      expect(Math.abs(found.epoch - 3)).toBeLessThan(0.2);
    } finally {
      index.close();
    }
  });
});

describe('identify --evaluate on the imported zoo', () => {
  it('skips training, disguises with both symmetries, and checks every copy computes the same outputs', async () => {
    const probe = { images: loadMnist({ trainSize: 1, testSize: 16 }).test.images, count: 16 };
    const result = await evaluateIdentify(zoo, () => {}, { probe });
    expect(result.plan.notTrained).toMatch(
      /^descendants and forks are not trained: the engine trains the built-in networks, tfjs the zoos recorded from tfjs, and \S+ was imported$/,
    );
    const sets = result.rows.map((r) => r.set);
    expect(sets.some((s) => s.startsWith('fork') || s.startsWith('descendants'))).toBe(false);
    expect(sets).toEqual(
      expect.arrayContaining([
        'unknown seeds (1 not indexed), permuted + rescaled',
        'permuted + rescaled',
        'permuted + rescaled + 1 % noise',
        'permuted + rescaled, pruned 10 %',
        'permuted + rescaled, float16',
      ]),
    );
    const row = (name: string) => result.rows.find((r) => r.set === name)!;
    for (const name of [
      'permuted',
      'rescaled (c in [0.5, 2])',
      'permuted + rescaled',
      'unknown seeds (1 not indexed), permuted + rescaled',
    ]) {
      const { maxAbsDifference, maxAbsOutput, images } = row(name).outputs!;
      expect(images).toBe(16);
      expect(maxAbsDifference, name).toBeLessThan(1e-5 * maxAbsOutput); // the same function
    }
    // pruning changes the function: the check can tell
    expect(row('pruned 30 %').outputs!.maxAbsDifference).toBeGreaterThan(
      1e-3 * row('pruned 30 %').outputs!.maxAbsOutput,
    );
    expect(row('permuted + rescaled').identify.verdictRate).toBe(1);
  }, 120_000);
});

/** An ONNX model from the schema: a chain of nodes over one input, with float initializers. */
function model(
  nodes: { op: string; inputs: string[]; output: string; attrs?: Record<string, number | number[]> }[],
  initializers: Record<string, number[]>,
  input = [1, 196],
): Uint8Array {
  const attribute = (name: string, v: number | number[]) =>
    Array.isArray(v)
      ? { name, ints: v, type: onnx.AttributeProto.AttributeType.INTS }
      : Number.isInteger(v)
        ? { name, i: v, type: onnx.AttributeProto.AttributeType.INT }
        : { name, f: v, type: onnx.AttributeProto.AttributeType.FLOAT };
  const tensorType = (dims: number[]) => ({
    tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ version: 14 }],
    graph: {
      node: nodes.map((n, i) => ({
        name: `n${i}`,
        opType: n.op,
        input: n.inputs,
        output: [n.output],
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: Object.entries(initializers).map(([name, dims]) => ({
        name,
        dims,
        dataType: 1,
        rawData: new Uint8Array(4 * dims.reduce((a, b) => a * b, 1)),
      })),
      input: [{ name: 'x', type: tensorType(input) }],
      output: [{ name: nodes.at(-1)!.output, type: tensorType([1, 10]) }],
    },
  }).finish();
}

describe('ONNX graphs', () => {
  const dense = (x: string, layer: string, out: string) => ({
    op: 'Gemm',
    inputs: [x, `${layer}.weight`, `${layer}.bias`],
    output: out,
    attrs: { transB: 1 },
  });
  const mlp = { 'fc1.weight': [32, 196], 'fc1.bias': [32], 'fc2.weight': [10, 32], 'fc2.bias': [10] };

  it('reads an MLP with Gemm, LeakyRelu and Softmax', () => {
    const net = onnxNetwork(
      model(
        [
          dense('x', 'fc1', 'h'),
          { op: 'LeakyRelu', inputs: ['h'], output: 'a', attrs: { alpha: 0.2 } },
          dense('a', 'fc2', 'y'),
          { op: 'Softmax', inputs: ['y'], output: 'p' },
        ],
        mlp,
      ),
    );
    expect(net.layers.map((l) => l.kind + ('fn' in l ? ` ${l.fn}` : ''))).toEqual([
      'dense',
      'activation leaky-relu',
      'dense',
      'activation softmax',
    ]);
    expect(net.layers[1]).toEqual({ kind: 'activation', fn: 'leaky-relu', slope: 0.2 });
  });

  it('refuses what it cannot describe, one line naming the node and the fix', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      [
        'an op outside the list',
        model(
          [dense('x', 'fc1', 'h'), { op: 'Elu', inputs: ['h'], output: 'a' }, dense('a', 'fc2', 'y')],
          mlp,
        ),
        /^node n1 \(Elu\): the op is not one a network describes \(Gemm, MatMul/,
      ],
      [
        'a branch (a residual Add)',
        model(
          [
            dense('x', 'fc1', 'h'),
            { op: 'Relu', inputs: ['h'], output: 'a' },
            { op: 'Add', inputs: ['a', 'h'], output: 'y' },
          ],
          mlp,
        ),
        /^node n2 \(Add\): it reads a, h, not only the output of the node before; the graph must be a chain/,
      ],
      [
        'folded batch norm',
        model(
          [{ op: 'Gemm', inputs: ['x', 'onnx::Gemm_26', 'fc2.bias'], output: 'y', attrs: { transB: 1 } }],
          {
            'onnx::Gemm_26': [10, 196],
            'fc2.bias': [10],
          },
        ),
        /its weight is named 'onnx::Gemm_26', not '<layer>\.weight' .*training=torch\.onnx\.TrainingMode\.PRESERVE, do_constant_folding=False/,
      ],
      [
        'a dynamic input size',
        model([dense('x', 'fc1', 'h')], mlp, [1, 0]),
        /^the graph's input is \[1, 0\]; a network reads \[batch, n\]/,
      ],
      ['bytes that are no protobuf', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), /^not an ONNX model \(/],
    ];
    for (const [what, bytes, message] of cases) expect(() => onnxNetwork(bytes), what).toThrow(message);
  });

  it('an import given a network that does not fit its tensors writes nothing', () => {
    const dir = tempDir('wsvc-onnx-bad-');
    writeFileSync(join(dir, 'mlp.onnx'), model([dense('x', 'fc1', 'h'), dense('h', 'fc2', 'y')], mlp));
    const r = runCliSync('import', [FIXTURE, '--name', 'bad', '--network', 'mlp.onnx', '--evaluate'], {
      cwd: dir,
    });
    expect(r.code).toBe(2);
    const errors = r.stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errors).toEqual([
      "error: the network given does not describe the imported tensors: it has no layer for the checkpoints' bn1.bias, bn1.running_mean, bn1.running_var, bn1.weight and 4 more",
    ]);
    expect(existsSync(join(dir, 'zoo'))).toBe(false);
    const noNetwork = runCliSync('import', [FIXTURE, '--name', 'bad', '--evaluate'], { cwd: dir });
    expect([noNetwork.code, noNetwork.stderr.trim()]).toEqual([
      2,
      'error: --evaluate runs the checkpoints with their network: give --network FILE too',
    ]);
    expect(existsSync(join(dir, 'zoo'))).toBe(false);
  });
});
