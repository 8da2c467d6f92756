/** One zoo checkpoint written in a format other tools read (see readModel.ts for the formats). */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BUILT_IN_NETWORKS, networkProblem } from '../../core/network.ts';
import type { Zoo } from '../loadZoo.ts';
import { writeCheckpointFile, ZOO_METADATA_KEY } from '../checkpointFile.ts';
import { ZooError } from '../manifest.ts';
import { writeSafetensors } from './safetensors.ts';
import { writeTfjsModel } from './tfjsModel.ts';
import type { ModelFormat } from './readModel.ts';
import { zooRowIndex } from '../../core/zoo.ts';

/** Row of (run, epoch) in the zoo, with a clear error when it has none. */
export function zooRow(zoo: Zoo, run: number, epoch: number): number {
  if (!(run >= 0 && run < zoo.runs) || !(epoch >= 0 && epoch <= zoo.epochs)) {
    throw new ZooError(
      `${zoo.manifest.name} has runs 0-${zoo.runs - 1} and epochs 0-${zoo.epochs}; no run ${run} epoch ${epoch}`,
    );
  }
  return zooRowIndex(zoo.runs, run, epoch);
}

/** Refuses, before anything is written, an output that cannot be written or an architecture the format cannot hold. */
function checkOut(zoo: Zoo, format: ModelFormat, out: string): void {
  const arch = zoo.manifest.architecture;
  const builtIn = BUILT_IN_NETWORKS[arch.name];
  if (format === 'tfjs' && !(builtIn && networkProblem(builtIn, arch) === null))
    throw new ZooError(
      `tfjs export builds the built-in FFNN and CNN models only, and ${zoo.manifest.name} is ${arch.name}; export it as safetensors or arrow`,
    );
  const kind = (path: string) =>
    existsSync(path) ? (statSync(path).isDirectory() ? 'folder' : 'file') : null;
  if (format !== 'tfjs' && kind(out) === 'folder')
    throw new ZooError(`the output ${out} is a folder; give a file path, e.g. ${out}/model.${format}`);
  if (format === 'tfjs' && kind(out) === 'file')
    throw new ZooError(`the output ${out} is a file; tfjs export writes a folder (model.json + weights.bin)`);
  // the nearest existing folder above must be a folder, or mkdir fails
  for (let dir = dirname(out); ; dir = dirname(dir)) {
    if (kind(dir) === 'file') throw new ZooError(`cannot write ${out}: ${dir} is a file, not a folder`);
    if (kind(dir) === 'folder' || dirname(dir) === dir) break;
  }
}

/**
 * Writes checkpoint (run, epoch) of the zoo to `out`: a .arrow or .safetensors file, or for
 * tfjs a folder with model.json and weights.bin.
 */
export async function exportModel(
  zoo: Zoo,
  run: number,
  epoch: number,
  format: ModelFormat,
  out: string,
): Promise<void> {
  const row = zooRow(zoo, run, epoch);
  checkOut(zoo, format, out);
  const d = zoo.dim;
  const weights = zoo.weights.slice(row * d, (row + 1) * d);
  const arch = zoo.manifest.architecture;
  const about = {
    zoo: zoo.manifest.name,
    arch: arch.name,
    run: String(run),
    seed: String(zoo.seed[row]),
    epoch: String(epoch),
    sha256: zoo.sha256[row],
  };
  mkdirSync(format === 'tfjs' ? out : dirname(out), { recursive: true });
  if (format === 'safetensors') writeSafetensors(out, arch, weights, about);
  else if (format === 'tfjs') await writeTfjsModel(out, arch, weights);
  else {
    const pick = <T extends { slice(a: number, b: number): T }>(a: T) => a.slice(row, row + 1);
    writeCheckpointFile(
      out,
      {
        size: d,
        run: pick(zoo.run),
        seed: pick(zoo.seed),
        epoch: pick(zoo.epoch),
        step: pick(zoo.step),
        trainLoss: pick(zoo.trainLoss),
        testLoss: pick(zoo.testLoss),
        testAccuracy: pick(zoo.testAccuracy),
        sha256: [zoo.sha256[row]],
        parentSha256: [epoch > 0 ? zoo.sha256[row - zoo.runs] : null],
        weights,
      },
      {
        [ZOO_METADATA_KEY]: JSON.stringify({
          name: zoo.manifest.name,
          config: zoo.manifest.config,
          architecture: arch,
        }),
      },
    );
  }
}
