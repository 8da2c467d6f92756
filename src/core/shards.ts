/**
 * Sharding a zoo across machines: shard I of N trains a contiguous block of the zoo's runs
 * (runs floor(I*R/N) .. floor((I+1)*R/N)-1), so each shard is itself an ordinary zoo with a
 * narrower seed range, and the merged checkpoint files hold the runs in the same order as an
 * unsharded zoo. Contiguous blocks rather than round-robin: a block is one `seedStart..`
 * range, which a ZooConfig already describes.
 */
import { option, UserError } from './errors.ts';
import type { ZooConfig } from './zooConfig.ts';

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export class ShardError extends UserError {}

/** Parses `I/N` (0 <= I < N). */
export function parseShard(text: string, origin = option('shard')): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ShardError(`${origin} must be I/N (shard I of N, counted from 0), got '${text}'`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index >= shard.count)
    throw new ShardError(
      `${origin} ${text}: the index must be from 0 to N-1 and N at least 1 (e.g. 0/4 .. 3/4)`,
    );
  return shard;
}

/**
 * The shard a scheduler assigned to this process, or null outside a job array:
 * Slurm job arrays (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT, so
 * `--array=1-4` works as well as `--array=0-3`) or Kubernetes Indexed Jobs
 * (JOB_COMPLETION_INDEX; the count, which Kubernetes does not export, from ZOO_SHARD_COUNT).
 */
export function shardFromEnv(
  env: Record<string, string | undefined>,
): { shard: Shard; source: string } | null {
  const int = (name: string): number => {
    const v = env[name]!;
    if (!/^\d+$/.test(v.trim())) throw new ShardError(`${name} must be a non-negative integer, got '${v}'`);
    return Number(v);
  };
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    if (env.SLURM_ARRAY_TASK_COUNT === undefined)
      throw new ShardError(
        `SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass ${option('shard')} I/N`,
      );
    const id = int('SLURM_ARRAY_TASK_ID');
    const min = env.SLURM_ARRAY_TASK_MIN !== undefined ? int('SLURM_ARRAY_TASK_MIN') : 0;
    const count = int('SLURM_ARRAY_TASK_COUNT');
    const step = env.SLURM_ARRAY_TASK_STEP !== undefined ? int('SLURM_ARRAY_TASK_STEP') : 1;
    if (step !== 1 || id - min >= count || id < min)
      throw new ShardError(
        `the Slurm array must be one contiguous range (e.g. --array=0-${count - 1}); task ${id} of ${count} from ${min} step ${step} is not`,
      );
    return {
      shard: { index: id - min, count },
      source: `SLURM_ARRAY_TASK_ID ${id} of SLURM_ARRAY_TASK_COUNT ${count}`,
    };
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    if (env.ZOO_SHARD_COUNT === undefined)
      throw new ShardError(
        `JOB_COMPLETION_INDEX is set but the shard count is not: set ZOO_SHARD_COUNT to the Job's completions, or pass ${option('shard')} I/N`,
      );
    const index = int('JOB_COMPLETION_INDEX');
    const count = int('ZOO_SHARD_COUNT');
    return {
      shard: parseShard(`${index}/${count}`, 'JOB_COMPLETION_INDEX/ZOO_SHARD_COUNT'),
      source: `JOB_COMPLETION_INDEX ${index} of ZOO_SHARD_COUNT ${count}`,
    };
  }
  return null;
}

/** The zoo's runs that shard `shard` trains: [first, end). */
export function shardRuns(runs: number, shard: Shard): [number, number] {
  return [
    Math.floor((shard.index * runs) / shard.count),
    Math.floor(((shard.index + 1) * runs) / shard.count),
  ];
}

/** The config of shard `shard` of a zoo: the same zoo, narrowed to the shard's seeds. */
export function shardConfig(config: ZooConfig, shard: Shard): ZooConfig {
  if (shard.count > config.seedCount)
    throw new ShardError(
      `${shard.count} shards of a zoo of ${config.seedCount} runs would leave some empty; use at most ${config.seedCount} shards`,
    );
  const [first, end] = shardRuns(config.seedCount, shard);
  return { ...config, seedStart: config.seedStart + first, seedCount: end - first };
}
