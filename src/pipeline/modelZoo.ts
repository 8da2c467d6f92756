/**
 * Which zoo a model file belongs with: the one given (option `zoo`) when the file fits it,
 * else the zoo under the root whose architecture it fits. identify searches that zoo; eval
 * runs the file with that zoo's network.
 */
import { ARCHITECTURES, type Architecture } from '../core/architectures.ts';
import { option, UserError } from '../core/errors.ts';
import { zooDirsUnder } from '../store/catalog.ts';
import { CheckpointFileError } from '../store/checkpointFile.ts';
import { modelFormat, PickCheckpointError, readModel } from '../store/formats/readModel.ts';
import { readManifest } from '../store/manifest.ts';
import { DEFAULT_DIRS, zooDirFor } from '../store/paths.ts';

export interface ChooseZooOptions {
  /** The zoo the caller named (the CLI's --zoo). */
  zoo?: string;
  /** Where to look for a zoo when none is named (default zoo/). */
  root?: string;
  /** The zoos to choose among (default: those under the root). */
  zoos?: string[];
  /** A remark for the user: the file fits several zoos. */
  onNote?: (message: string) => void;
}

/**
 * The zoo to search: the one named when the checkpoint fits its architecture; else the zoo
 * under the root whose architecture it fits (imported zoos too), <arch>-default first. A
 * checkpoint that fits another zoo than the one named is refused naming that zoo.
 */
export function chooseZoo(
  path: string,
  pick: { run?: number; epoch?: number },
  options: ChooseZooOptions = {},
): string {
  const given = options.zoo;
  const root = options.root ?? DEFAULT_DIRS.zoos;
  modelFormat(path); // a missing file, an unknown format or a pickle is said as such
  if (given) {
    const { architecture } = readManifest(given);
    try {
      readModel(path, architecture, pick);
      return given;
    } catch (err) {
      if (!(err instanceof CheckpointFileError) || err instanceof PickCheckpointError) throw err;
      const other = fittingZoos(options.zoos ?? zooDirsUnder(root), path, pick).find((z) => z.dir !== given);
      if (other)
        throw new UserError(
          `${path} does not fit ${given} (${err.template}); it is a ${other.arch} checkpoint: try ${option('zoo')} ${other.dir}`,
        );
      throw err;
    }
  }
  const fits = fittingZoos(options.zoos ?? zooDirsUnder(root), path, pick);
  if (fits.length) {
    const chosen = fits.find((z) => z.dir === zooDirFor(root, z.arch, 'default')) ?? fits[0];
    if (fits.length > 1)
      options.onNote?.(
        `${path} fits ${fits.map((z) => z.dir).join(', ')}; searching ${chosen.dir} (choose with ${option('zoo')})`,
      );
    return chosen.dir;
  }
  const builtIn = Object.values(ARCHITECTURES).find((arch) => fitsArchitecture(path, arch, pick));
  if (builtIn)
    throw new UserError(
      `${path} is a ${builtIn.name} checkpoint and no zoo under ${root}/ holds ${builtIn.name} models: build one (npm run zoo -- --arch ${builtIn.name}) or give the zoo with ${option('zoo')} DIR`,
    );
  throw new UserError(
    `${path} fits no zoo under ${root}/ and neither built-in architecture; give the zoo of its models with ${option('zoo')} DIR (npm run import makes one from checkpoints trained elsewhere)`,
  );
}

/**
 * The zoos whose architecture the checkpoint fits (a file that needs a run or
 * epoch picked throws). The file is read once per distinct architecture, not once per zoo.
 */
function fittingZoos(
  dirs: string[],
  path: string,
  pick: { run?: number; epoch?: number },
): { dir: string; arch: string }[] {
  const zoos = dirs.map((dir) => ({
    dir,
    architecture: readManifest(dir).architecture,
  }));
  const fits = new Map<string, boolean>();
  return zoos
    .filter(({ architecture }) => {
      const key = JSON.stringify(architecture);
      if (!fits.has(key)) fits.set(key, fitsArchitecture(path, architecture, pick));
      return fits.get(key);
    })
    .map((z) => ({ dir: z.dir, arch: z.architecture.name }));
}

function fitsArchitecture(path: string, arch: Architecture, pick: { run?: number; epoch?: number }): boolean {
  try {
    readModel(path, arch, pick);
    return true;
  } catch (err) {
    if (err instanceof CheckpointFileError && !(err instanceof PickCheckpointError)) return false;
    throw err;
  }
}
