/** One zoo checkpoint written in a format other tools read (see readModel.ts for the formats). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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
