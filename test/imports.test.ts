/**
 * The code map as a rule: src/ is rooms in layers, and a module imports only from its own
 * room or a lower layer (README, "Code map"); and no module imports itself through others.
 * Imports are read from the source text: static and dynamic imports, re-exports, and the
 * `new URL('./x.ts', import.meta.url)` by which worker threads are started.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(new URL('../src', import.meta.url).pathname);

/** Layer of each room, lowest first; rooms in one layer may not import each other. */
const LAYERS: string[][] = [
  ['core'],
  ['data', 'simd', 'util'],
  ['store'],
  ['train'],
  ['reduce'],
  ['cluster', 'identify'],
  ['pipeline'],
  ['plot'],
  ['server'],
  ['cli', 'api'],
  ['index.ts'],
];
const layerOf = new Map(LAYERS.flatMap((rooms, layer) => rooms.map((room) => [room, layer] as const)));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs)$/.test(name) ? [path] : [];
  });
}

/** Files `file` imports inside src/. */
function importsOf(file: string): string[] {
  // comments may show imports in examples; they do not count
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const specs = [...text.matchAll(/(?:from\s+|import\(\s*|new URL\(\s*)'(\.{1,2}\/[^']+)'/g)].map(
    (m) => m[1],
  );
  return specs.map((spec) => resolve(dirname(file), spec)).filter((path) => path.startsWith(SRC));
}

const roomOf = (file: string) => file.split('/')[0];
/** Import graph of src/, keyed by path relative to src/. */
const graph = new Map(
  sourceFiles(SRC).map((f) => [relative(SRC, f), importsOf(f).map((t) => relative(SRC, t))]),
);

function upwardImports(g: Map<string, string[]>): string[] {
  return [...g].flatMap(([f, targets]) =>
    targets
      .filter((t) => roomOf(f) !== roomOf(t) && layerOf.get(roomOf(t))! >= layerOf.get(roomOf(f))!)
      .map((t) => `${f} -> ${t}`),
  );
}

function findCycles(g: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const t of g.get(f) ?? []) visit(t, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of g.keys()) visit(f, []);
  return cycles;
}

/** Modules a file imports for their code, not only their types: `import type` and `{ type A }`-only lists do not count. */
function runtimeImportsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?([^;]*?)\s*from\s+'([^']+)'/g)]
    .filter(([, type, names]) => !type && !/^\{\s*(type\s+\w+\s*(,\s*)?)+\}$/.test(names.trim()))
    .map(([, , , spec]) => (spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)) : spec));
}

/** Runtime imports of file code (store/, node:fs, apache-arrow) by files of the given rooms. */
function fileCodeImports(files: string[], rooms: string[]): string[] {
  return files
    .filter((f) => rooms.includes(roomOf(relative(SRC, f))))
    .flatMap((f) =>
      runtimeImportsOf(f)
        .filter((t) => t.startsWith('store/') || t === 'node:fs' || t === 'apache-arrow')
        .map((t) => `${relative(SRC, f)} -> ${t}`),
    );
}

describe('import rules', () => {
  it('every room of src/ has a layer, and every import resolves to a file', () => {
    for (const f of graph.keys()) expect(layerOf.has(roomOf(f)), `${f}: room not in the code map`).toBe(true);
    for (const [f, targets] of graph)
      for (const t of targets) expect(graph.has(t), `${f} imports missing ${t}`).toBe(true);
    expect(graph.size).toBeGreaterThan(60);
    expect(graph.get('pipeline/sweep.ts')).toContain('pipeline/sweepWorker.ts'); // worker URLs count as imports
  });

  it('imports point down: within a room, or to a lower layer', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('the maths rooms import no file code (store/ only for types)', () => {
    expect(fileCodeImports(sourceFiles(SRC), ['reduce', 'cluster', 'identify'])).toEqual([]);
  });

  it('no import cycles', () => {
    expect(findCycles(graph)).toEqual([]);
  });

  it('the checks find an upward import, a same-layer import and a cycle in a made-up graph', () => {
    const fake = new Map([
      ['core/a.ts', ['store/b.ts']],
      ['store/b.ts', ['core/a.ts', 'store/c.ts']],
      ['store/c.ts', []],
      ['cluster/d.ts', ['identify/e.ts']],
      ['identify/e.ts', []],
    ]);
    expect(upwardImports(fake)).toEqual(['core/a.ts -> store/b.ts', 'cluster/d.ts -> identify/e.ts']);
    // and file code in a maths room, from this repository's own file
    expect(fileCodeImports([join(SRC, 'pipeline/spaceJob.ts')], ['pipeline'])).toContain(
      'pipeline/spaceJob.ts -> node:fs',
    );
    expect(fileCodeImports([join(SRC, 'identify/zooIndex.ts')], ['identify'])).toEqual([]);
    const zooIndex = runtimeImportsOf(join(SRC, 'identify/zooIndex.ts'));
    expect(zooIndex).toContain('reduce/svd.ts'); // a value import counts
    expect(zooIndex).not.toContain('store/indexFile.ts'); // `import type` does not
    expect(findCycles(fake)).toEqual(['core/a.ts -> store/b.ts -> core/a.ts']);
  });
});
