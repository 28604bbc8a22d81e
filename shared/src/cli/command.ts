// The shape of a command-line program, shared by edgefleet, edgefleet-hub and
// edgefleet-agent (docs/cli.md): a table of commands keyed by their words
// ("model pack"), each with typed options, positionals and a handler; the
// context a handler gets; UsageError (exit 2); and readers for parsed values.
import { readFileSync } from 'node:fs';
import { AppError } from '../errors.js';

export interface OptionSpec {
  /** `integer` is a string of digits on the command line, checked by the parser (a usage error otherwise). */
  type: 'string' | 'boolean' | 'integer';
  /** An `integer` of at least 1: 0 is refused with the same message as any other bad value. */
  positive?: boolean;
  /** The option may be given several times (values collected in order); one value given twice is refused (repeats.ts). */
  multiple?: boolean;
  /** A `multiple` option whose values are a list matched by position (one per --sample), so a value may be given twice. */
  repeatValues?: boolean;
  short?: string;
  /** Shown in --help after the option; name the expected form ("365d or an ISO date"). */
  description: string;
  /** A missing required option is a usage error (exit 2). */
  required?: boolean;
  /** Placeholder in --help, e.g. DIR, PUB, role=N. */
  value?: string;
  /**
   * What is wrong with one value of a `string` or `integer` option ("expected a number, got \"abc\""; an integer's
   * check, when it has one, is its whole expectation: its digits too), or undefined: checked by
   * the parser with the missing options, so one usage error names every problem of the command line. A problem
   * that starts with the option's name ("--wave x: ...") is shown as it is, else after `--NAME: `.
   */
  check?: (value: string) => string | undefined;
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

/** Something that takes text: process.stdout/stderr, or a StringWriter in tests. */
export interface Writer {
  write(text: string): unknown;
  /** true when the writer is a terminal (progress bars draw only then). */
  readonly isTTY?: boolean;
  /** Terminal width in columns, when known. */
  readonly columns?: number;
}

/** What a command may touch besides its arguments; each program's main.ts builds the real one. */
export interface CliContext {
  stdout: Writer;
  stderr: Writer;
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths are resolved against. */
  cwd: string;
  now(): Date;
}

export interface Command {
  /** One line for the command list. */
  summary: string;
  /** The synopsis after the command words; generated from options and positionals when omitted. */
  usage?: string;
  /** Optional paragraph shown in --help. */
  details?: string;
  options: Record<string, OptionSpec>;
  positionals?: PositionalSpec[];
  /**
   * Problems of several values together (exactly one of --devices, --tag, --all; a key given twice), named by the
   * parser in the same usage error as missing options and malformed values; run on values whatever their checks said.
   * `env` is the CliContext's: an option the environment may stand in for (--hub or EDGEFLEET_HUB) is missing only
   * when both are (docs/decisions/0148-usage-errors-name-every-problem.md).
   */
  check?: (args: ParsedArgs, env: CliContext['env']) => Array<string | undefined>;
  /**
   * Resolves to the exit code (negative: keep running, for daemons). Throw AppError for failures
   * (exit 1), UsageError for a bad command line (exit 2).
   */
  run(args: ParsedArgs, ctx: CliContext): Promise<number>;
}

export type CommandTable = Record<string, Command>;

/** A program: its name, one line about it, its version and its commands. */
export interface Program {
  name: string;
  summary: string;
  version: string;
  commands: CommandTable;
}

/** Exit codes of every edgefleet program (docs/cli.md). */
export const ExitCode = {
  OK: 0,
  /** The operation failed: bad input file, signature or hash refused, I/O, hub error, bad config. */
  FAILED: 1,
  /** The command line was wrong: unknown command or option, missing or malformed argument. */
  USAGE: 2,
} as const;

/** A mistake on the command line: printed as error [BAD_REQUEST] with the usage, exit code 2. */
export class UsageError extends AppError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
    this.name = 'UsageError';
  }
}

// ---- reading typed values out of ParsedArgs ---------------------------------------------

/** A string option, or undefined. */
export function optString(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  if (Array.isArray(v)) return typeof v[v.length - 1] === 'string' ? (v[v.length - 1] as string) : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** A required string option (the parser already enforced presence when `required` is set). */
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

/** An `integer` option as a number, or undefined (the parser checked its digits). */
export function optInt(args: ParsedArgs, name: string): number | undefined {
  const v = optString(args, name);
  return v === undefined ? undefined : Number(v);
}

/** The message of the UsageError `fn` throws, or undefined when it throws none. */
export function usageProblem(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
}

/** An option's check (OptionSpec.check) made of the parser `run` calls: the UsageError it throws is the problem. */
export const problemOf = (parse: (text: string) => unknown) => (text: string): string | undefined => usageProblem(() => parse(text));

/** Parses a positive integer value or says what was expected. */
export function parsePositiveInt(text: string, what: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new UsageError(`${what}: expected a positive integer, got "${text}"`);
  return Number(text);
}

/** A Writer that keeps what it is given; for in-process tests. */
export class StringWriter implements Writer {
  text = '';
  constructor(readonly isTTY = false, readonly columns = 80) {}
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

/** The `version` of a package.json (a program's --version), or 0.0.0 when it has none. */
export function packageVersion(packageJson: URL): string {
  const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}
