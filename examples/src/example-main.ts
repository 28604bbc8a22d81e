// The main of `npm start` and `npm run example:loop` (run through scripts/start.mjs): the command line
// read by the one convention of the edgefleet programs (docs/cli.md: --help, "did you mean", exit 2 for
// a bad one), then the example until it ends; the first SIGINT/SIGTERM asks it to stop in order, a
// second gives up waiting (children are killed on exit). checkCommandLine reads the command line only:
// scripts/start.mjs runs it before the build (check-command-line.ts).
import { processContext, runCommand, type CliContext, type OptionSpec, type ParsedArgs } from '@edgefleet/shared/cli';

/** An example's command line (examples/src/command-lines.ts). */
export interface ExampleCommandLine<O> {
  /** How it is run, for the usage line: "npm start --". */
  name: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** The example's options from the parsed command line; throws UsageError for a bad value. */
  parse(args: ParsedArgs): O;
}

export interface ExampleProgram<O> extends ExampleCommandLine<O> {
  /** Runs the example until it ends or `stopSignal` resolves; resolves to the exit code. */
  run(o: O, stopSignal: Promise<string>): Promise<number>;
  /** Prefix of an error's message: "start failed". */
  failed: string;
}

/** Runs `p` and exits the process with its code: 0 done, 130 interrupted, 1 failed, 2 a bad command line. */
export async function exampleMain<O>(p: ExampleProgram<O>): Promise<never> {
  const command = { summary: p.summary, options: p.options, run: (args: ParsedArgs) => runUntilStopped(p, p.parse(args)) };
  process.exitCode = await runCommand(p.name, '', command, process.argv.slice(2), processContext());
  // Signal handlers keep nothing alive, but be explicit: the fleet is down.
  process.exit();
}

/**
 * Reads `argv` as `exampleMain` does, without running the example: --help printed (0), a bad command
 * line reported (2), or `ok` when the example may run.
 */
export function checkCommandLine<O>(cl: ExampleCommandLine<O>, argv: readonly string[], ctx: CliContext, ok: number): Promise<number> {
  return runCommand(cl.name, '', { summary: cl.summary, options: cl.options, run: (args: ParsedArgs) => (cl.parse(args), Promise.resolve(ok)) }, argv, ctx);
}

async function runUntilStopped<O>(p: ExampleProgram<O>, o: O): Promise<number> {
  let signals = 0;
  const stopSignal = new Promise<string>((resolveStop) => {
    const onSignal = (sig: NodeJS.Signals) => {
      if (++signals > 1) process.exit(130);
      resolveStop(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  try {
    return await p.run(o, stopSignal);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${/^interrupted/.test(msg) ? msg : `${p.failed}: ${msg}`}\n`);
    return /^interrupted/.test(msg) ? 130 : 1;
  }
}
