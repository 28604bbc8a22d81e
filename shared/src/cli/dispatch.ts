// The one command-line convention of every edgefleet program (docs/cli.md):
// find the command from its words, parse its options strictly with node:util
// parseArgs, print --help (exit 0), and report a bad command line as
// `error [BAD_REQUEST]: ...` with the usage (exit 2) and a failure as
// `error [CODE]: message` (exit 1).
import { parseArgs } from 'node:util';
import { toAppError } from '../errors.js';
import { escapeText } from '../text.js';
import { closest } from './suggest.js';
import { repeatProblems } from './repeats.js';
import { endProgressLine } from './progress.js';
import {
  ExitCode, UsageError, type CliContext, type Command, type CommandTable, type OptionSpec, type OptionValue, type ParsedArgs, type Program,
} from './command.js';

// ---- help -------------------------------------------------------------------------------

const EXIT_CODES = 'exit codes: 0 success, 1 the operation failed (error [CODE]: message), 2 bad command line\n';

function flagText(name: string, o: OptionSpec): string {
  return `--${name}${o.type === 'boolean' ? '' : ` ${o.value ?? (o.type === 'integer' ? 'N' : 'VALUE')}`}`;
}

function optionLine(name: string, o: OptionSpec): string {
  const flag = `${o.short ? `-${o.short}, ` : ''}${flagText(name, o)}`;
  // "repeatable" once: some descriptions say it themselves, in their own words.
  const notes = [o.required ? 'required' : '', o.multiple && !/\brepeatable\b/.test(o.description) ? 'repeatable' : ''].filter(Boolean).join(', ');
  return `  ${flag.padEnd(28)} ${o.description}${notes ? ` (${notes})` : ''}\n`;
}

/** The synopsis of a command: its own `usage`, or one made from its positionals and options. */
export function synopsis(cmd: Command): string {
  if (cmd.usage !== undefined) return cmd.usage;
  const parts = (cmd.positionals ?? []).map((p) => (p.required ? p.name : `[${p.name}]`));
  const opts = Object.entries(cmd.options);
  for (const [n, o] of [...opts.filter(([, o]) => o.required), ...opts.filter(([, o]) => !o.required)]) {
    const f = `${flagText(n, o)}${o.multiple ? '...' : ''}`;
    parts.push(o.required ? f : `[${f}]`);
  }
  return parts.join(' ');
}

/** `usage: PROGRAM NAME SYNOPSIS`; NAME is '' for a program of one command (runCommand). */
export function commandUsage(program: string, name: string, cmd: Command): string {
  return `${['usage:', program, name, synopsis(cmd)].filter(Boolean).join(' ')}\n`;
}

export function commandHelp(program: string, name: string, cmd: Command): string {
  let s = `${commandUsage(program, name, cmd)}\n${cmd.summary}\n`;
  if (cmd.details) s += `\n${cmd.details.trimEnd()}\n`;
  if (cmd.positionals?.length) {
    s += '\narguments:\n';
    for (const p of cmd.positionals) s += `  ${p.name.padEnd(28)} ${p.description}\n`;
  }
  s += '\noptions:\n';
  for (const [n, o] of Object.entries(cmd.options)) s += optionLine(n, o);
  s += optionLine('help', { type: 'boolean', short: 'h', description: 'show this help' });
  return `${s}\n${EXIT_CODES}`;
}

function startsWithWords(name: string, prefix: readonly string[]): boolean {
  const words = name.split(' ');
  return prefix.every((p, i) => words[i] === p);
}

/** The list of commands whose names start with `prefix` words (all when prefix is empty). */
export function groupHelp(program: Program, prefix: readonly string[]): string {
  const table = program.commands;
  const names = Object.keys(table).filter((n) => startsWithWords(n, prefix)).sort();
  const width = Math.max(...names.map((n) => n.length));
  const head = prefix.length
    ? `usage: ${program.name} ${prefix.join(' ')} <command> [options]\n`
    : `usage: ${program.name} <command> [options]\n\n${program.summary}\n`;
  return `${head}\ncommands:\n${names.map((n) => `  ${n.padEnd(width)}  ${table[n]?.summary ?? ''}\n`).join('')}\n`
    + `Run '${[program.name, ...prefix].join(' ')} <command> --help' for a command's options.\n${EXIT_CODES}`;
}

/** Every group prefix of the table ("model", "devices", ...): the command words but the last, with their prefixes. */
export function groupPrefixes(table: CommandTable): string[][] {
  const seen = new Map<string, string[]>();
  for (const name of Object.keys(table)) {
    const words = name.split(' ');
    for (let n = 1; n < words.length; n++) seen.set(words.slice(0, n).join(' '), words.slice(0, n));
  }
  return [...seen.values()];
}

// ---- resolving and parsing ----------------------------------------------------------------

export type Resolved =
  | { kind: 'command'; name: string; command: Command; rest: string[] }
  | { kind: 'group'; prefix: string[]; rest: string[] }
  | { kind: 'unknown'; words: string[] };

/** Finds the longest run of leading words that names a command, else a group prefix. */
export function resolveCommand(table: CommandTable, argv: readonly string[]): Resolved {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  for (let n = words.length; n > 0; n--) {
    const name = words.slice(0, n).join(' ');
    const command = table[name];
    if (command) return { kind: 'command', name, command, rest: argv.slice(n) };
  }
  for (let n = words.length; n >= 0; n--) {
    const prefix = words.slice(0, n);
    if (Object.keys(table).some((k) => startsWithWords(k, prefix))) {
      if (n === words.length) return { kind: 'group', prefix, rest: argv.slice(n) };
      return { kind: 'unknown', words: words.slice(0, n + 1) };
    }
  }
  return { kind: 'unknown', words };
}

/**
 * Parses a command's options strictly: unknown options, missing or malformed values and missing required ones are
 * UsageErrors. `env` (the CliContext's, never process.env) is given to the command's check.
 */
export function parseCommandArgs(cmd: Command, rest: readonly string[], env: CliContext['env']): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [n, o] of Object.entries(cmd.options)) {
    options[n] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: ParsedArgs;
  let repeated: string[];
  try {
    const r = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true, tokens: true });
    parsed = { values: r.values as Record<string, OptionValue>, positionals: r.positionals };
    // parseArgs keeps the last of a single-valued option given twice, and every repeat of a value: named with the rest.
    repeated = repeatProblems(cmd, r.tokens.flatMap((t) => (t.kind === 'option' ? [t] : [])), parsed.values);
  } catch (err) {
    const message = (err as Error).message;
    // node's "argument is ambiguous" is three lines of advice: one line naming the option and the value.
    const ambiguous = /^Option '(?:-(\w), )?--([\w-]+)' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const [, short, name] = ambiguous;
      const at = rest.findIndex((a) => a === `--${name!}` || (short !== undefined && a === `-${short}`));
      const value = at >= 0 ? rest[at + 1] : undefined;
      // A value its option would refuse anyway (--since -5m): say why, not how to pass it.
      const problem = value === undefined ? undefined : cmd.options[name!]?.check?.(value);
      if (problem) throw new UsageError(problem);
      throw new UsageError(`--${name!} ${value === undefined ? 'value' : JSON.stringify(value)} starts with a dash, so it reads as an option: expected a value after --${name!}; write --${name!}=${value ?? '-VALUE'} to pass one that starts with a dash`);
    }
    // node's "Option '--actor <value>' argument missing": what is expected after it, in the help's words.
    const bare = /^Option '(?:-\w, )?--([\w-]+) <value>' argument missing/.exec(message);
    const spec = bare ? cmd.options[bare[1]!] : undefined;
    if (bare && spec) throw new UsageError(`--${bare[1]!} needs a value: expected ${flagText(bare[1]!, spec)}`);
    // node's messages are good ("Unknown option '--x'"), minus its advice to use '--' which we don't want;
    // one line (a message is printed escaped: a newline would show as a literal \n). A mistyped option
    // gets the one it most likely meant.
    const unknown = /^Unknown option '--([^'=]+)'/.exec(message);
    const meant = unknown ? closest(unknown[1]!, Object.keys(cmd.options)) : undefined;
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, '').replace(/\s*\n\s*/g, ' ') + (meant ? `; did you mean --${meant}?` : ''));
  }
  // Everything missing in one line, arguments first as the usage line has them: `deploy m` was told of
  // --reason only, then of VERSION on the next try.
  const specs = cmd.positionals ?? [];
  const args = specs.slice(parsed.positionals.length).filter((p) => p.required).map((p) => p.name);
  const opts = Object.entries(cmd.options).filter(([n, o]) => {
    const v = parsed.values[n];
    return o.required && (v === undefined || (Array.isArray(v) && v.length === 0));
  }).map(([n]) => `--${n}`);
  // Then every malformed value, in the same line: `--threshold abc` without --name was told of --name only.
  const malformed = Object.entries(cmd.options).flatMap(([n, o]) => {
    const v = parsed.values[n];
    const named = (problem: string) => (problem.startsWith(`--${n} `) || problem.startsWith(`--${n}:`) ? problem : `--${n}: ${problem}`);
    return (Array.isArray(v) ? v : v === undefined ? [] : [v]).flatMap((x) => {
      // An integer option with a check of its own (a port's range) says its whole expectation for any value.
      const problem = typeof x === 'string' ? o.check?.(x) : undefined;
      if (problem) return [named(problem)];
      if (o.type === 'integer' && (typeof x !== 'string' || !(o.positive ? /^[1-9]\d*$/ : /^\d+$/).test(x))) {
        return [`--${n}: expected a ${o.positive ? 'positive' : 'non-negative'} integer, got "${String(x)}"`];
      }
      return [];
    });
  });
  // And what needs several values together (--tag beside --all): `deploy --all --tag x` was told of --tag x only;
  // or an option or the environment (--hub or EDGEFLEET_HUB): `deploy` without either was told of it after the rest.
  const together = (cmd.check?.(parsed, env) ?? []).filter((p): p is string => p !== undefined);
  const extra = parsed.positionals.slice(specs.length);
  const problems = [
    ...(args.length ? [`missing ${args.join(', ')}`] : []),
    // Named with the rest: `status extra` without a data dir was told of the data dir only, then of "extra".
    ...(extra.length ? [`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((e) => `"${e}"`).join(' ')}`] : []),
    ...(opts.length ? [`missing required option${opts.length > 1 ? 's' : ''} ${opts.join(', ')}`] : []),
    ...repeated,
    ...malformed,
    ...together,
  ];
  if (problems.length) throw new UsageError(problems.join('; '));
  return parsed;
}

function wantsHelp(rest: readonly string[]): boolean {
  for (const a of rest) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

// ---- running ------------------------------------------------------------------------------

/** Writes `error [CODE]: message` for anything thrown and returns exit code 1. */
export function reportFailure(ctx: Pick<CliContext, 'stderr'>, err: unknown): number {
  const e = toAppError(err);
  endProgressLine(ctx.stderr); // not on the line of a bar the failure cut short
  ctx.stderr.write(`error [${e.code}]: ${escapeText(e.message)}\n`); // messages quote input: printed inert
  return ExitCode.FAILED;
}

function usageFailure(ctx: CliContext, message: string, usage: string, helpHint: string): number {
  ctx.stderr.write(`error [BAD_REQUEST]: ${escapeText(message)}\n${usage}Run '${helpHint} --help' for details.\n`);
  return ExitCode.USAGE;
}

/** A command word other programs use, and the one these use for it. */
const WORD_FOR: Record<string, string> = { list: 'ls', remove: 'rm', delete: 'rm' };

/**
 * Runs the command named by `argv` (without node and script). Resolves to the exit code:
 * 0 success, 1 the operation failed, 2 bad command line (negative: a daemon keeps running). Never rejects.
 */
export async function dispatch(program: Program, argv: readonly string[], ctx: CliContext): Promise<number> {
  const table = program.commands;
  let args = [...argv];
  if (args[0] === 'help') args = [...args.slice(1), '--help'];
  const r = resolveCommand(table, args);
  if (r.kind === 'unknown') {
    const above = r.words.slice(0, -1);
    const next = Object.keys(table).filter((k) => startsWithWords(k, above)).map((k) => k.split(' ')[above.length] ?? '').filter(Boolean);
    const word = r.words.at(-1) ?? '';
    // `list` for `ls` is too far to be a typo, and what a newcomer types first (`edgefleet devices list`).
    const meant = closest(word, next) ?? (next.includes(WORD_FOR[word] ?? '') ? WORD_FOR[word] : undefined);
    const hint = meant ? `; did you mean "${[...above, meant].join(' ')}"?` : '';
    // With a likely meaning, the group's usage line (docs/cli.md "Exit codes and errors"); without one, its commands.
    const help = groupHelp(program, above);
    const usage = meant ? help.slice(0, help.indexOf('\n') + 1) : help;
    return usageFailure(ctx, `unknown command "${r.words.join(' ')}"${hint}`, usage, [program.name, ...above].join(' '));
  }
  if (r.kind === 'group') {
    const help = groupHelp(program, r.prefix);
    if (wantsHelp(r.rest)) {
      ctx.stdout.write(help);
      return ExitCode.OK;
    }
    const first = r.rest[0];
    if (r.prefix.length === 0 && first === '--version' && r.rest.length === 1) {
      ctx.stdout.write(`${program.name} ${program.version}\n`);
      return ExitCode.OK;
    }
    // At the top, an option is --help or --version: `--versoin` is told the one it likely meant, with the usage line only.
    const meant = first !== undefined && r.prefix.length === 0 ? closest(first.replace(/^-+/, ''), ['help', 'version']) : undefined;
    const why = first === '--version' && r.prefix.length === 0 ? `--version takes nothing after it, got ${r.rest.slice(1).map((a) => `"${a}"`).join(' ')}`
      : first !== undefined ? `unknown option "${first}"${meant ? `; did you mean --${meant}?` : ''}`
        : r.prefix.length ? `"${r.prefix.join(' ')}" needs a command` : 'no command given';
    return usageFailure(ctx, why, meant ? help.slice(0, help.indexOf('\n') + 1) : help, [program.name, ...r.prefix].join(' '));
  }
  return runCommand(program.name, r.name, r.command, r.rest, ctx);
}

/**
 * Runs command `name` of `program` on its arguments `rest`: --help (exit 0), strict parsing (a bad command
 * line: exit 2 with the usage), a failure as `error [CODE]: message` (exit 1). `name` is '' for a program
 * of one command, such as `npm start` (examples/src/start.ts). Never rejects.
 */
export async function runCommand(program: string, name: string, cmd: Command, rest: readonly string[], ctx: CliContext): Promise<number> {
  if (wantsHelp(rest)) {
    ctx.stdout.write(commandHelp(program, name, cmd));
    return ExitCode.OK;
  }
  try {
    return await cmd.run(parseCommandArgs(cmd, rest, ctx.env), ctx);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(ctx, err.message, commandUsage(program, name, cmd), [program, name].filter(Boolean).join(' '));
    return reportFailure(ctx, err);
  }
}

/** The context of a real process: its stdout, stderr, environment, working directory and clock. */
export function processContext(): CliContext {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), now: () => new Date() };
}
