/**
 * Every notebook in notebooks/ runs top to bottom through tslab's own executor
 * (test/notebookRunner.cjs) against a tiny zoo in a temporary folder, so none can rot.
 * Notebooks share their zoo, as in a Jupyter session: 01 trains it, 02 and 03 resume it
 * (a no-op when complete); each also runs alone.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium } from '../src/plot/browser.ts';
import { ROOT, tempDir } from './helpers.ts';

const NOTEBOOKS = readdirSync(join(ROOT, 'notebooks'))
  .filter((f) => f.endsWith('.ipynb'))
  .sort();
const work = tempDir('wsvc-notebooks-');

function runNotebook(file: string) {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'test/notebookRunner.cjs'), join(ROOT, 'notebooks', file)],
    {
      encoding: 'utf8',
      env: { ...process.env, WSVC_NOTEBOOK_TINY: '1', WSVC_NOTEBOOK_DIR: work },
    },
  );
  return { code: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('notebooks', () => {
  it('has the notebooks docs/plots.md lists, for the tslab kernel', () => {
    expect(NOTEBOOKS).toEqual([
      '01-zoo-and-clusters.ipynb',
      '02-identify.ipynb',
      '03-trajectories.ipynb',
      '04-record-your-models.ipynb',
    ]);
    for (const file of NOTEBOOKS) {
      const nb = JSON.parse(readFileSync(join(ROOT, 'notebooks', file), 'utf8'));
      expect(nb.metadata.kernelspec.name).toBe('tslab');
      // they call the library, not the CLI
      const code = nb.cells
        .filter((c: { cell_type: string }) => c.cell_type === 'code')
        .map((c: { source: string[] }) => c.source.join(''))
        .join('\n');
      expect(code).toContain("require('../src/index.ts')");
      expect(code).not.toMatch(/npm run|child_process|src\/cli/);
    }
  });

  for (const file of NOTEBOOKS) {
    it(`${file}: every code cell runs in order`, () => {
      const { code, output } = runNotebook(file);
      expect(code, output).toBe(0);
      expect(output).toMatch(/all \d+ code cells ran/);
      if (file.startsWith('02')) expect(output).toMatch(/verdict member: run 1, epoch 2\.00/);
      if (file.startsWith('04')) expect(output).toMatch(/held-out epoch 3: 4 of 4 runs named correctly/);
      if (file.startsWith('03') && findChromium())
        expect(output).toMatch(/\[display image\/png, \d+ characters\]/);
    }, 240_000);
  }

  it('the runner fails on a cell that throws, naming the cell', () => {
    const dir = tempDir('wsvc-badnb-');
    const nb = {
      cells: [
        { cell_type: 'code', source: ['const x: number = 1;'] },
        { cell_type: 'code', source: ["throw new Error('boom');"] },
      ],
      metadata: {},
    };
    const path = join(dir, 'bad.ipynb');
    writeFileSync(path, JSON.stringify(nb));
    const r = spawnSync(process.execPath, [join(ROOT, 'test/notebookRunner.cjs'), path], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('code cell 2 failed');
  });

  it('the runner fails on a type error, as the tslab kernel does', () => {
    const dir = tempDir('wsvc-badnb-');
    const path = join(dir, 'typo.ipynb');
    writeFileSync(
      path,
      JSON.stringify({ cells: [{ cell_type: 'code', source: ["const n: number = 'text';"] }], metadata: {} }),
    );
    const r = spawnSync(process.execPath, [join(ROOT, 'test/notebookRunner.cjs'), path], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('code cell 1 failed');
  });
});
