/**
 * The public API is small on purpose: the entry points at the top of src/index.ts, the rest in
 * three namespaces. Adding a top-level name is a decision, made here; every name the README's
 * library snippet calls is one of them; package.json exports the same module.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.ts';
import { ROOT } from './helpers.ts';

const ENTRY_POINTS = [
  'TruncatedSVD',
  'UserError',
  'ZooIndex',
  'ZooWriter',
  'clusterZoo',
  'defineArchitecture',
  'exportModel',
  'identify',
  'importZoo',
  'loadZoo',
  'loadZooIndex',
  'mergeZooShards',
  'openZoo',
  'plotZoo',
  'presetConfig',
  'readModel',
  'saveZooIndex',
  'trainZoo',
  'umapEmbedding',
  'verifyZoo',
  'zooRecorder',
];

describe('the public API', () => {
  it('has its entry points and three namespaces at the top, nothing else', () => {
    expect(Object.keys(api).sort()).toEqual([...ENTRY_POINTS, 'advanced', 'formats', 'linalg'].sort());
    for (const ns of [api.advanced, api.formats, api.linalg])
      expect(Object.keys(ns).length).toBeGreaterThan(5);
  });

  it("covers every name the README's library snippet imports", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const imported = /import \{([^}]+)\} from '\.\/src\/index\.ts'/.exec(readme)![1];
    for (const name of imported.split(',').map((n) => n.trim())) expect(ENTRY_POINTS, name).toContain(name);
  });

  it('is what package.json exports', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.exports['.']).toBe('./src/index.ts');
  });
});
