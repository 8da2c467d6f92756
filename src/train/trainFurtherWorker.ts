/** Worker thread: runs further-training jobs (trainFurther.ts's trainFurtherJobs). */
import { serveJobs } from '../util/workerPool.ts';
import { continueTraining, type FurtherJob } from './continueTraining.ts';

serveJobs<FurtherJob, Float32Array[][]>((job) => continueTraining(job));
