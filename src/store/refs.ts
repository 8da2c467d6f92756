/**
 * References: the one grammar that names a checkpoint in every command (docs/vc.md):
 *
 *   ZOO:RUN@EPOCH   run RUN of zoo ZOO (a folder under the root) at epoch EPOCH   ffnn-default:7@10
 *   ZOO:RUN         that run's last epoch                                         ffnn-default:7
 *   ZOO:TAG         a tag of that zoo                                             ffnn-default:baseline
 *   TAG             a tag of one zoo under the root                               baseline
 *   HEX             a unique prefix (>= 6 hex digits) of a checkpoint's SHA-256   3fa9c2e1
 *   PATH            a model file (safetensors, tfjs model.json or folder, .npy, Arrow)
 *
 * An existing path wins over the other readings (where the catalog lets references name
 * files: the server's does not); then a tag; then a hash prefix. A reference
 * that names nothing, or more than one checkpoint, is refused with the candidates.
 */
import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.ts';
import { zooRow, zooRowIndex, type ZooRow } from '../core/zoo.ts';
import type { Catalog, CatalogZoo } from './catalog.ts';
import { zooShape, type ParentLink } from './manifest.ts';

/** One checkpoint of a zoo under the root. */
export interface CheckpointRef {
  zoo: CatalogZoo;
  run: number;
  epoch: number;
  row: ZooRow;
  sha256: string;
}

export type Resolved = { kind: 'checkpoint'; checkpoint: CheckpointRef } | { kind: 'file'; path: string };

export class RefError extends UserError {}

/** The shortest hash prefix references accept, as git's abbreviations. */
export const MIN_SHA_PREFIX = 6;

const listed = (names: string[], most = 8) =>
  names.length > most ? `${names.slice(0, most).join(', ')}, ... (${names.length} in all)` : names.join(', ');

/** The checkpoint or model file that `text` names under the catalog's root. */
export function resolveRef(catalog: Catalog, text: string): Resolved {
  const ref = text.trim();
  if (ref === '') throw new RefError('an empty reference names nothing; see docs/vc.md for the forms');
  if (catalog.files && existsSync(ref)) return { kind: 'file', path: ref };
  const qualified = /^([^:@]+):([^:@]+?)(?:@(\d+))?$/.exec(ref);
  if (qualified) {
    const zoo = zooNamed(catalog, qualified[1]);
    const [what, epoch] = [qualified[2], qualified[3]];
    if (/^\d+$/.test(what))
      return { kind: 'checkpoint', checkpoint: runCheckpoint(zoo, Number(what), epoch) };
    if (epoch !== undefined)
      throw new RefError(`'${ref}': @EPOCH follows a run number (ZOO:RUN@EPOCH), not '${what}'`);
    const tag = zoo.tags()[what];
    if (!tag)
      throw new RefError(
        `${zoo.name} has no run or tag '${what}' (runs 0-${zooShape(zoo.manifest).runs - 1}${tagList(zoo)})`,
      );
    return { kind: 'checkpoint', checkpoint: bySha(catalog, tag.sha256, [zoo])[0] };
  }
  const tagged = catalog.zoos.filter((z) => z.tags()[ref]);
  if (tagged.length > 1)
    throw new RefError(
      `tag '${ref}' is in ${tagged.length} zoos; name one: ${tagged.map((z) => `${z.name}:${ref}`).join(', ')}`,
    );
  if (tagged.length === 1)
    return { kind: 'checkpoint', checkpoint: bySha(catalog, tagged[0].tags()[ref].sha256, tagged)[0] };
  if (/^[0-9a-f]+$/i.test(ref)) {
    if (ref.length < MIN_SHA_PREFIX)
      throw new RefError(
        `'${ref}' is too short for a hash prefix: give at least ${MIN_SHA_PREFIX} hex digits`,
      );
    const found = bySha(catalog, ref.toLowerCase());
    if (found.length === 0)
      throw new RefError(`no checkpoint under ${catalog.root} has a SHA-256 starting ${ref}`);
    const distinct = new Set(found.map((c) => c.sha256));
    if (distinct.size > 1)
      throw new RefError(
        `hash prefix ${ref} is ambiguous: ${listed(found.map((c) => `${c.sha256.slice(0, 12)} (${describeRef(c)})`))}; give more digits`,
      );
    return { kind: 'checkpoint', checkpoint: found[0] };
  }
  throw new RefError(
    `'${ref}' names no file, tag or hash under ${catalog.root}; a checkpoint is ZOO:RUN@EPOCH, ZOO:RUN, a tag, a hash prefix or a model file (zoos: ${listed(catalog.zoos.map((z) => z.name))})`,
  );
}

/** A reference that must name a checkpoint of a zoo under the root (not a model file). */
export function resolveCheckpoint(catalog: Catalog, text: string): CheckpointRef {
  const resolved = resolveRef(catalog, text);
  if (resolved.kind === 'file')
    throw new RefError(`${text} is a model file, not a checkpoint of a zoo under ${catalog.root}`);
  return resolved.checkpoint;
}

/** What a manifest records of a run's parent (origin.parent): the checkpoint `text` names. */
export function parentLink(catalog: Catalog, text: string): ParentLink {
  const c = resolveCheckpoint(catalog, text);
  return { zoo: c.zoo.name, ref: describeRef(c), sha256: c.sha256 };
}

/** `zoo:run@epoch`, the canonical reference of a checkpoint. */
export const describeRef = (c: Pick<CheckpointRef, 'zoo' | 'run' | 'epoch'>): string =>
  `${c.zoo.name}:${c.run}@${c.epoch}`;

function zooNamed(catalog: Catalog, name: string): CatalogZoo {
  const zoo = catalog.zoos.find((z) => z.name === name);
  if (!zoo)
    throw new RefError(
      `no zoo '${name}' under ${catalog.root} (zoos: ${listed(catalog.zoos.map((z) => z.name))})`,
    );
  return zoo;
}

/** Run `run` of the zoo at `epoch` (default: the last). */
export function runCheckpoint(zoo: CatalogZoo, run: number, epochText?: string): CheckpointRef {
  const { runs } = zooShape(zoo.manifest);
  const last = zoo.manifest.epochsCompleted;
  if (!(run < runs)) throw new RefError(`${zoo.name} has no run ${run} (runs 0-${runs - 1})`);
  const epoch = epochText === undefined ? last : Number(epochText);
  if (!(epoch <= last)) throw new RefError(`${zoo.name}:${run} has no epoch ${epoch} (epochs 0-${last})`);
  const row = zooRowIndex(runs, run, epoch);
  return { zoo, run, epoch, row, sha256: zoo.info().sha256[row] };
}

/** The checkpoints whose SHA-256 starts with `prefix`, in the given zoos (default: all). */
function bySha(catalog: Catalog, prefix: string, zoos = catalog.zoos): CheckpointRef[] {
  const found: CheckpointRef[] = [];
  for (const zoo of zoos) {
    const info = zoo.info();
    info.sha256.forEach((sha, row) => {
      if (sha.startsWith(prefix))
        found.push({ zoo, run: info.run[row], epoch: info.epoch[row], row: zooRow(row), sha256: sha });
    });
  }
  if (found.length === 0 && prefix.length === 64)
    throw new RefError(
      `no checkpoint under ${catalog.root} has SHA-256 ${prefix} (a tag naming it is damaged)`,
    );
  return found;
}

const tagList = (zoo: CatalogZoo) => {
  const names = Object.keys(zoo.tags());
  return names.length ? `; tags: ${listed(names)}` : '';
};
