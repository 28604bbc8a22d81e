// The command table machinery of the operator CLI: the Command shape, finding
// the command from its words ("model pack"), parsing its options with
// node:util parseArgs, help text, and usage errors (exit code 2).
// main.ts holds the table itself; adding a command is adding one entry there.
import { parseArgs } from 'node:util';
import { ExitCode, reportFailure, type CliContext } from './output.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The option may be given several times (values collected in order). */
  multiple?: boolean;
  short?: string;
  /** Shown in --help after the option; name the expected form ("365d or an ISO date"). */
  description: string;
  /** A missing required option is a usage error (exit 2). */
  required?: boolean;
  /** Placeholder in --help, e.g. DIR, PUB, role=N. */
  value?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
}

export type OptionValue = string | boolean | string[] | boolean[] | undefined;

export interface ParsedArgs {
  values: Record<string, OptionValue>;
  positionals: string[];
}

export interface Command {
  /** One line for the command list. */
  summary: string;
  /** The synopsis after the command words, e.g. "--role root|release|hub --out DIR [--name N]". */
  usage: string;
  /** Optional paragraph shown in --help. */
  details?: string;
  options: Record<string, OptionSpec>;
  positionals?: PositionalSpec[];
  /** Resolves to the exit code. Throw AppError for failures (exit 1), UsageError for bad arguments (exit 2). */
  run(args: ParsedArgs, ctx: CliContext): Promise<number>;
}

export type CommandTable = Record<string, Command>;

/** A mistake on the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly commandName?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const PROGRAM = 'edgefleet';

// ---- reading typed values out of ParsedArgs ---------------------------------------------

/** A string option, or undefined. */
export function optString(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  if (Array.isArray(v)) return typeof v[v.length - 1] === 'string' ? (v[v.length - 1] as string) : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** A required string option (parseArgs already enforced presence when `required` is set). */
export function reqString(args: ParsedArgs, name: string): string {
  const v = optString(args, name);
  if (v === undefined || v === '') throw new UsageError(`missing --${name}`);
  return v;
}

/** All values of a repeatable string option, in order; [] when absent. */
export function optStrings(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

export function optBool(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Parses a positive integer option value or says what was expected. */
export function parsePositiveInt(text: string, what: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${what}: expected a positive integer, got "${text}"`);
  return Number(text);
}

/** Parses "role=N" (threshold) for the given roles. */
export function parseRoleNumber<R extends string>(text: string, roles: readonly R[], what: string): [R, number] {
  const m = /^([a-z]+)=(\d+)$/.exec(text);
  if (!m) throw new UsageError(`${what}: expected ROLE=N (${roles.join('|')}), got "${text}"`);
  const role = m[1] as R;
  if (!roles.includes(role)) throw new UsageError(`${what}: unknown role "${m[1]}", expected one of ${roles.join(', ')}`);
  return [role, parsePositiveInt(m[2] as string, `${what} ${role}`)];
}

/** Parses an expiry: a duration from `now` ("365d", "12h", "30m", "8w") or an ISO 8601 date-time. */
export function parseExpiry(text: string, now: Date, what = '--expires'): Date {
  const m = /^(\d+)([mhdw])$/.exec(text);
  if (m) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
    const n = Number(m[1]);
    if (n <= 0) throw new UsageError(`${what}: expected a positive duration, got "${text}"`);
    return new Date(now.getTime() + n * unit);
  }
  if (/^\d{4}-\d{2}-\d{2}(T.*)?$/.test(text)) {
    const d = new Date(text);
    if (!Number.isNaN(d.getTime())) {
      if (d.getTime() <= now.getTime()) throw new UsageError(`${what}: ${text} is in the past; expected a future date`);
      return d;
    }
  }
  throw new UsageError(`${what}: expected a duration such as 365d, 12h, 8w or an ISO date such as 2027-01-31T00:00:00Z, got "${text}"`);
}

// ---- help -------------------------------------------------------------------------------

function optionLine(name: string, o: OptionSpec): string {
  const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  const notes = [o.required ? 'required' : '', o.multiple ? 'repeatable' : ''].filter(Boolean).join(', ');
  return `  ${flag.padEnd(28)} ${o.description}${notes ? ` (${notes})` : ''}\n`;
}

export function commandUsage(name: string, cmd: Command): string {
  return `usage: ${PROGRAM} ${name} ${cmd.usage}`.trimEnd() + '\n';
}

export function commandHelp(name: string, cmd: Command): string {
  let s = `${commandUsage(name, cmd)}\n${cmd.summary}\n`;
  if (cmd.details) s += `\n${cmd.details.trimEnd()}\n`;
  if (cmd.positionals?.length) {
    s += '\narguments:\n';
    for (const p of cmd.positionals) s += `  ${p.name.padEnd(28)} ${p.description}\n`;
  }
  s += '\noptions:\n';
  for (const [n, o] of Object.entries(cmd.options)) s += optionLine(n, o);
  s += optionLine('help', { type: 'boolean', short: 'h', description: 'show this help' });
  s += `\nexit codes: 0 success, 1 the operation failed (error [CODE]: message), 2 bad command line\n`;
  return s;
}

/** The list of commands whose names start with `prefix` words (all when prefix is empty). */
export function groupHelp(table: CommandTable, prefix: string[]): string {
  const names = Object.keys(table).filter((n) => startsWithWords(n, prefix)).sort();
  const width = Math.max(...names.map((n) => n.length));
  const head = prefix.length
    ? `usage: ${PROGRAM} ${prefix.join(' ')} <command> [options]\n`
    : `usage: ${PROGRAM} <command> [options]\n\nThe edgefleet operator CLI: keys, trust documents and signed model bundles.\n`;
  return `${head}\ncommands:\n${names.map((n) => `  ${n.padEnd(width)}  ${table[n]?.summary ?? ''}\n`).join('')}\n`
    + `Run '${PROGRAM} <command> --help' for a command's options.\n`
    + `exit codes: 0 success, 1 the operation failed, 2 bad command line\n`;
}

function startsWithWords(name: string, prefix: string[]): boolean {
  const words = name.split(' ');
  return prefix.every((p, i) => words[i] === p);
}

// ---- dispatch ---------------------------------------------------------------------------

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

/** Parses a command's options strictly: unknown options, missing values and missing required ones are UsageErrors. */
export function parseCommandArgs(name: string, cmd: Command, rest: readonly string[]): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [n, o] of Object.entries(cmd.options)) {
    options[n] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: ParsedArgs;
  try {
    const r = parseArgs({ args: [...rest], options, strict: true, allowPositionals: true, tokens: true });
    parsed = { values: r.values as Record<string, OptionValue>, positionals: r.positionals };
    // parseArgs keeps the last of a repeated single-valued option; a repeat is more likely a mistake.
    const counts = new Map<string, number>();
    for (const t of r.tokens) if (t.kind === 'option') counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    for (const [n, c] of counts) {
      if (c > 1 && !cmd.options[n]?.multiple) throw new UsageError(`--${n} given more than once`, name);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // node's messages are good ("Unknown option '--x'"), minus its advice to use '--' which we don't want.
    const msg = (err as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(msg, name);
  }
  for (const [n, o] of Object.entries(cmd.options)) {
    const v = parsed.values[n];
    if (o.required && (v === undefined || (Array.isArray(v) && v.length === 0))) throw new UsageError(`missing required option --${n}`, name);
  }
  const specs = cmd.positionals ?? [];
  const required = specs.filter((p) => p.required).length;
  if (parsed.positionals.length < required) {
    throw new UsageError(`missing ${specs.slice(parsed.positionals.length).filter((p) => p.required).map((p) => p.name).join(', ')}`, name);
  }
  if (parsed.positionals.length > specs.length) {
    const extra = parsed.positionals.slice(specs.length);
    throw new UsageError(`unexpected argument${extra.length > 1 ? 's' : ''} ${extra.map((e) => `"${e}"`).join(' ')}`, name);
  }
  return parsed;
}

function wantsHelp(rest: readonly string[]): boolean {
  for (const a of rest) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

function usageFailure(ctx: CliContext, message: string, usage: string, helpHint: string): number {
  ctx.stderr.write(`error: ${message}\n${usage}Run '${helpHint} --help' for details.\n`);
  return ExitCode.USAGE;
}

/**
 * Runs the command named by `argv` (without node and script). Returns the exit code:
 * 0 success, 1 the operation failed, 2 usage error. Never throws.
 */
export async function dispatch(table: CommandTable, argv: readonly string[], ctx: CliContext): Promise<number> {
  let args = [...argv];
  if (args[0] === 'help') args = [...args.slice(1), '--help'];
  const r = resolveCommand(table, args);
  if (r.kind === 'unknown') {
    return usageFailure(ctx, `unknown command "${r.words.join(' ')}"`, groupHelp(table, r.words.slice(0, -1)), PROGRAM);
  }
  if (r.kind === 'group') {
    const help = groupHelp(table, r.prefix);
    if (wantsHelp(r.rest)) {
      ctx.stdout.write(help);
      return ExitCode.OK;
    }
    const first = r.rest[0];
    if (r.prefix.length === 0 && first === '--version') {
      ctx.stdout.write(`${PROGRAM} ${ctx.env['EDGEFLEET_VERSION'] ?? '0.1.0'}\n`);
      return ExitCode.OK;
    }
    const why = first !== undefined ? `unknown option "${first}"` : r.prefix.length ? `"${r.prefix.join(' ')}" needs a command` : 'no command given';
    return usageFailure(ctx, why, help, [PROGRAM, ...r.prefix].join(' '));
  }
  if (wantsHelp(r.rest)) {
    ctx.stdout.write(commandHelp(r.name, r.command));
    return ExitCode.OK;
  }
  try {
    const parsed = parseCommandArgs(r.name, r.command, r.rest);
    return await r.command.run(parsed, ctx);
  } catch (err) {
    if (err instanceof UsageError) return usageFailure(ctx, err.message, commandUsage(r.name, r.command), `${PROGRAM} ${r.name}`);
    return reportFailure(ctx, err);
  }
}
