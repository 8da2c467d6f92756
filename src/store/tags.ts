/**
 * Tags: names for checkpoints, like `git tag` (release, baseline), kept in the zoo's tags.json
 * by the checkpoint's SHA-256, so a tag survives moving the folder and merging shards. The
 * file is replaced whole (written beside, then renamed), so a tag appears whole or not at all;
 * writers hold the zoo's lock.
 *
 *   { "format": "weightspace-tags/1", "tags": { "baseline": { "sha256": "...", "note": "...", "createdAt": "..." } } }
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { option, UserError } from '../core/errors.ts';
import { writeFileAtomic } from './atomicWrite.ts';
import { TAGS_FILE } from './zooLayout.ts';
import { withZooLockSync } from './zooLock.ts';

export const TAGS_FORMAT = 'weightspace-tags/1';

export interface Tag {
  /** The checkpoint's SHA-256 (of its weights). */
  sha256: string;
  /** A note given with the tag (`-m`), or ''. */
  note: string;
  createdAt: string;
}

export type Tags = Record<string, Tag>;

export class TagError extends UserError {}

/** What a tag name may be: not a reference of another kind (no ':' or '@', not a path, not all hex). */
const NAME = /^[A-Za-z][A-Za-z0-9._+-]*$/;

/** Checks a tag name; the reason it is refused, or null. */
export function tagNameProblem(name: string): string | null {
  if (!NAME.test(name))
    return `a tag name starts with a letter and holds letters, digits and . _ + - only (no ':' or '@', which references use), got '${name}'`;
  if (/^[0-9a-f]+$/i.test(name))
    return `'${name}' reads as a SHA-256 prefix; choose a name that is not all hex digits`;
  return null;
}

/** The tags of the zoo in `dir` ({} when it has none). */
export function readTags(dir: string): Tags {
  const path = join(dir, TAGS_FILE);
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TagError(`${path} is not JSON (${(err as Error).message}); the tags file is damaged`);
  }
  const p = parsed as { format?: unknown; tags?: unknown };
  if (p?.format !== TAGS_FORMAT || typeof p.tags !== 'object' || p.tags === null)
    throw new TagError(`${path} is not a ${TAGS_FORMAT} file; the tags file is damaged`);
  for (const [name, tag] of Object.entries(p.tags as Record<string, Partial<Tag>>)) {
    if (typeof tag?.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(tag.sha256) || typeof tag.note !== 'string')
      throw new TagError(`${path}: tag '${name}' has no valid sha256 and note; the tags file is damaged`);
  }
  return p.tags as Tags;
}

/** The stages of a tags write, for crash tests: the temp file complete (not yet renamed), then renamed into place. */
export type TagWriteObserver = (stage: 'tmp-written' | 'done') => void;

function writeTags(dir: string, tags: Tags, onWrite?: TagWriteObserver): void {
  const sorted = Object.fromEntries(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b)));
  const text = JSON.stringify({ format: TAGS_FORMAT, tags: sorted }, null, 2) + '\n';
  writeFileAtomic(join(dir, TAGS_FILE), text, () => onWrite?.('tmp-written'));
  onWrite?.('done');
}

/** Adds tag `name` for the checkpoint `sha256` of the zoo in `dir`; refuses a name already used (`force` moves it). */
export function addTag(
  dir: string,
  name: string,
  sha256: string,
  options: { note?: string; force?: boolean; now?: Date; onWrite?: TagWriteObserver } = {},
): Tag {
  const problem = tagNameProblem(name);
  if (problem) throw new TagError(problem);
  return withZooLockSync(dir, 'tag again when it is done', () => {
    const tags = readTags(dir);
    const old = tags[name];
    if (old && !options.force)
      throw new TagError(
        `tag '${name}' already names ${old.sha256.slice(0, 12)} in ${dir}; delete it first, or pass ${option('force')} to move it`,
      );
    const tag = { sha256, note: options.note ?? '', createdAt: (options.now ?? new Date()).toISOString() };
    writeTags(dir, { ...tags, [name]: tag }, options.onWrite);
    return tag;
  });
}

/** Deletes tag `name` of the zoo in `dir`; returns the tag it named. */
export function deleteTag(dir: string, name: string, options: { onWrite?: TagWriteObserver } = {}): Tag {
  return withZooLockSync(dir, 'delete the tag when it is done', () => {
    const tags = readTags(dir);
    const tag = tags[name];
    if (!tag) {
      const known = Object.keys(tags);
      throw new TagError(
        `${dir} has no tag '${name}'${known.length ? ` (its tags: ${known.join(', ')})` : ' (it has no tags)'}`,
      );
    }
    const { [name]: _gone, ...rest } = tags;
    writeTags(dir, rest, options.onWrite);
    return tag;
  });
}
