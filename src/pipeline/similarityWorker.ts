/** Worker thread: rows of a bag's pairwise or reference similarities (provenance.ts's pairSimilarityRows, referenceSimilarityRows). */
import { pairSimilarityRows, referenceSimilarityRows, type SharedView } from '../identify/provenance.ts';
import { serveJobs } from '../util/workerPool.ts';

export interface SimilarityJob {
  view: SharedView;
  /** Models at canonical scale in the shared layout, one after another (a SharedArrayBuffer). */
  models: Float32Array;
  n: number;
  /** References likewise, or null for the pairs. */
  references: Float32Array | null;
  from: number;
  to: number;
}

serveJobs<SimilarityJob, Float64Array>((job) =>
  job.references
    ? referenceSimilarityRows(job.view, job.models, job.references, job.from, job.to)
    : pairSimilarityRows(job.view, job.models, job.n, job.from, job.to),
);
