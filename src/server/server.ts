/**
 * `weightspace serve`: a local web app over the zoos under a root (docs/serve.md). node:http
 * and nothing more: a handful of routes, each a thin call into the library (pipeline/), the
 * long ones in a worker thread (engine.ts). The rules a server on a user's machine keeps:
 *
 * - It binds 127.0.0.1 unless told otherwise, and then answers only requests that carry the
 *   token (a header, a cookie the page gets from `/?token=`, or the query), compared in
 *   constant time. On loopback it also refuses a Host header that is not loopback, so that a
 *   web page elsewhere cannot reach it by rebinding its own name to 127.0.0.1.
 * - It serves zoos by name from the catalog, never a path: a request path holding `..`, an
 *   encoded dot, slash or backslash, or a second level of encoding is refused before
 *   routing; zoos linked from outside the root are not in the catalog; references never read
 *   files (catalogWithin).
 * - Uploads are bounded (uploadLimit), written to a fresh temporary folder outside the root
 *   and removed when answered. Only tags and `record` write, each through the store's commit
 *   protocol.
 * - Any failure of a request is that request's error response; the server goes on.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createHash, timingSafeEqual } from 'node:crypto';
import { transformSync } from 'esbuild';
import { isUserError, UserError } from '../core/errors.ts';
import { zooCurves, zooStamp, zooSummaries, zooSummary, type ZooSummary } from '../pipeline/dashboard.ts';
import { listTags, showCheckpoint, tagCheckpoint, zooLog } from '../pipeline/history.ts';
import { zooLineage } from '../pipeline/lineage.ts';
import { readClusterReport, savedClusterExports } from '../pipeline/report.ts';
import { searchCatalog } from '../pipeline/search.ts';
import { networkOf } from '../core/network.ts';
import { plotlyBundle } from '../plot/page.ts';
import { PLOT_DEFAULTS } from '../plot/plotZoo.ts';
import { runsDendrogram, runsSpreadOverTree } from '../plot/zooPages.ts';
import { maxComponents } from '../reduce/svd.ts';
import type { Catalog, CatalogZoo } from '../store/catalog.ts';
import { zooDirsUnder } from '../store/catalog.ts';
import { resolveCheckpoint } from '../store/refs.ts';
import { verifyZoo } from '../store/verifyZoo.ts';
import { DEFAULT_DIRS } from '../store/paths.ts';
import { jsonNumbers } from '../util/json.ts';
import { startEngine, type Engine } from './engine.ts';
import { catalogWithin } from './engineTypes.ts';

export interface ServeOptions {
  /** The folder whose zoos are served (default zoo/), or one zoo. */
  root?: string;
  /** Interface to bind (default 127.0.0.1); any other needs `token`. */
  host?: string;
  /** Port (default 8377; 0 picks a free one). */
  port?: number;
  /** The secret every request must carry; required off loopback. */
  token?: string;
  /** Largest upload in bytes (default 64 MiB). */
  uploadLimit?: number;
  /** How often the zoos are looked at for new epochs, in ms (default 1000). */
  pollMs?: number;
  /** Where cluster reports are read from (default results/). */
  results?: string;
  /** A line per request that failed with an internal error. */
  onLog?: (line: string) => void;
}

export const SERVE_DEFAULTS = {
  root: DEFAULT_DIRS.zoos,
  host: '127.0.0.1',
  port: 8377,
  uploadLimit: 64 * 2 ** 20,
  pollMs: 1000,
  results: DEFAULT_DIRS.results,
} as const;

export interface RunningServer {
  /** The address to open (with the token in it when there is one). */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

/** A request's failure as the client sees it: status and one line. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A zoo's or checkpoint's name in a path segment: letters, digits and . _ - : @ only, never only dots. */
const NAME = /^(?!\.+$)[A-Za-z0-9._:@-]{1,200}$/;
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'app.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};
let runColors: string | null = null;
/** Scripts the page shares with the static plots, made from the toolkit's own modules. */
const SCRIPTS: Record<string, () => string> = {
  '/assets/plotly.js': plotlyBundle,
  // plot/colors.ts as a browser script (global `runColors`): a run has one colour in every plot
  '/assets/colors.js': () =>
    (runColors ??= transformSync(readFileSync(new URL('../plot/colors.ts', import.meta.url), 'utf8'), {
      loader: 'ts',
      format: 'iife',
      globalName: 'runColors',
    }).code),
};
/** An uploaded file's name: a plain file name, kept as given in the temporary folder. */
const UPLOAD_NAME = /^(?!\.)[A-Za-z0-9._ -]{1,120}$/;

/**
 * The files of an upload: `?name=F` for one file (the whole body), or
 * `?parts=model.json:SIZE,weights.bin:SIZE` for a TensorFlow.js model, whose files come one
 * after another in the body. One .safetensors, .arrow or .npy file, or one model.json with
 * its weight files.
 */
function uploadParts(url: URL): { name: string; size: number | null }[] {
  const parts = url.searchParams.get('parts');
  const name = url.searchParams.get('name') ?? '';
  const files: { name: string; size: number | null }[] = parts
    ? parts.split(',').map((p) => {
        const at = p.lastIndexOf(':');
        return { name: p.slice(0, at), size: Number(p.slice(at + 1)) };
      })
    : [{ name, size: null }];
  for (const f of files)
    if (!UPLOAD_NAME.test(f.name) || (f.size !== null && !(Number.isInteger(f.size) && f.size >= 0)))
      throw new HttpError(
        400,
        `'${f.name}' is not an upload's file name (letters, digits, . _ - and spaces)`,
      );
  if (new Set(files.map((f) => f.name)).size !== files.length)
    throw new HttpError(400, 'two parts of the upload have the same name');
  const json = files.filter((f) => /\.json$/i.test(f.name));
  const single = files.length === 1 && /\.(safetensors|arrow|npy)$/i.test(files[0].name);
  if (!single && json.length !== 1)
    throw new HttpError(
      400,
      `cannot tell the format of '${files.map((f) => f.name).join(' + ')}': upload a .safetensors file, a checkpoint .arrow file, a .npy of the flat weights, or a TensorFlow.js model.json with its weight files`,
    );
  return files;
}

export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const o = { ...SERVE_DEFAULTS, ...options };
  if (!isLoopback(o.host) && !o.token)
    throw new UserError(
      `serving on ${o.host} lets other machines in: give a token with {{token}} (every request must carry it)`,
    );
  if (!Number.isFinite(o.uploadLimit) || o.uploadLimit < 1)
    throw new UserError(`{{uploadLimit}} must be a positive number of bytes, got ${o.uploadLimit}`);
  zooDirsUnder(o.root); // an unreadable root fails here, not on the first request
  const events = new Set<ServerResponse>();
  const broadcast = (event: string, data: unknown) => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of events) res.write(text);
  };
  const lastProgress = new Map<string, number>();
  const engine = await startEngine((key, p) => {
    // a progress event at most every 200 ms per task, and always the last
    const now = Date.now();
    if (p.done < p.total && now - (lastProgress.get(key) ?? 0) < 200) return;
    lastProgress.set(key, now);
    broadcast('progress', { task: key, ...p });
  });
  const state = new ServerState(o.root);
  const app: App = { o, engine, state, events };

  const server = createServer((req, res) => {
    handle(app, req, res).catch((err) => fail(res, err, o.onLog));
  });
  // live: a new or changed zoo is said to every open page
  let stamps = state.stamps();
  const poll = setInterval(() => {
    try {
      const next = state.stamps();
      const changed = [...new Set([...next.keys(), ...stamps.keys()])].filter(
        (name) => next.get(name) !== stamps.get(name),
      );
      stamps = next;
      if (changed.length) broadcast('zoos', { changed: changed.map((dir) => basename(dir)) });
    } catch (err) {
      o.onLog?.(`watching ${o.root}: ${(err as Error).message}`);
    }
  }, o.pollMs);
  const heartbeat = setInterval(() => {
    for (const res of events) res.write(': alive\n\n');
  }, 15_000);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new UserError(`port ${o.port} on ${o.host} is in use: choose another with {{port}}`)
          : err,
      ),
    );
    server.listen(o.port, o.host, resolve);
  });
  const port = (server.address() as { port: number }).port;
  app.port = port;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shown}:${port}/${o.token ? `?token=${encodeURIComponent(o.token)}` : ''}`,
    host: o.host,
    port,
    async close() {
      clearInterval(poll);
      clearInterval(heartbeat);
      for (const res of events) res.end();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await engine.close();
    },
  };
}

interface App {
  o: Required<Omit<ServeOptions, 'token' | 'onLog'>> & Pick<ServeOptions, 'token' | 'onLog'>;
  engine: Engine;
  state: ServerState;
  events: Set<ServerResponse>;
  port?: number;
}

/** The catalog, opened again whenever a zoo under the root appears, goes or commits. */
class ServerState {
  private catalogCache: { key: string; catalog: Catalog } | null = null;
  constructor(readonly root: string) {}

  stamps(): Map<string, string> {
    const out = new Map<string, string>();
    for (const dir of zooDirsUnder(this.root, { contained: true })) {
      try {
        out.set(dir, zooStamp(dir));
      } catch {
        // a zoo being written or removed: seen on the next look
      }
    }
    return out;
  }

  catalog(): Catalog {
    const key = JSON.stringify([...this.stamps()]);
    if (this.catalogCache?.key !== key) this.catalogCache = { key, catalog: catalogWithin(this.root) };
    return this.catalogCache.catalog;
  }

  /** After a write the catalog's cached tags are stale. */
  forget(): void {
    this.catalogCache = null;
  }

  zoo(name: string): CatalogZoo {
    const zoo = this.catalog().zoos.find((z) => z.name === name);
    if (!zoo) throw new HttpError(404, `no zoo '${name}' under the served root`);
    return zoo;
  }
}

async function handle(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { o } = app;
  const raw = req.url ?? '/';
  if (raw.length > 8192) throw new HttpError(414, 'request address too long');
  if (isLoopback(o.host) && !allowedHost(req.headers.host, app.port!))
    throw new HttpError(403, `refused: Host ${JSON.stringify(req.headers.host ?? '')} is not this server`);
  const url = new URL(raw, 'http://server');
  if (o.token) {
    const given = tokenOf(req, url);
    if (given === null || !sameSecret(given, o.token))
      throw new HttpError(
        401,
        'this server needs its token: open the address serve printed (with ?token=...)',
      );
    if (url.searchParams.has('token') && url.pathname === '/') {
      res.writeHead(303, {
        location: '/',
        'set-cookie': `weightspace_token=${encodeURIComponent(o.token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      res.end();
      return;
    }
  }
  const segments = pathSegments(raw);
  const method = req.method ?? 'GET';
  const path = '/' + segments.join('/');
  if (path === '/favicon.ico') {
    res.writeHead(204, SECURITY_HEADERS); // browsers ask for it whatever the page says
    res.end();
    return;
  }
  const asset = ASSETS[path];
  const script = SCRIPTS[path];
  if (asset || script) {
    if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not allowed here`);
    const body = asset ? readFileSync(new URL(`./assets/${asset.file}`, import.meta.url)) : script();
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': asset?.type ?? 'text/javascript; charset=utf-8',
      'cache-control': asset ? 'no-cache' : 'max-age=3600',
    });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }
  if (segments[0] !== 'api') throw new HttpError(404, `nothing at ${path}`);
  if (path === '/api/events') {
    openEvents(app, req, res);
    return;
  }
  const route = ROUTES.find((r) => r.method === method && r.path.test(path));
  if (!route) {
    const other = ROUTES.find((r) => r.path.test(path));
    throw new HttpError(
      other ? 405 : 404,
      other ? `${method} is not allowed on ${path}` : `nothing at ${path}`,
    );
  }
  const params = route.path.exec(path)!.slice(1);
  const result = await route.handle({ app, req, url, params });
  if (result instanceof Reply) {
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': result.type, ...result.headers });
    res.end(result.body);
    return;
  }
  sendJson(res, 200, result);
}

function allowedHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}

function tokenOf(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const cookie = /(?:^|;\s*)weightspace_token=([^;]*)/.exec(req.headers.cookie ?? '');
  if (cookie) {
    try {
      return decodeURIComponent(cookie[1]);
    } catch {
      return null;
    }
  }
  return url.searchParams.get('token');
}

function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The request path's segments, each decoded once. Refused: a `.` or `..` segment, written
 * plainly or encoded; an encoded slash, backslash or NUL; and anything still encoded after
 * one decoding (a double-encoded `..` that a later decoding would turn into a traversal).
 */
export function pathSegments(raw: string): string[] {
  const path = raw.split(/[?#]/)[0];
  if (!path.startsWith('/')) throw new HttpError(400, 'refused: the path must start with /');
  const segments = path.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  return segments.map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new HttpError(400, 'refused: the path is not valid percent-encoding');
    }
    if (decoded === '' || /^\.{1,2}$/.test(decoded) || /[/\\\0%]/.test(decoded) || decoded.includes('..'))
      throw new HttpError(400, 'refused: the path leaves the served root or is encoded twice');
    return decoded;
  });
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // no request may leave this server: scripts, styles, images and fetches are its own
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

/** Infinity and NaN as identify --json writes them, and typed arrays as arrays. */
const jsonValue = (key: string, value: unknown): unknown =>
  value instanceof Float32Array || value instanceof Float64Array
    ? Array.from(value)
    : jsonNumbers(key, value);

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) return res.end() as unknown as void;
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify(value, jsonValue));
}

function fail(res: ServerResponse, err: unknown, log?: (line: string) => void): void {
  const status = err instanceof HttpError ? err.status : isUserError(err) ? 400 : 500;
  const message = status === 500 ? `internal error: ${(err as Error).message}` : (err as Error).message;
  if (status === 500) log?.(`${message}\n${(err as Error).stack ?? ''}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: message, status });
}

function openEvents(app: App, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write(': connected\n\n');
  app.events.add(res);
  req.on('close', () => app.events.delete(res));
}

/** A non-JSON answer (CSV). */
class Reply {
  constructor(
    readonly body: string,
    readonly type: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

interface Context {
  app: App;
  req: IncomingMessage;
  url: URL;
  params: string[];
}

interface Route {
  method: 'GET' | 'POST';
  path: RegExp;
  handle(c: Context): Promise<unknown> | unknown;
}

const SEGMENT = '([^/]+)';
const route = (method: Route['method'], pattern: string, handle: Route['handle']): Route => ({
  method,
  path: new RegExp(`^${pattern.replaceAll(':name', SEGMENT)}$`),
  handle,
});

/** A query parameter that names a checkpoint (a reference of docs/vc.md, never a path). */
function refParam(url: URL, key: string): string {
  const value = url.searchParams.get(key);
  if (value === null || value === '')
    throw new HttpError(400, `give the checkpoint as ?${key}=ZOO:RUN@EPOCH`);
  if (!NAME.test(value))
    throw new HttpError(400, `'${value}' is not a reference (ZOO:RUN@EPOCH, a tag or a hash)`);
  return value;
}

function intParam(url: URL, key: string, fallback: number, min: number, max: number): number {
  const text = url.searchParams.get(key);
  if (text === null || text === '') return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new HttpError(400, `?${key}= must be a whole number from ${min} to ${max}, got '${text}'`);
  return v;
}

const ZOO_COLUMNS: (keyof ZooSummary)[] = [
  'name',
  'architecture',
  'origin',
  'runs',
  'epochs',
  'checkpoints',
  'weights',
  'bytes',
  'status',
  'parent',
  'updatedAt',
  'matches',
];

function csv(rows: ZooSummary[]): string {
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (
    [ZOO_COLUMNS.join(','), ...rows.map((r) => ZOO_COLUMNS.map((k) => cell(r[k])).join(','))].join('\n') +
    '\n'
  );
}

const tensorsOf = (zoo: CatalogZoo) =>
  zoo.manifest.architecture.params.map((p) => ({ name: p.name, shape: p.shape, size: p.size }));

const ROUTES: Route[] = [
  route('GET', '/api/zoos', ({ app, url }) => {
    const rows = zooSummaries(app.state.catalog(), url.searchParams.get('q') ?? undefined);
    if (url.searchParams.get('format') === 'csv')
      return new Reply(csv(rows), 'text/csv; charset=utf-8', {
        'content-disposition': 'attachment; filename="zoos.csv"',
      });
    return { root: app.o.root, zoos: rows };
  }),
  route('GET', '/api/zoos/:name', ({ app, params }) => {
    const zoo = app.state.zoo(params[0]);
    const net = networkOf(zoo.manifest.architecture, zoo.manifest.network);
    return {
      summary: zooSummary(zoo),
      curves: zooCurves(zoo),
      tags: listTags(app.state.catalog()).filter((t) => t.zoo === zoo.name),
      network: net,
      tensors: tensorsOf(zoo),
      report: readClusterReport(app.o.results, zoo.dir),
    };
  }),
  route('GET', '/api/zoos/:name/plane', ({ app, params, url }) => {
    const zoo = app.state.zoo(params[0]);
    const method = url.searchParams.get('method') ?? 'umap';
    if (method !== 'umap' && method !== 'svd')
      throw new HttpError(400, `?method= is umap or svd, got '${method}'`);
    return app.engine.ask(
      { kind: 'plane', dir: zoo.dir, method },
      { key: `plane ${method} ${zoo.name} ${zooStamp(zoo.dir)}`, keep: true },
    );
  }),
  route('GET', '/api/zoos/:name/stats', ({ app, params }) => {
    const zoo = app.state.zoo(params[0]);
    return app.engine.ask(
      { kind: 'stats', dir: zoo.dir },
      { key: `stats ${zoo.name} ${zooStamp(zoo.dir)}`, keep: true },
    );
  }),
  route('GET', '/api/zoos/:name/dendrogram', ({ app, params, url }) => {
    const zoo = app.state.zoo(params[0]);
    const info = zoo.info();
    const k = Math.min(intParam(url, 'svd', PLOT_DEFAULTS.svd, 1, 100_000), maxComponents(info.n, info.dim));
    const saved = savedClusterExports(info, zoo.dir, app.o.results, k);
    // no exports is a state of the zoo, not a failed request
    if (!saved)
      return {
        figure: null,
        runs: null,
        note: `no cluster exports of ${zoo.name}'s current checkpoints in ${app.o.results}/: npm run cluster -- --zoo ${zoo.dir} (or npm run plot) writes them`,
      };
    const runs = url.searchParams.get('runs')
      ? url.searchParams
          .get('runs')!
          .split(',')
          .map((t) => Number(t))
      : runsSpreadOverTree(saved.linkage, info.epochs, PLOT_DEFAULTS.dendrogramRuns);
    if (runs.length < 1 || runs.some((r) => !Number.isInteger(r) || r < 0 || r >= info.runs))
      throw new HttpError(400, `?runs= lists runs of ${zoo.name} (0-${info.runs - 1}), e.g. 0,3,7`);
    return {
      figure: runsDendrogram(saved.linkage, runs, {
        zooRuns: info.runs,
        title: `single linkage in ${saved.linkage.space}, runs ${runs.join(', ')}`,
      }),
      runs,
      note: null,
    };
  }),
  route('GET', '/api/zoos/:name/verify', ({ app, params }) => verifyZoo(app.state.zoo(params[0]).dir)),
  route('GET', '/api/zoos/:name/log', ({ app, params, url }) => {
    const zoo = app.state.zoo(params[0]);
    const run = url.searchParams.has('run') ? intParam(url, 'run', 0, 0, 1e9) : undefined;
    return zooLog(zoo, { run, limit: intParam(url, 'limit', 200, 1, 100_000) });
  }),
  route('GET', '/api/checkpoints/:name', ({ app, params }) => {
    const catalog = app.state.catalog();
    const ref = params[0];
    if (!NAME.test(ref)) throw new HttpError(400, `'${ref}' is not a reference`);
    const show = showCheckpoint(catalog, ref, { ancestors: true, descendants: true });
    const c = resolveCheckpoint(catalog, ref);
    return {
      show,
      log: zooLog(c.zoo, { run: c.run }),
      lineage: zooLineage(catalog, ref),
      network: networkOf(c.zoo.manifest.architecture, c.zoo.manifest.network),
      tensors: tensorsOf(c.zoo),
    };
  }),
  route('GET', '/api/diff', ({ app, url }) =>
    app.engine.ask({
      kind: 'diff',
      root: app.o.root,
      a: refParam(url, 'a'),
      b: refParam(url, 'b'),
      all: url.searchParams.get('all') === '1',
      testImages: intParam(url, 'images', 500, 0, 10_000),
    }),
  ),
  route('GET', '/api/predict', ({ app, url }) =>
    app.engine.ask({
      kind: 'predict',
      root: app.o.root,
      ref: refParam(url, 'ref'),
      count: intParam(url, 'count', 8, 1, 100),
      images: null,
    }),
  ),
  route('POST', '/api/predict', async ({ app, req, url }) => {
    const body = await readBody(req, 1 << 20, 'an image');
    let pixels: unknown;
    try {
      pixels = (JSON.parse(body.toString('utf8')) as { pixels?: unknown }).pixels;
    } catch {
      throw new HttpError(400, 'the image must be JSON: {"pixels": [values in 0..1, row by row]}');
    }
    if (!Array.isArray(pixels) || !pixels.every((v) => typeof v === 'number' && v >= 0 && v <= 1))
      throw new HttpError(400, 'the image must be JSON: {"pixels": [values in 0..1, row by row]}');
    return app.engine.ask({
      kind: 'predict',
      root: app.o.root,
      ref: refParam(url, 'ref'),
      count: 0,
      images: Float32Array.from(pixels as number[]),
    });
  }),
  route('GET', '/api/search', ({ app, url }) => {
    const q = url.searchParams.get('q') ?? '';
    if (!q.trim()) throw new HttpError(400, 'give a search expression as ?q=, e.g. epoch >= 5');
    return searchCatalog(app.state.catalog(), q, {
      sort: url.searchParams.get('sort') || undefined,
      desc: url.searchParams.get('desc') === '1',
      limit: intParam(url, 'limit', 500, 1, 100_000),
    });
  }),
  route('GET', '/api/lineage', ({ app, url }) => {
    const ref = url.searchParams.get('ref');
    return zooLineage(app.state.catalog(), ref ? refParam(url, 'ref') : undefined);
  }),
  route('POST', '/api/identify', async ({ app, req, url }) => {
    const files = uploadParts(url);
    const zooName = url.searchParams.get('zoo') || undefined;
    const zoo = zooName === undefined ? undefined : app.state.zoo(zooName).dir;
    const record = url.searchParams.get('record') === '1';
    const body = await readBody(req, app.o.uploadLimit, files.map((f) => f.name).join(' + '));
    const sizes = files.map((f) => f.size ?? body.length);
    const total = sizes.reduce((a, b) => a + b, 0);
    if (body.length === 0) throw new HttpError(400, `the upload of ${files[0].name} is empty`);
    if (total !== body.length)
      throw new HttpError(400, `the upload holds ${body.length} bytes, its parts say ${total}`);
    const folder = mkdtempSync(join(tmpdir(), 'weightspace-upload-'));
    try {
      let at = 0;
      files.forEach((f, i) => {
        writeFileSync(join(folder, f.name), body.subarray(at, at + sizes[i]));
        at += sizes[i];
      });
      const model = files.find((f) => f.name.endsWith('.json')) ?? files[0];
      const path = join(folder, model.name);
      const answer = await app.engine.ask({
        kind: 'identify',
        path,
        name: `upload:${model.name}`,
        zoo,
        zoos: [...app.state.stamps().keys()],
        record,
        top: intParam(url, 'top', 5, 1, 100),
      });
      if (record) app.state.forget();
      return answer;
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }),
  route('POST', '/api/tags', async ({ app, req }) => {
    const body = await readBody(req, 64 << 10, 'a tag');
    let tag: { ref?: unknown; name?: unknown; message?: unknown };
    try {
      tag = JSON.parse(body.toString('utf8')) as typeof tag;
    } catch {
      throw new HttpError(400, 'a tag is JSON: {"ref": "ZOO:RUN@EPOCH", "name": "...", "message": "..."}');
    }
    if (typeof tag.ref !== 'string' || !NAME.test(tag.ref) || typeof tag.name !== 'string')
      throw new HttpError(400, 'a tag is JSON: {"ref": "ZOO:RUN@EPOCH", "name": "...", "message": "..."}');
    const result = tagCheckpoint(app.state.catalog(), tag.ref, tag.name, {
      note: typeof tag.message === 'string' ? tag.message : undefined,
    });
    app.state.forget();
    return result;
  }),
];

/** The request's body, refused past `limit` bytes (the rest is read and dropped, the connection then closed). */
function readBody(req: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const tooLarge = (bytes: number | string) =>
    new HttpError(
      413,
      `${what} is too large: ${bytes} bytes, over the server's limit of ${limit} bytes (start serve with a larger --upload-limit)`,
    );
  const declared = Number(req.headers['content-length'] ?? NaN);
  return new Promise((resolve, reject) => {
    if (declared > limit) {
      req.resume();
      req.on('end', () => reject(tooLarge(declared)));
      req.on('error', () => reject(tooLarge(declared)));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total <= limit) chunks.push(chunk);
      else chunks.length = 0;
      if (total > 4 * limit) req.destroy(); // an endless upload ends here
    });
    req.on('end', () =>
      total > limit ? reject(tooLarge(`more than ${limit}`)) : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
  });
}
