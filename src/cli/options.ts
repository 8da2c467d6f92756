/**
 * Each command's options as one declarative table, written once: the help text, the parser
 * (node:util parseArgs) and the checked, typed values all come from it. A bad value is a
 * UserError naming the option and what it accepts (one line, exit code 2; cli/common.ts).
 */
import { parseArgs } from 'node:util';
import { UserError } from '../core/errors.ts';

/** One option: how it reads in help, and how its text becomes a value of type V. */
export interface OptionSpec<V, HasDefault extends boolean = boolean> {
  /** Placeholder in help (N, DIR); absent for flags. */
  arg?: string;
  /** Help text; '\n' starts a continuation line. */
  help: string;
  /** Used when the option is absent, and shown in help as "(default: ...)". */
  default?: V;
  /** Shown in help when the default is decided elsewhere (by the library, by the machine). */
  defaultText?: string;
  short?: string;
  /** Text to value (absent for flags); throws a UserError on bad text. */
  parse?: (name: string, text: string) => V;
  /** Type-level only: whether the value can be undefined. */
  readonly hasDefault?: HasDefault;
}

/** A command's options by name. (Typed loosely so that each entry keeps its own value type.) */
export type OptionTable = Record<string, { help: string }>;
type Options = Record<string, OptionSpec<unknown>>;

/** The values a table parses to: options with a default (and flags) are never undefined. */
export type Values<O extends OptionTable> = {
  [K in keyof O]: O[K] extends OptionSpec<infer V, true>
    ? V
    : O[K] extends OptionSpec<infer V, false>
      ? V | undefined
      : never;
};

interface Common {
  arg?: string;
  help: string;
  defaultText?: string;
}

/** An integer from min to max. */
export function int(spec: Common & { min: number; max?: number; default: number }): OptionSpec<number, true>;
export function int(spec: Common & { min: number; max?: number }): OptionSpec<number, false>;
export function int(spec: Common & { min: number; max?: number; default?: number }): OptionSpec<number> {
  const max = spec.max ?? Number.MAX_SAFE_INTEGER;
  return { arg: 'N', ...spec, parse: (name, text) => parseInteger(name, text, spec.min, max) };
}

/** A non-negative real number. */
export function real(spec: Common & { default?: number }): OptionSpec<number, false> {
  return {
    arg: 'X',
    ...spec,
    parse: (name, text) => {
      const v = Number(text);
      if (text.trim() === '' || !Number.isFinite(v) || v < 0)
        throw new UserError(`--${name} must be a non-negative number, got '${text}'`);
      return v;
    },
  };
}

/** One of a fixed list of words. */
export function choice<T extends string>(
  spec: Common & { choices: readonly T[]; default: T },
): OptionSpec<T, true>;
export function choice<T extends string>(spec: Common & { choices: readonly T[] }): OptionSpec<T, false>;
export function choice<T extends string>(
  spec: Common & { choices: readonly T[]; default?: T },
): OptionSpec<T> {
  return {
    ...spec,
    parse: (name, text) => {
      if (!spec.choices.includes(text as T))
        throw new UserError(`--${name} must be one of ${spec.choices.join(', ')}, got '${text}'`);
      return text as T;
    },
  };
}

/** Free text (a path, a name, a list the command reads itself). */
export function text(
  spec: Common & { default: string; short?: string; check?: (name: string, text: string) => void },
): OptionSpec<string, true>;
export function text(
  spec: Common & { short?: string; check?: (name: string, text: string) => void },
): OptionSpec<string, false>;
export function text(
  spec: Common & { default?: string; short?: string; check?: (name: string, text: string) => void },
): OptionSpec<string> {
  return {
    ...spec,
    parse: (name, value) => {
      spec.check?.(name, value);
      return value;
    },
  };
}

/** A switch: true when given. */
export function flag(spec: Common & { short?: string }): OptionSpec<boolean, true> {
  return { ...spec, default: false };
}

/** Parses an integer from min to max, or throws the one-line error the CLI shows. */
export function parseInteger(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || v < min || v > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? `a whole number of ${min} or more`
        : `a whole number from ${min} to ${max}`;
    throw new UserError(`--${name} must be ${range}, got '${text}'`);
  }
  return v;
}

/**
 * Parses argv by the table. A value that starts with '-' (`--seeds -1`) is taken as the
 * option's value, so that its range check answers rather than parseArgs' "ambiguous"; an
 * unknown option is refused with the nearest known one.
 */
export function parseOptions<O extends OptionTable>(
  table: O,
  argv: string[],
  allowPositionals: boolean,
): { values: Values<O> & { help: boolean }; positionals: string[] } {
  const specs = table as Options;
  const config = Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [
      name,
      { type: spec.parse ? 'string' : 'boolean', ...(spec.short && { short: spec.short }) } as const,
    ]),
  );
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [arg, next] = [argv[i], argv[i + 1]];
    const takesValue = arg.startsWith('--') && !arg.includes('=') && specs[arg.slice(2)]?.parse;
    if (takesValue && next !== undefined && /^-\.?\d/.test(next)) args.push(`${arg}=${argv[++i]}`);
    else args.push(arg);
  }
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...config, help: { type: 'boolean', short: 'h' } },
      allowPositionals,
      strict: true,
    });
  } catch (err) {
    const unknown = /Unknown option '(-{1,2})([^']+)'/.exec((err as Error).message);
    if (!unknown) throw err;
    const near = nearestName(unknown[2], Object.keys(specs));
    throw new UserError(
      `unknown option '${unknown[1]}${unknown[2]}'${near ? `; did you mean --${near}?` : ''} (--help lists the options)`,
    );
  }
  const raw = parsed.values as Record<string, string | boolean | undefined>;
  const values: Record<string, unknown> = { help: raw.help ?? false };
  for (const [name, spec] of Object.entries(specs)) {
    const given = raw[name];
    values[name] =
      given === undefined ? spec.default : spec.parse ? spec.parse(name, given as string) : given;
  }
  return { values: values as Values<O> & { help: boolean }, positionals: parsed.positionals };
}

/** The known name nearest to a mistyped one (a prefix either way, or at most two edits), or null. */
export function nearestName(typed: string, names: string[]): string | null {
  const scored = names.map((name) => ({
    name,
    d: name.startsWith(typed) || typed.startsWith(name) ? 0.5 : editDistance(typed, name),
  }));
  const best = scored.sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.min(2, Math.floor(typed.length / 2)) ? best.name : null;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The "Options:" block of a help text, one option a line (continuations indented). */
export function optionsHelp(table: OptionTable): string {
  const rows: [string, string][] = Object.entries(table as Options).map(([name, spec]) => {
    const label = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.parse && spec.arg ? ` ${spec.arg}` : ''}`;
    const shown =
      spec.defaultText ??
      (spec.default !== undefined && spec.default !== false ? String(spec.default) : undefined);
    return [label, spec.help + (shown !== undefined ? ` (default: ${shown})` : '')];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows
    .map(([label, help]) => `  ${label.padEnd(width)}${help.split('\n').join(`\n  ${' '.repeat(width)}`)}`)
    .join('\n');
}
