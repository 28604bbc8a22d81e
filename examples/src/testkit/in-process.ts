// A program's main(argv, ctx) run in the test's own process, with its output captured: for a test that runs
// many commands against the same state and is not about the process itself (its exit code glue, signals,
// output piped away: test/src/cli/convention.test.ts runs the real programs for that). A process start
// of one of our programs costs ~0.4 s of CPU (loading its modules); this costs the command only.
import { tmpdir } from 'node:os';
import { StringWriter, type CliContext } from '@edgefleet/shared/cli';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface InProcessOptions {
  /** The command's environment (only this: nothing of the test process's). */
  env?: Record<string, string | undefined>;
  /** Default: the OS temp dir. */
  cwd?: string;
  /** stdout and stderr say they are a terminal (progress drawn: docs/cli.md "Progress"); default false, a pipe. */
  tty?: boolean;
}

/** Runs `main(args)` as `runCli` runs the program (resolves with its exit code and output, never rejects on a non-zero exit). */
export async function runInProcess(main: (argv: readonly string[], ctx: CliContext) => Promise<number>, args: readonly string[], o: InProcessOptions = {}): Promise<InProcessResult> {
  const out = new StringWriter(o.tty ?? false);
  const err = new StringWriter(o.tty ?? false);
  const code = await main(args, { stdout: out, stderr: err, env: o.env ?? {}, cwd: o.cwd ?? tmpdir(), now: () => new Date() });
  return { code, stdout: out.text, stderr: err.text };
}

/**
 * The problems a usage error names (docs/cli.md "Exit codes and errors": `error [BAD_REQUEST]: A; B; C`, then the
 * usage line); throws when `r` is not one (another exit code, a stack trace, no usage line).
 */
export function usageProblems(r: InProcessResult): string[] {
  const line = r.stderr.split('\n')[0] ?? '';
  if (r.code !== 2 || !line.startsWith('error [BAD_REQUEST]: ') || !/\nusage: /.test(r.stderr) || /\n\s+at /.test(r.stderr)) {
    throw new Error(`expected a usage error (exit 2, error [BAD_REQUEST]: …, the usage line, no stack trace), got exit ${r.code}: ${r.stderr}`);
  }
  return line.slice('error [BAD_REQUEST]: '.length).split('; ');
}
