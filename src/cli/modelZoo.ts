/**
 * Which zoo a model file belongs with: the one given with --zoo when the file fits it, else
 * the zoo under zoo/ whose architecture it fits. identify searches that zoo; eval runs the
 * file with that zoo's network.
 */
import { existsSync } from 'node:fs';
import { ARCHITECTURES, type Architecture } from '../core/architectures.ts';
import { CheckpointFileError } from '../store/checkpointFile.ts';
import { modelFormat, PickCheckpointError, readModel } from '../store/formats/readModel.ts';
import { readManifest } from '../store/manifest.ts';
import { DEFAULT_DIRS, zooDirFor } from '../store/paths.ts';
import { findZoos, UserError } from './common.ts';

/**
 * The zoo to search: --zoo when the checkpoint fits its architecture; without --zoo, the zoo
 * under zoo/ whose architecture it fits (imported zoos too), <arch>-default first. A
 * checkpoint that fits another zoo than the one given is refused naming that zoo.
 */
export function chooseZoo(path: string, pick: { run?: number; epoch?: number }, given?: string): string {
  modelFormat(path); // a missing file, an unknown format or a pickle is said as such
  if (given) {
    const { architecture } = readManifest(given);
    try {
      readModel(path, architecture, pick);
      return given;
    } catch (err) {
      if (!(err instanceof CheckpointFileError) || err instanceof PickCheckpointError) throw err;
      const other = fittingZoos(path, pick).find((z) => z.dir !== given);
      if (other)
        throw new UserError(
          `${path} does not fit ${given} (${err.template}); it is a ${other.arch} checkpoint: try --zoo ${other.dir}`,
        );
      throw err;
    }
  }
  const fits = fittingZoos(path, pick);
  if (fits.length) {
    const chosen = fits.find((z) => z.dir === zooDirFor(DEFAULT_DIRS.zoos, z.arch, 'default')) ?? fits[0];
    if (fits.length > 1)
      process.stderr.write(
        `note: ${path} fits ${fits.map((z) => z.dir).join(', ')}; searching ${chosen.dir} (choose with --zoo)\n`,
      );
    return chosen.dir;
  }
  const builtIn = Object.values(ARCHITECTURES).find((arch) => fitsArchitecture(path, arch, pick));
  if (builtIn)
    throw new UserError(
      `${path} is a ${builtIn.name} checkpoint and no zoo under ${DEFAULT_DIRS.zoos}/ holds ${builtIn.name} models: build one (npm run zoo -- --arch ${builtIn.name}) or give the zoo with --zoo DIR`,
    );
  throw new UserError(
    `${path} fits no zoo under ${DEFAULT_DIRS.zoos}/ and neither built-in architecture; give the zoo of its models with --zoo DIR (npm run import makes one from checkpoints trained elsewhere)`,
  );
}

/**
 * The zoos under zoo/ whose architecture the checkpoint fits (a file that needs --run/--epoch
 * throws). The file is read once per distinct architecture, not once per zoo.
 */
function fittingZoos(path: string, pick: { run?: number; epoch?: number }): { dir: string; arch: string }[] {
  if (!existsSync(DEFAULT_DIRS.zoos)) return [];
  let dirs: string[];
  try {
    dirs = findZoos(DEFAULT_DIRS.zoos);
  } catch {
    return [];
  }
  const zoos = dirs.map((dir) => ({ dir, architecture: readManifest(dir).architecture }));
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
