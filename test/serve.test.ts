/**
 * `serve` against the real server: the JSON endpoints against what the library and the
 * files say, an attacker's requests (path traversal in every encoding, a foreign Host, no or
 * a wrong token, garbage bytes, oversized and malformed uploads: refused, nothing written,
 * the server still answering), live events while a `zoo` trains in the background, and the
 * app in Chromium: every page, a search filter, runs picked on the plot, an upload
 * identified, errors shown, no console error and no request leaving 127.0.0.1.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium } from '../src/plot/browser.ts';
import { startServer, type RunningServer } from '../src/server/server.ts';
import { importZoo } from '../src/store/importZoo.ts';
import { readManifest } from '../src/store/manifest.ts';
import { loadZoo } from '../src/store/loadZoo.ts';
import { trainZoo } from '../src/train/trainZoo.ts';
import { exportCheckpoint, runCliSync, startCli, tempDir, tinyConfig, treeFingerprint } from './helpers.ts';
import { safetensorsBytes } from './support/safetensorsSpec.ts';
import { tf } from './support/tf.ts';
import { loadMnist } from '../src/data/mnist.ts';
import { zooRecorder } from '../src/train/zooRecorder.ts';

let root: string;
let outside: string;
let exported: string;
let server: RunningServer;
let base: string;
const SCREENSHOTS = join(tmpdir(), 'weightspace-serve-screenshots');
const UPLOAD_LIMIT = 64 << 10;

beforeAll(async () => {
  root = tempDir('wsvc-serve-');
  outside = tempDir('wsvc-serve-outside-');
  await trainZoo({
    dir: join(root, 'ffnn-s'),
    config: tinyConfig('ffnn', { seedCount: 6, epochs: 4, trainSize: 600 }),
  });
  // an imported zoo, from safetensors files written by the format's specification
  const source = join(outside, 'imported-src');
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.2;
  for (const run of ['a', 'b'])
    for (const epoch of [0, 1]) {
      mkdirSync(join(source, run), { recursive: true });
      const tensor = (name: string, shape: number[]) => ({
        name,
        shape,
        dtype: 'F32',
        values: Array.from({ length: shape[0] * shape[1] }, random),
      });
      writeFileSync(
        join(source, run, `epoch_${epoch}.safetensors`),
        safetensorsBytes([
          tensor('fc1.weight', [10, 196]),
          tensor('fc2.weight', [10, 10]),
          tensor('fc3.weight', [10, 10]),
        ]),
      );
    }
  await importZoo({ source, dir: join(root, 'imported'), name: 'imported', arch: 'ffnn' });
  // a zoo recorded from TensorFlow.js training (2 runs of a ReLU MLP, 3 epochs)
  const mnist = loadMnist({ trainSize: 300, testSize: 10 });
  const x = tf.tensor2d(mnist.train.images, [300, 196]);
  const y = tf.oneHot(tf.tensor1d(Array.from(mnist.train.labels), 'int32'), 10);
  for (let run = 0; run < 2; run++) {
    const init = (k: number) => tf.initializers.glorotUniform({ seed: 100 * run + k });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [196], units: 24, activation: 'relu', kernelInitializer: init(1) }),
        tf.layers.dense({ units: 10, kernelInitializer: init(2) }),
      ],
    });
    model.compile({ optimizer: tf.train.sgd(0.2), loss: 'meanSquaredError' });
    await model.fit(x, y, {
      epochs: 3,
      batchSize: 30,
      shuffle: false,
      verbose: 0,
      callbacks: [zooRecorder({ zoo: join(root, 'tfjs-rec'), run, runs: 2, tags: { lr: '0.2' } })],
    });
    model.dispose();
  }
  // a zoo outside the root, linked into it: never served
  await trainZoo({
    dir: join(outside, 'secret-zoo'),
    config: tinyConfig('ffnn', { seedCount: 2, epochs: 1 }),
  });
  symlinkSync(join(outside, 'secret-zoo'), join(root, 'linked'));
  writeFileSync(join(outside, 'secret.txt'), 'TOP-SECRET');
  exportCheckpoint({
    zoo: join(root, 'ffnn-s'),
    run: 4,
    epoch: 1,
    format: 'tfjs',
    out: join(outside, 'run4-tfjs'),
  });
  exported = join(outside, 'run3.safetensors');
  exportCheckpoint({ zoo: join(root, 'ffnn-s'), run: 3, epoch: 2, format: 'safetensors', out: exported });
  const clustered = runCliSync('cluster', ['--zoo', join(root, 'ffnn-s'), '--out', join(outside, 'results')]);
  expect(clustered.code, clustered.stderr).toBe(0);
  server = await startServer({
    root,
    port: 0,
    uploadLimit: UPLOAD_LIMIT,
    pollMs: 200,
    results: join(outside, 'results'),
  });
  base = server.url.replace(/\/$/, '');
}, 240_000);

afterAll(async () => {
  await server?.close();
});

const json = async (path: string, init?: RequestInit) => {
  const res = await fetch(base + path, init);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

/** A request written on the socket as given: fetch would normalise the path first. */
function raw(request: string, port = server.port): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), text }));
    socket.on('error', reject);
    socket.write(request);
  });
}
const get = (path: string, headers = `Host: 127.0.0.1:${server.port}\r\n`) =>
  raw(`GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`);

const uploadsLeft = () => readdirSync(tmpdir()).filter((n) => n.startsWith('weightspace-upload-')).length;

describe('serve: the JSON endpoints', () => {
  it('lists the zoos under the root with what their manifests say, and filters them with the search grammar', async () => {
    const { status, body } = await json('/api/zoos');
    expect(status).toBe(200);
    expect(body.zoos.map((z: { name: string }) => z.name)).toEqual(['ffnn-s', 'imported', 'tfjs-rec']);
    const ffnn = body.zoos[0];
    const m = readManifest(join(root, 'ffnn-s'));
    expect([ffnn.runs, ffnn.epochs, ffnn.weights, ffnn.origin]).toEqual([
      m.config!.seedCount,
      m.epochsCompleted,
      m.architecture.size,
      'trained',
    ]);
    expect(body.zoos[1]).toMatchObject({ origin: 'import', runs: 2, epochs: 1 });
    expect(body.zoos[2]).toMatchObject({
      origin: 'record',
      runs: 2,
      epochs: 3,
      architecture: 'tfjs-Dense-Dense',
    });
    // epoch >= 3 selects epochs 3-4 of the 6 trained runs, epoch 3 of the 2 recorded ones, nothing imported
    const filtered = await json(`/api/zoos?q=${encodeURIComponent('epoch >= 3')}`);
    expect(filtered.body.zoos.map((z: { name: string; matches: number }) => [z.name, z.matches])).toEqual([
      ['ffnn-s', 12],
      ['tfjs-rec', 2],
    ]);
    const bad = await json(`/api/zoos?q=${encodeURIComponent('epoch >=')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/column/);
    const csv = await (await fetch(`${base}/api/zoos?format=csv`)).text();
    expect(csv.split('\n')[0]).toBe(
      'name,architecture,origin,runs,epochs,checkpoints,weights,bytes,status,parent,updatedAt,matches',
    );
    expect(csv).toMatch(/^ffnn-s,ffnn,trained,6,4,30,2160,/m);
  });

  it('answers a zoo, its plane and statistics, a checkpoint, a diff and predictions', async () => {
    const zoo = (await json('/api/zoos/ffnn-s')).body;
    expect(zoo.curves.runs).toHaveLength(6);
    expect(zoo.curves.metrics.test_accuracy[2]).toHaveLength(5);
    const plane = (await json('/api/zoos/ffnn-s/plane?method=svd')).body;
    expect(plane.coords).toHaveLength(2 * 30);
    const stats = (await json('/api/zoos/ffnn-s/stats')).body;
    expect(stats.tensors).toEqual(['fc1.weight', 'fc2.weight', 'fc3.weight']);
    const c = (await json(`/api/checkpoints/${encodeURIComponent('ffnn-s:2@3')}`)).body;
    expect(c.show).toMatchObject({ ref: 'ffnn-s:2@3', parentRef: 'ffnn-s:2@2', children: ['ffnn-s:2@4'] });
    expect(c.log.map((e: { epoch: number }) => e.epoch)).toEqual([4, 3, 2, 1, 0]);
    const diff = (
      await json(`/api/diff?a=${encodeURIComponent('ffnn-s:2@2')}&b=${encodeURIComponent('ffnn-s:2@3')}`)
    ).body;
    expect(diff.tensors.map((t: { name: string }) => t.name)).toEqual([
      'fc1.weight',
      'fc2.weight',
      'fc3.weight',
    ]);
    // the MNIST test set's first labels, as published
    const p = (await json(`/api/predict?ref=${encodeURIComponent('ffnn-s:2@3')}&count=4`)).body;
    expect(p.labels).toEqual([7, 2, 1, 0]);
    for (const probs of p.probabilities)
      expect(probs.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 9);
  });

  it("draws the dendrogram of chosen runs from the cluster command's exports, and says how to make them", async () => {
    const fig = (await json('/api/zoos/ffnn-s/dendrogram?runs=1,4')).body.figure;
    // one trace of links, then the leaves of each run: 2 runs x 5 checkpoints
    const leaves = fig.data.slice(1).reduce((a: number, t: { x: unknown[] }) => a + t.x.length, 0);
    expect(leaves).toBe(10);
    expect((await json('/api/zoos/ffnn-s/dendrogram?runs=9')).status).toBe(400);
    const none = await json('/api/zoos/imported/dendrogram');
    expect(none.status).toBe(200);
    expect(none.body.figure).toBeNull();
    expect(none.body.note).toMatch(/npm run cluster -- --zoo/);
  });

  it('identifies an uploaded export as its run and epoch, and records it only when asked', async () => {
    const before = treeFingerprint(root);
    const left = uploadsLeft();
    const bytes = readFileSync(exported);
    const { status, body } = await json('/api/identify?name=run3.safetensors', {
      method: 'POST',
      body: bytes,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ zoo: 'ffnn-s', run: 3, epoch: 2, verdict: 'member', recorded: false });
    expect(treeFingerprint(root)).toEqual(before);
    expect(uploadsLeft()).toBe(left);
    const recorded = await json('/api/identify?name=run3.safetensors&record=1', {
      method: 'POST',
      body: bytes,
    });
    expect(recorded.body.recorded).toBe(true);
    const lineage = (await json('/api/lineage')).body;
    expect(lineage.edges).toContainEqual(
      expect.objectContaining({ from: 'ffnn-s:3', kind: 'inferred', verdict: 'member' }),
    );
  });

  it('identifies a TensorFlow.js model uploaded as its model.json and weight file', async () => {
    const dir = join(outside, 'run4-tfjs');
    const names = readdirSync(dir).sort(); // model.json, weights.bin
    const files = names.map((n) => readFileSync(join(dir, n)));
    const parts = names.map((n, i) => `${n}:${files[i].length}`).join(',');
    const r = await json(`/api/identify?parts=${encodeURIComponent(parts)}&zoo=ffnn-s`, {
      method: 'POST',
      body: Buffer.concat(files),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ zoo: 'ffnn-s', run: 4, epoch: 1, verdict: 'member' });
    const short = await json(`/api/identify?parts=${encodeURIComponent(parts)}`, {
      method: 'POST',
      body: files[0],
    });
    expect(short.status).toBe(400);
    expect(short.body.error).toMatch(/parts say/);
    const escape = await json(`/api/identify?parts=${encodeURIComponent('../model.json:2,w.bin:1')}`, {
      method: 'POST',
      body: 'abc',
    });
    expect(escape.status).toBe(400);
    expect(existsSync(join(tmpdir(), 'model.json'))).toBe(false);
  });

  it('identifies a .npy of the flat weights, as np.save writes float32', async () => {
    // the .npy format 1.0 by its specification: magic, version, header length, a dict padded to 64 bytes
    const npy = (values: Float32Array, shape: string) => {
      let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
      header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
      const head = Buffer.alloc(10);
      head.write('\x93NUMPY', 0, 'latin1');
      head.writeUInt8(1, 6);
      head.writeUInt16LE(header.length, 8);
      return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer)]);
    };
    const zoo = loadZoo(join(root, 'ffnn-s'));
    const row = 2 * zoo.runs + 5; // run 5, epoch 2
    const weights = zoo.weights.slice(row * zoo.dim, (row + 1) * zoo.dim);
    const r = await json('/api/identify?name=w.npy&zoo=ffnn-s', {
      method: 'POST',
      body: npy(weights, `(${zoo.dim},)`),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ run: 5, epoch: 2, verdict: 'member', sha256: zoo.sha256[row] });
    const wrong = await json('/api/identify?name=w.npy&zoo=ffnn-s', {
      method: 'POST',
      body: npy(weights, `(${zoo.dim / 10}, 10)`),
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toMatch(/weights in one row/);
  });

  it('refuses garbage, a wrong format and an upload over the limit, writing nothing, and goes on', async () => {
    const before = treeFingerprint(root);
    const left = uploadsLeft();
    const garbage = await json('/api/identify?name=x.safetensors', {
      method: 'POST',
      body: 'not a model at all',
    });
    expect(garbage.status).toBe(400);
    expect(garbage.body.error).toMatch(/safetensors/);
    const pickle = await json('/api/identify?name=model.pt', { method: 'POST', body: 'x' });
    expect(pickle.status).toBe(400);
    expect(pickle.body.error).toMatch(/cannot tell the format/);
    const big = await json('/api/identify?name=big.safetensors', {
      method: 'POST',
      body: new Uint8Array(UPLOAD_LIMIT + 1),
    });
    expect(big.status).toBe(413);
    expect(big.body.error).toMatch(/too large.*--upload-limit/);
    const badTag = await json('/api/tags', { method: 'POST', body: '{"ref": 3' });
    expect(badTag.status).toBe(400);
    const put = await json('/api/zoos', { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(treeFingerprint(root)).toEqual(before);
    expect(uploadsLeft()).toBe(left);
    expect((await json('/api/zoos')).status).toBe(200);
  });
});

describe('serve: an attacker', () => {
  it('gets nothing outside the root, in any encoding, and no file by reference', async () => {
    const attempts = [
      '/../../../../etc/passwd',
      '/assets/../../secret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets/%252e%252e%252fsecret.txt',
      '/assets/..%5c..%5csecret.txt',
      '/api/zoos/..%2flinked',
      '/api/zoos/%2E%2E',
      '/api/zoos/linked',
      '/api/zoos/linked/plane',
      `/api/checkpoints/${encodeURIComponent(join(outside, 'run3.safetensors'))}`,
      `/api/diff?a=${encodeURIComponent(exported)}&b=ffnn-s:0`,
      `/api/predict?ref=${encodeURIComponent('../secret.txt')}`,
      '/api/zoos/%E0%A4%A',
      '/api/zoos/a%00b',
    ];
    for (const path of attempts) {
      const r = await get(path);
      expect([400, 404], path).toContain(r.status);
      expect(r.text, path).not.toMatch(/TOP-SECRET|root:x:0/);
    }
    const list = await json('/api/zoos');
    expect(list.body.zoos.map((z: { name: string }) => z.name)).not.toContain('linked');
  });

  it('refuses a foreign Host header (DNS rebinding) and survives garbage on the socket', async () => {
    expect((await get('/api/zoos', 'Host: evil.example\r\n')).status).toBe(403);
    expect([400, 403]).toContain((await get('/api/zoos', '')).status);
    for (const junk of [
      '\x00\x01\x02garbage\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      'POST /api/identify HTTP/1.1\r\nContent-Length: -5\r\n\r\n',
    ])
      await raw(junk).catch(() => null);
    expect((await json('/api/zoos')).status).toBe(200);
  });

  it('requires the token off loopback, and checks it on every request', async () => {
    await expect(startServer({ root, host: '0.0.0.0', port: 0 })).rejects.toThrow(/token/);
    const guarded = await startServer({ root, port: 0, token: 's3cret-token' });
    try {
      const at = `http://127.0.0.1:${guarded.port}`;
      expect((await fetch(`${at}/api/zoos`)).status).toBe(401);
      expect((await fetch(`${at}/api/zoos`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
        401,
      );
      expect((await fetch(`${at}/api/zoos?token=s3cret-tokeN`)).status).toBe(401);
      expect(
        (await fetch(`${at}/api/zoos`, { headers: { authorization: 'Bearer s3cret-token' } })).status,
      ).toBe(200);
      const entry = await fetch(guarded.url, { redirect: 'manual' });
      expect(entry.status).toBe(303);
      const cookie = entry.headers.get('set-cookie')!.split(';')[0];
      expect(cookie).toBe('weightspace_token=s3cret-token');
      expect((await fetch(`${at}/api/zoos`, { headers: { cookie } })).status).toBe(200);
      expect((await fetch(`${at}/assets/app.js`)).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });
});

describe('serve: live', () => {
  it('says each epoch of a zoo trained in the background as it is committed', async () => {
    const res = await fetch(`${base}/api/events`);
    const reader = res.body!.getReader();
    // epochs of a second or so each, well apart at the server's 200 ms look
    const child = startCli('zoo', [
      '--arch',
      'cnn',
      '--seeds',
      '2',
      '--epochs',
      '4',
      '--train-size',
      '60000',
      '--test-size',
      '200',
      '--out',
      root,
      '--name',
      'live',
    ]);
    const exited = new Promise<null>((resolve) => child.on('exit', () => resolve(null)));
    // on each event naming the zoo, the epochs the list then shows
    const seen: number[] = [];
    let text = '';
    for (;;) {
      const chunk = await Promise.race([reader.read(), exited]);
      if (chunk === null || chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
      const events = text.split('\n\n');
      text = events.pop()!;
      for (const e of events)
        if (/^event: zoos\ndata: .*cnn-live/.test(e)) {
          const zoo = (await json('/api/zoos')).body.zoos.find(
            (z: { name: string }) => z.name === 'cnn-live',
          );
          if (zoo) seen.push(zoo.epochs);
        }
    }
    await reader.cancel();
    expect(child.exitCode).toBe(0);
    // epochs appeared one by one while it trained, not only at the end
    expect(new Set(seen.filter((e) => e >= 0 && e < 4)).size).toBeGreaterThanOrEqual(2);
    // long work reports its progress on the same stream: a UMAP of the new zoo's checkpoints
    const progress = await fetch(`${base}/api/events`);
    const progressReader = progress.body!.getReader();
    const plane = json('/api/zoos/cnn-live/plane?method=umap');
    let said = '';
    while (!/event: progress\ndata: \{"task":"plane umap cnn-live[^}]*"done":(\d+),"total":\1\}/.test(said)) {
      const { value, done } = await progressReader.read();
      if (done) break;
      said += new TextDecoder().decode(value);
    }
    await progressReader.cancel();
    expect(said).toMatch(/"step":"UMAP of SVD-\d+"/);
    expect((await plane).body.coords).toHaveLength(2 * 2 * 5);
    const list = await json('/api/zoos');
    expect(list.body.zoos.find((z: { name: string }) => z.name === 'cnn-live')).toMatchObject({
      epochs: 4,
      status: 'complete',
    });
  }, 180_000);
});

const chromium = findChromium();
describe.skipIf(!chromium && !process.env.REQUIRE_CHROMIUM)('serve: in Chromium', () => {
  it('shows every page, filters, picks runs, identifies an upload, shows errors, and sees a zoo train', async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const browser = await launchChromium(chromium!);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on(
      'console',
      (m) => m.type() === 'error' && !/status of (400|413)/.test(m.text()) && errors.push(m.text()),
    );
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on(
      'request',
      (r) => !r.url().startsWith(base) && !r.url().startsWith('data:') && foreign.push(r.url()),
    );
    const renders = () => page.evaluate(() => (window as unknown as { appRenders: number }).appRenders);
    const open = async (hash: string) => {
      await page.goto(`${base}/${hash}`);
      await page.waitForFunction(() => (window as unknown as { appRenders: number }).appRenders >= 1);
    };
    try {
      // the zoo list, filtered
      await open('#/');
      expect(await page.locator('#zoo-table tbody tr').count()).toBe(4);
      await page.fill('#query', 'epoch >= 4');
      const n = await renders();
      await page.click('#apply');
      await page.waitForFunction((k) => (window as unknown as { appRenders: number }).appRenders > k, n);
      expect(await page.locator('#zoo-table tbody tr').allTextContents()).toEqual([
        expect.stringMatching(/^cnn-live/),
        expect.stringMatching(/^ffnn-s/),
      ]);
      await page.fill('#query', 'epoch >=');
      await page.click('#apply');
      await page.waitForSelector('#query-error');

      // a zoo: runs picked on the plot are drawn in colour, the others grey
      await open('#/zoo/ffnn-s');
      await page.waitForFunction(() => document.querySelector('#plane .scatterlayer') !== null);
      const coloured = () =>
        page.evaluate(
          () =>
            (document.getElementById('plane') as unknown as { data: { showlegend: boolean }[] }).data.filter(
              (t) => t.showlegend,
            ).length,
        );
      // the default: the 5 runs the dendrogram endpoint spreads over the tree
      const spread = (await json('/api/zoos/ffnn-s/dendrogram')).body.runs as number[];
      expect(new Set(spread).size).toBe(5);
      expect(await coloured()).toBe(5);
      const checked = await page.$$eval('input.pick:checked', (boxes) =>
        boxes.map((b) => Number((b as HTMLInputElement).dataset.run)),
      );
      expect(checked.sort()).toEqual([...spread].sort());
      await page.click(`input.pick[data-run="${spread[0]}"]`);
      expect(await coloured()).toBe(4);
      // a lasso drawn with the mouse around the grey point farthest from every other run's
      // points chooses that run alone: on the plot, in the table's boxes
      await page.locator('#plane').scrollIntoViewIfNeeded(); // the mouse acts in the viewport
      const target = await page.evaluate(() => {
        type Axis = { l2p: (v: number) => number; _offset: number };
        const gd = document.getElementById('plane') as unknown as {
          data: { x: number[]; y: number[]; customdata: [number, number][]; showlegend: boolean }[];
          _fullLayout: { xaxis: Axis; yaxis: Axis };
          getBoundingClientRect: () => DOMRect;
        };
        const { xaxis, yaxis } = gd._fullLayout;
        const box = gd.getBoundingClientRect();
        const points = gd.data.flatMap((t) =>
          t.x.map((x, i) => ({
            run: t.customdata[i][0],
            grey: !t.showlegend,
            px: box.left + xaxis._offset + xaxis.l2p(x),
            py: box.top + yaxis._offset + yaxis.l2p(t.y[i]),
          })),
        );
        const inside = (p: { px: number; py: number }) =>
          p.px > box.left + xaxis._offset + 10 && p.py > box.top + yaxis._offset + 10;
        const apart = (p: (typeof points)[number]) =>
          Math.min(...points.filter((q) => q.run !== p.run).map((q) => Math.hypot(q.px - p.px, q.py - p.py)));
        return points
          .filter((p) => p.grey && inside(p))
          .map((p) => ({ ...p, apart: apart(p) }))
          .sort((a, b) => b.apart - a.apart)[0];
      });
      expect(target.apart).toBeGreaterThan(6); // room for a lasso around it alone
      const r = Math.min(target.apart / 2, 12);
      await page.mouse.move(target.px - r, target.py - r);
      await page.mouse.down();
      for (const [dx, dy] of [
        [r, -r],
        [r, r],
        [-r, r],
        [-r, -r],
      ])
        await page.mouse.move(target.px + dx, target.py + dy, { steps: 4 });
      await page.mouse.up();
      await page.waitForFunction(() => document.querySelectorAll('input.pick:checked').length === 1);
      expect(
        await page.$$eval('input.pick:checked', (b) =>
          b.map((x) => Number((x as HTMLInputElement).dataset.run)),
        ),
      ).toEqual([target.run]);
      expect(await coloured()).toBe(1);
      await page.click('button:text-is("spread")'); // back to the runs spread over the tree
      expect(await coloured()).toBe(5);
      expect(
        (
          await page.$$eval('input.pick:checked', (b) =>
            b.map((x) => Number((x as HTMLInputElement).dataset.run)),
          )
        ).sort(),
      ).toEqual([...spread].sort());
      // each chosen run has one colour on the plane, in the curves and in the dendrogram
      await page.waitForFunction(
        () =>
          (document.getElementById('dendrogram') as unknown as { data?: { name: string }[] }).data?.filter(
            (t) => t.name.startsWith('run '),
          ).length === 5,
      );
      const colours = await page.evaluate(() => {
        type Trace = {
          name: string;
          showlegend?: boolean;
          line?: { color: string };
          marker?: { color: string };
        };
        const traces = (id: string) => (document.getElementById(id) as unknown as { data: Trace[] }).data;
        const byRun = (ts: Trace[], colour: (t: Trace) => string | undefined) =>
          Object.fromEntries(ts.map((t) => [Number(/^run (\d+)/.exec(t.name)![1]), colour(t)]));
        return {
          plane: byRun(
            traces('plane').filter((t) => t.showlegend),
            (t) => t.line?.color,
          ),
          curves: byRun(traces('curves'), (t) => t.line?.color),
          dendrogram: byRun(
            traces('dendrogram').filter((t) => t.name.startsWith('run ')),
            (t) => t.marker?.color,
          ),
        };
      });
      expect(Object.keys(colours.plane).map(Number).sort()).toEqual([...spread].sort());
      expect(new Set(Object.values(colours.plane)).size).toBe(5);
      expect(colours.curves).toEqual(colours.plane);
      expect(colours.dendrogram).toEqual(colours.plane);
      await page.selectOption('#curve-mode', 'aggregate');
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(SCREENSHOTS, 'zoo.png'), fullPage: true });

      // a recorded zoo and one of its checkpoints, run by its recorded network
      await open('#/zoo/tfjs-rec');
      await page.waitForFunction(() => document.querySelector('#plane .scatterlayer') !== null);
      await open(`#/checkpoint/${encodeURIComponent('tfjs-rec:1@2')}`);
      await page.waitForSelector('#predictions figure');

      // a checkpoint: show, diff, predictions
      await open(`#/checkpoint/${encodeURIComponent('ffnn-s:2@3')}`);
      await page.waitForSelector('#diff table');
      await page.waitForSelector('#predictions figure');
      expect(await page.locator('#predictions figure').count()).toBe(8);
      await page.screenshot({ path: join(SCREENSHOTS, 'checkpoint.png'), fullPage: true });

      // identify: the export, garbage, and a file over the limit
      await open('#/identify');
      await page.waitForSelector('#identify-zoo option[value="ffnn-s"]', { state: 'attached' });
      await page.selectOption('#identify-zoo', 'ffnn-s');
      await page.check('#identify-record');
      await page.setInputFiles('#identify-file', exported);
      await page.waitForSelector('#verdict');
      expect(await page.textContent('#verdict')).toBe('MEMBER: run 3 of ffnn-s, epoch 2.00');
      await page.waitForFunction(() => document.querySelector('#identify-plane .scatterlayer') !== null);
      await page.screenshot({ path: join(SCREENSHOTS, 'identify.png'), fullPage: true });
      const tfjsDir = join(outside, 'run4-tfjs');
      await page.setInputFiles(
        '#identify-file',
        readdirSync(tfjsDir).map((n) => join(tfjsDir, n)),
      );
      await page.waitForFunction(() =>
        /run 4 of ffnn-s, epoch 1\.00/.test(document.getElementById('verdict')?.textContent ?? ''),
      );
      await page.setInputFiles('#identify-file', {
        name: 'garbage.safetensors',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('garbage'),
      });
      await page.waitForSelector('#identify-error');
      expect(await page.textContent('#identify-error')).toMatch(/safetensors/);
      await page.setInputFiles('#identify-file', {
        name: 'big.safetensors',
        mimeType: 'application/octet-stream',
        buffer: Buffer.alloc(UPLOAD_LIMIT * 2),
      });
      await page.waitForFunction(() =>
        /too large/.test(document.getElementById('identify-error')?.textContent ?? ''),
      );

      // lineage: the inferred link recorded above
      await open('#/lineage');
      await page.waitForSelector('#lineage .inferred');
      await page.screenshot({ path: join(SCREENSHOTS, 'lineage.png'), fullPage: true });

      // live: a zoo started from the CLI appears in the open list without a reload
      await open('#/');
      await page.evaluate(() => ((window as unknown as { loaded: boolean }).loaded = true));
      const child = startCli('zoo', [
        '--arch',
        'ffnn',
        '--seeds',
        '2',
        '--epochs',
        '3',
        '--train-size',
        '3000',
        '--test-size',
        '200',
        '--out',
        root,
        '--name',
        'browser',
      ]);
      await page.waitForFunction(
        () => /ffnn-browser/.test(document.getElementById('zoo-table')?.textContent ?? ''),
        null,
        { timeout: 90_000 },
      );
      await new Promise((resolve) => child.on('exit', resolve));
      expect(await page.evaluate(() => (window as unknown as { loaded?: boolean }).loaded)).toBe(true); // no reload
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
    } finally {
      await browser.close();
    }
    for (const shot of ['zoo', 'checkpoint', 'identify', 'lineage'])
      expect(existsSync(join(SCREENSHOTS, `${shot}.png`))).toBe(true);
  }, 240_000);
});

describe.skipIf(!chromium && !process.env.REQUIRE_CHROMIUM)('serve: the default zoos in Chromium', () => {
  let zoos: string;
  let defaults: RunningServer;

  beforeAll(async () => {
    // the README's first command, `npm run zoo` with every default, into a folder of its own
    zoos = tempDir('wsvc-serve-defaults-');
    const child = startCli('zoo', ['--out', zoos]);
    let stderr = '';
    child.stderr!.on('data', (b) => (stderr += b));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code, stderr).toBe(0);
    defaults = await startServer({ root: zoos, port: 0, results: join(zoos, 'no-results') });
  }, 300_000);

  afterAll(async () => {
    await defaults?.close();
  });

  // identify on a default zoo builds its index (tens of seconds on 2 cores); the upload path is
  // the one the test above takes on ffnn-s, and firstHour.test identifies a cnn-default export
  it('shows both zoos, their planes with 5 runs in colour, a checkpoint run by its network, and the lineage', async () => {
    const url = defaults.url.replace(/\/$/, '');
    const browser = await launchChromium(chromium!);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on(
      'request',
      (r) => !r.url().startsWith(url) && !r.url().startsWith('data:') && foreign.push(r.url()),
    );
    const open = async (hash: string) => {
      await page.goto(`${url}/${hash}`);
      await page.waitForFunction(() => (window as unknown as { appRenders: number }).appRenders >= 1);
    };
    try {
      await open('#/');
      expect(await page.locator('#zoo-table tbody tr').allTextContents()).toEqual([
        expect.stringMatching(/^cnn-default/),
        expect.stringMatching(/^ffnn-default/),
      ]);
      const listed = (await (await fetch(`${url}/api/zoos`)).json()) as {
        zoos: { runs: number; epochs: number }[];
      };
      expect(listed.zoos.map((z) => [z.runs, z.epochs])).toEqual([
        [50, 20],
        [50, 20],
      ]); // the default preset
      for (const zoo of ['ffnn-default', 'cnn-default']) {
        await open(`#/zoo/${zoo}`);
        await page.waitForFunction(() => document.querySelector('#plane .scatterlayer') !== null, null, {
          timeout: 60_000,
        });
        // 50 runs: 5 spread over the dendrogram in colour, the other 45 grey
        const legend = await page.evaluate(
          () =>
            (document.getElementById('plane') as unknown as { data: { showlegend: boolean }[] }).data.filter(
              (t) => t.showlegend,
            ).length,
        );
        expect(legend).toBe(5);
        await page.screenshot({ path: join(SCREENSHOTS, `${zoo}.png`), fullPage: true });
      }
      await open(`#/checkpoint/${encodeURIComponent('cnn-default:3@7')}`);
      await page.waitForSelector('#predictions figure');
      await open('#/lineage');
      await page.waitForSelector('#lineage');
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
    } finally {
      await browser.close();
    }
    expect(readdirSync(zoos).sort()).toEqual(['cnn-default', 'ffnn-default']); // nothing written
  }, 240_000);
});
