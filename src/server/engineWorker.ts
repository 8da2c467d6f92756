/**
 * The server's worker thread: the long work (placing a zoo's checkpoints, weight statistics,
 * identify, diff, predictions) runs here, one request at a time, so that the server keeps
 * answering pages and live events meanwhile. It keeps identify's indexes between requests.
 * Every answer is plain data (structured clone), the same the library functions return.
 */
import type { ZooIndex } from '../identify/zooIndex.ts';
import { catalogWithin, type EngineRequest } from './engineTypes.ts';
import { predictCheckpoint, weightStatistics, zooPlane } from '../pipeline/dashboard.ts';
import { diffCheckpoints } from '../pipeline/diff.ts';
import { identifyFile } from '../pipeline/identifyFile.ts';
import { runDescription } from '../store/manifest.ts';
import { resolveCheckpoint } from '../store/refs.ts';
import { serveJobs } from '../util/workerPool.ts';
import { basename } from 'node:path';

const indexes = new Map<string, ZooIndex>();

export type EngineProgress = { step: string; done: number; total: number };

serveJobs<EngineRequest, unknown, EngineProgress>((request, progress) => {
  const onProgress = (step: string, done: number, total: number) => progress({ step, done, total });
  switch (request.kind) {
    case 'plane':
      return zooPlane(request.dir, { method: request.method, onProgress });
    case 'stats':
      return weightStatistics(request.dir);
    case 'predict': {
      const catalog = catalogWithin(request.root);
      const c = resolveCheckpoint(catalog, request.ref);
      return predictCheckpoint(c, request.images ? { images: request.images } : { count: request.count });
    }
    case 'diff':
      return diffCheckpoints(catalogWithin(request.root), request.a, request.b, {
        all: request.all,
        testImages: request.testImages,
      });
    case 'identify': {
      const notes: string[] = [];
      const found = identifyFile(request.path, {
        zoo: request.zoo,
        zoos: request.zoos,
        record: request.record,
        name: request.name,
        top: request.top,
        cache: indexes,
        save: false,
        onProgress,
        onNote: (message) => notes.push(message),
      });
      const manifest = found.index.zoo.manifest;
      return {
        file: request.name,
        zoo: basename(found.zooDir),
        description: found.description.replace(request.path, request.name),
        sha256: found.sha256,
        ...found.result,
        runLabel: runDescription(manifest, found.result.run),
        runs: found.index.trajectories.length,
        epochs: found.index.zoo.epochs,
        milliseconds: found.milliseconds,
        recorded: found.recorded,
        notes,
      };
    }
  }
});
