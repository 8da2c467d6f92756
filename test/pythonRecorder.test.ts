/**
 * The Python recorder (python/weightspace_recorder.py): a numpy state dict recorded per
 * epoch with metrics, tags and a parent, imported from its listing with every figure intact
 * (weights compared to what Python wrote, read back by numpy's own float32), and, where
 * PyTorch is installed, a torch module's state_dict.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointWeights } from '../src/core/zoo.ts';
import { zooLineage } from '../src/pipeline/lineage.ts';
import { openCatalog } from '../src/store/catalog.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { ROOT, runCliSync, tempDir, tinyConfig } from './helpers.ts';

// Debian's python3 (where python3-numpy and python3-torch install), ahead of any other on PATH
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const python = (script: string, cwd: string) =>
  spawnSync(PYTHON, ['-c', script], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: join(ROOT, 'python') },
  });
const has = (module: string) => python(`import ${module}`, ROOT).status === 0;

let root: string;

beforeAll(async () => {
  root = tempDir('wsvc-python-');
  await trainZoo({ dir: join(root, 'ffnn-x'), config: tinyConfig('ffnn', { seedCount: 2, epochs: 2 }) });
}, 120_000);

describe('the Python recorder', () => {
  it('records numpy state dicts that import keeps whole: weights, metrics, run tags, parent', () => {
    if (!has('numpy')) throw new Error('python3 with numpy is needed (apt-get install python3-numpy)');
    const script = `
import json, numpy as np
from weightspace_recorder import Recorder
out = {}
for run in range(2):
    rec = Recorder("runs", "py-mlp", run=run, tags={"lr": "0.0%d" % (run + 1)}, parent="ffnn-x:0@1")
    rng = np.random.default_rng(run)
    state = {"fc1.weight": rng.standard_normal((4, 6)).astype(np.float32), "fc1.bias": np.zeros(4, np.float64), "fc2.weight": rng.standard_normal((3, 4)).astype(np.float16)}
    for epoch in range(3):
        if epoch:
            state = {k: (v + 0.1 * epoch).astype(v.dtype) for k, v in state.items()}
        rec.save(state, epoch=epoch, step=10 * epoch, loss=1.0 / (epoch + 1), val_acc=0.25 * epoch, lr=0.5)
        out["%d/%d" % (run, epoch)] = np.concatenate([v.astype(np.float32).ravel() for v in state.values()]).tolist()
json.dump(out, open("expected.json", "w"))
`;
    const r = python(script, root);
    expect(r.status, r.stderr).toBe(0);
    const listing = JSON.parse(readFileSync(join(root, 'runs', 'py-mlp', 'listing.json'), 'utf8'));
    expect(listing).toHaveLength(6);
    expect(listing[0]).toMatchObject({
      path: '0/epoch-0000.safetensors',
      run: '0',
      epoch: 0,
      step: 0,
      loss: 1,
      tags: { lr: '0.01' },
      parent: 'ffnn-x:0@1',
    });
    const imported = runCliSync('import', [
      join(root, 'runs', 'py-mlp', 'listing.json'),
      '--name',
      'py-mlp',
      '--out',
      root,
      '--root',
      root,
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    const zoo = loadZoo(join(root, 'py-mlp'));
    expect([zoo.runs, zoo.epochs]).toEqual([2, 2]);
    const expected = JSON.parse(readFileSync(join(root, 'expected.json'), 'utf8')) as Record<
      string,
      number[]
    >;
    for (let run = 0; run < 2; run++)
      for (let epoch = 0; epoch <= 2; epoch++)
        expect(Array.from(checkpointWeights(zoo, run, epoch))).toEqual(
          expected[`${run}/${epoch}`].map(Math.fround),
        );
    expect(Array.from(zoo.trainLoss.slice(0, 2))).toEqual([1, 1]);
    expect(zoo.testAccuracy[zoo.n - 1]).toBe(0.5);
    expect(zoo.metrics.lr[0]).toBe(0.5);
    const origin = zoo.manifest.origin!;
    expect(origin.runInfo).toEqual({ 0: { tags: { lr: '0.01' } }, 1: { tags: { lr: '0.02' } } });
    const parentSha = loadZoo(join(root, 'ffnn-x')).sha256[2]; // run 0 at epoch 1 (2 runs a row)
    expect(origin.parent).toEqual({ zoo: 'ffnn-x', ref: 'ffnn-x:0@1', sha256: parentSha });
    const lineage = zooLineage(openCatalog(root), 'py-mlp:1');
    expect(lineage.edges).toEqual([
      { from: 'ffnn-x:0', at: 1, to: 'py-mlp:0', kind: 'recorded' },
      { from: 'ffnn-x:0', at: 1, to: 'py-mlp:1', kind: 'recorded' },
    ]);
    // the VC commands on the recorded zoo, against what Python wrote
    const cli = (command: string, args: string[]) => {
      const r = runCliSync(command, [...args, '--root', root, '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const log = cli('log', ['py-mlp', '--run', '1']);
    expect(log.map((e: { ref: string }) => e.ref)).toEqual(['py-mlp:1@2', 'py-mlp:1@1', 'py-mlp:1@0']);
    expect(log[0]).toMatchObject({
      runTags: { lr: '0.02' },
      metrics: { train_loss: 1 / 3, test_accuracy: 0.5 },
    });
    const fc1 = (run: number, epoch: number) => expected[`${run}/${epoch}`].slice(0, 24).map(Math.fround);
    const shown = cli('show', ['py-mlp:1@2']);
    expect(shown.profile[0]).toMatchObject({ name: 'fc1.weight', count: 24 });
    expect(shown.profile[0].mean).toBeCloseTo(fc1(1, 2).reduce((a, v) => a + v, 0) / 24, 6);
    const d = cli('diff', ['py-mlp:1@0', 'py-mlp:1@2', '--no-relation']);
    const change = fc1(1, 2).map((v, i) => v - fc1(1, 0)[i]);
    expect(d.tensors[0].name).toBe('fc1.weight');
    expect(d.tensors[0].l2).toBeCloseTo(Math.hypot(...change), 5);
    expect(d.outputs).toBeNull(); // no network recorded: nothing to run
    expect(cli('search', ['tags.lr = "0.02" and epoch >= 1']).map((e: { ref: string }) => e.ref)).toEqual([
      'py-mlp:1@1',
      'py-mlp:1@2',
    ]);
  });

  it("records a PyTorch module's state_dict, which import reads back exactly (where torch is installed)", () => {
    if (!has('torch')) return; // Debian's python3-torch is optional; the numpy case above always runs
    const script = `
import json, torch
from weightspace_recorder import Recorder
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
rec = Recorder("runs", "torch-mlp", run="seed0")
for epoch in range(2):
    if epoch:
        with torch.no_grad():
            for p in model.parameters(): p.mul_(0.5)
    rec.save(model, epoch=epoch, loss=0.1)
json.dump([float(v) for v in torch.cat([p.detach().flatten() for p in model.state_dict().values()])], open("torch.json", "w"))
`;
    const r = python(script, root);
    expect(r.status, r.stderr).toBe(0);
    const imported = runCliSync('import', [
      join(root, 'runs', 'torch-mlp', 'listing.json'),
      '--name',
      'torch-mlp',
      '--out',
      root,
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    const zoo = loadZoo(join(root, 'torch-mlp'));
    const want = JSON.parse(readFileSync(join(root, 'torch.json'), 'utf8')) as number[];
    expect(Array.from(checkpointWeights(zoo, 0, 1))).toEqual(want.map(Math.fround));
    writeFileSync(join(root, 'done'), '');
  });

  it('refuses a save that is not a model or a dict, and an epoch that is not a whole number', () => {
    const r = python(
      `
from weightspace_recorder import Recorder
rec = Recorder("runs", "bad", run=0)
for bad in (lambda: rec.save([1, 2], epoch=0), lambda: rec.save({"w": [1.0]}, epoch=-1)):
    try:
        bad()
    except (TypeError, ValueError) as e:
        print(type(e).__name__, e)
`,
      root,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^TypeError save\(\) takes a model with state_dict\(\) or a non-empty dict of tensors$/m,
    );
    expect(r.stdout).toMatch(/^ValueError epoch must be a non-negative integer, got -1$/m);
  });
});
