/** Worker thread of clusterSweep: runs one (zoo, space) analysis per message. */
import { serveJobs } from '../util/workerPool.ts';
import { runSpaceJob } from './spaceJob.ts';

serveJobs(runSpaceJob);
