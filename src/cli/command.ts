/**
 * A command of the CLI as data: its help text and options (one table, options.ts) and the
 * function that runs it. main.ts dispatches `weightspace <command>` (and `npm run <command>`)
 * to one of these.
 */
import { optionsHelp, parseOptions, type OptionTable, type Values } from './options.ts';
import { nameOptionsBy, runCli, UserError } from './common.ts';

export interface Command<O extends OptionTable> {
  name: string;
  /** What follows the command name in usage lines (default '[options]'); several lines allowed. */
  usage?: string[];
  /** Paragraphs between the usage and the options. */
  description: string;
  options: O;
  /** Accepts positional arguments (e.g. identify's checkpoint). */
  positionals?: boolean;
  /** Paragraphs after the options (outputs, exit codes). */
  after?: string;
  /** Commands run as `<name> <sub> ...` (e.g. `zoo merge`), each with its own options and help. */
  // any: each subcommand has its own option table
  subcommands?: Record<string, () => Promise<Command<any>>>;
  examples: string[];
  /**
   * How the command names library option fields that are not one flag of the same name (e.g.
   * `{ dir: '--out or --name' }`); others are named by their kebab-case flag when the command
   * has it, as is otherwise.
   */
  optionFlags?: Record<string, string>;
  /** Runs the command; a returned number becomes the exit code. */
  run(values: Values<O>, positionals: string[]): Promise<number | void> | number | void;
}

export const defineCommand = <O extends OptionTable>(command: Command<O>): Command<O> => command;

/** The full --help text of a command. */
export function commandHelp(command: Command<OptionTable>): string {
  const usage = command.usage ?? ['[options]'];
  const lines = usage.flatMap((u, i) => {
    const npmArgs = u.replace(/^(\S)/, '-- $1');
    return [
      `${i === 0 ? 'Usage:' : '      '} npm run ${command.name} ${npmArgs}`,
      `   or: npx weightspace ${command.name} ${u}`,
    ];
  });
  const sections = [
    lines.join('\n'),
    command.description.trim(),
    `Options:\n${optionsHelp(command.options)}`,
  ];
  if (command.after) sections.push(command.after.trim());
  if (command.examples.length)
    sections.push(`Examples:\n${command.examples.map((e) => `  ${e}`).join('\n')}`);
  return sections.join('\n\n') + '\n';
}

/** Parses argv by the command's table and runs it, with the CLI's error rule (common.ts). */
export async function runCommand(command: Command<OptionTable>, argv: string[]): Promise<void> {
  const sub = argv.length > 0 ? command.subcommands?.[argv[0]] : undefined;
  if (sub) return runCommand(await sub(), argv.slice(1));
  nameOptionsBy((field) => flagFor(command, field));
  return runCli(() => {
    refuseOptionsNpmKept(command, process.env);
    const { values, positionals } = parseOptions(command.options, argv, command.positionals ?? false);
    if (values.help) {
      process.stdout.write(commandHelp(command));
      return;
    }
    return command.run(values, positionals);
  });
}

/** The flag a command gives a library option field (`powerIterations` -> `--power-iterations`), or the field itself. */
export function flagFor(command: Command<OptionTable>, field: string): string {
  const shown = command.optionFlags?.[field];
  if (shown) return shown;
  const flag = field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return flag in command.options ? `--${flag}` : field;
}

/**
 * `npm run cluster --zoo x` (no `--`) hands --zoo to npm, which keeps it as its own config
 * (npm_config_zoo in the environment) and passes only `x` on: refuse, saying where the `--` goes.
 */
export function refuseOptionsNpmKept(command: Command<OptionTable>, env: NodeJS.ProcessEnv): void {
  if (env.npm_lifecycle_event !== command.name) return;
  const kept = Object.keys(command.options).filter(
    (name) => env[`npm_config_${name.replace(/-/g, '_')}`] !== undefined,
  );
  if (kept.length === 0) return;
  const shown = kept.map((name) => `--${name}`).join(' ');
  throw new UserError(
    `npm kept ${shown} for itself: put -- before the command's options, as in npm run ${command.name} -- ${shown} ...`,
  );
}
