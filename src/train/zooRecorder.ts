/**
 * A TensorFlow.js callback that records a model's weights into a zoo while `model.fit`
 * trains it: the initial weights as epoch 0, then one checkpoint every epoch (or every N
 * batches), with the logs' metrics. Each run of a zoo is one model trained with its own
 * recorder (`run`); all write through a ZooWriter, so an epoch enters the zoo once every run
 * has reached it.
 *
 *   await model.fit(x, y, { epochs: 8, callbacks: [zooRecorder({ zoo: 'zoo/my-mlp', run: 3, runs: 10 })] });
 */
import * as tf from '@tensorflow/tfjs';
import type { RecordedTraining, RunInfo } from '../store/manifest.ts';
import { tfjsArchitecture, tfjsNetwork } from '../store/formats/tfjsNetwork.ts';
import { ZooWriter } from '../store/zooWriter.ts';
import { openCatalog } from '../store/catalog.ts';
import { parentLink } from '../store/refs.ts';
import { dirname, resolve } from 'node:path';

export interface ZooRecorderOptions {
  /** The zoo folder (created by the first recorder). */
  zoo: string;
  /** This model's run id, 0..runs-1. */
  run: number;
  /** How many runs the zoo will have. */
  runs: number;
  /** 'epoch' (default), or a number of batches between checkpoints. */
  every?: 'epoch' | number;
  /** The architecture's name (default 'tfjs-' and the layer classes, e.g. tfjs-Dense-Dense-Dense). */
  architecture?: string;
  tags?: RunInfo['tags'];
  note?: string;
  /**
   * The checkpoint this model was fine-tuned from, as a reference (docs/vc.md): recorded in
   * the manifest as the zoo's parent link, which `lineage` and `log` show.
   */
  parent?: string;
  /** Where `parent` resolves (default: the folder holding `zoo`, where its sibling zoos are). */
  root?: string;
}

/** The model's weights as one flat vector, in tfjsArchitecture's order. */
export function tfjsWeights(model: tf.LayersModel): Float32Array {
  const parts = model.layers.flatMap((layer) => layer.getWeights().map((t) => t.dataSync() as Float32Array));
  const flat = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    flat.set(p, at);
    at += p.length;
  }
  return flat;
}

/**
 * The training setup of a model being fitted: its optimizer and loss (model.compile) and the
 * batch size and samples of fit (the callback's params); null when a piece is not readable
 * (a loss given as a function, fit on a dataset without a batch size).
 */
export function recordedTraining(
  model: tf.LayersModel,
  params: Record<string, unknown>,
): RecordedTraining | null {
  const p = params as { batchSize?: unknown; samples?: unknown };
  const optimizer = model.optimizer;
  if (typeof model.loss !== 'string' || !optimizer) return null;
  if (!(Number.isInteger(p.batchSize) && Number.isInteger(p.samples))) return null;
  return {
    framework: 'tfjs',
    optimizer: {
      className: optimizer.getClassName(),
      config: optimizer.getConfig() as RecordedTraining['optimizer']['config'],
    },
    loss: model.loss,
    batchSize: p.batchSize as number,
    samples: p.samples as number,
  };
}

class ZooRecorder extends tf.Callback {
  private writer: ZooWriter | null = null;
  private epoch = 0;
  private batches = 0;

  constructor(private readonly options: ZooRecorderOptions) {
    super();
    const every = options.every ?? 'epoch';
    if (every !== 'epoch' && !(Number.isInteger(every) && every > 0))
      throw new RangeError(`every must be 'epoch' or a positive number of batches, got ${every}`);
  }

  private async record(logs?: tf.Logs): Promise<void> {
    const { zoo, run, runs, architecture, tags, note, parent } = this.options;
    const training = recordedTraining(this.model, this.params);
    this.writer ??= await ZooWriter.open(zoo, tfjsArchitecture(this.model, architecture), {
      runs,
      ...(parent !== undefined && {
        parent: parentLink(openCatalog(this.options.root ?? dirname(resolve(zoo))), parent),
      }),
      network: tfjsNetwork(this.model).network ?? undefined,
      runInfo: { [run]: { ...(tags && { tags }), ...(note && { note }), ...(training && { training }) } },
    });
    // tfjs may hand over a metric as a scalar tensor rather than a number
    const value = (v: unknown) => (v instanceof tf.Tensor ? (v.dataSync()[0] as number) : v);
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(logs ?? {}))
      if (typeof value(v) === 'number') metrics[k] = value(v) as number;
    await this.writer.append({
      run,
      epoch: this.epoch++,
      step: this.batches,
      weights: tfjsWeights(this.model),
      metrics,
    });
  }

  override async onTrainBegin(): Promise<void> {
    if (this.epoch === 0) await this.record();
  }

  override async onBatchEnd(_batch: number, logs?: tf.Logs): Promise<void> {
    this.batches++;
    const every = this.options.every ?? 'epoch';
    if (every !== 'epoch' && this.batches % every === 0) await this.record(logs);
  }

  override async onEpochEnd(_epoch: number, logs?: tf.Logs): Promise<void> {
    if ((this.options.every ?? 'epoch') === 'epoch') await this.record(logs);
  }

  override async onTrainEnd(): Promise<void> {
    await this.writer?.close();
  }
}

/** A `model.fit` callback that records checkpoints of run `run` into the zoo `zoo`. */
export function zooRecorder(options: ZooRecorderOptions): tf.Callback {
  return new ZooRecorder(options);
}
