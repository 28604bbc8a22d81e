// Spawning our programs for a local fleet: built (`node hub/dist/server/main.js`,
// what `npm start` runs after `tsc -b`) or from source (`node --conditions=source
// --import tsx hub/src/server/main.ts`, what tests run). Output lines can be awaited
// (a bounded history is kept, so a demo running for hours does not grow), optionally
// appended to a log file, and stop() sends a signal and waits for the exit.
import { startProcess, type RunningProcess } from '../testkit/spawn.js';

/** The entry points of the programs a fleet runs, relative to the repo root (or absolute). */
export interface FleetPrograms {
  hub: string;
  agent: string;
}

export const SOURCE_PROGRAMS: FleetPrograms = { hub: 'hub/src/server/main.ts', agent: 'agent/src/cli/main.ts' };
export const BUILT_PROGRAMS: FleetPrograms = { hub: 'hub/dist/server/main.js', agent: 'agent/dist/cli/main.js' };

/** Built programs when this module itself runs built (examples/dist), source otherwise. */
export function defaultPrograms(): FleetPrograms {
  return import.meta.url.endsWith('.js') && import.meta.url.includes('/dist/') ? BUILT_PROGRAMS : SOURCE_PROGRAMS;
}

export interface ProgramOptions {
  env?: Record<string, string | undefined>;
  /** Every output line (stdout and stderr) is appended here. */
  logFile?: string;
  /** Lines kept for waitForLine() history (default 2000). */
  keepLines?: number;
}

export type { RunningProcess };

/** How a fleet program (hub or agent) is started and logged. */
export interface FleetProcessOptions {
  /** The program (default: built when running built, source otherwise). */
  entry?: string;
  logLevel?: string;
  logFile?: string;
  env?: Record<string, string | undefined>;
  /** How long to wait for the program's ready line. */
  readyTimeoutMs?: number;
}

/** Runs `entry` (a .ts file through tsx with the source condition, a .js file with plain node). */
export function startProgram(entry: string, args: readonly string[], opts: ProgramOptions = {}): RunningProcess {
  return startProcess(entry, args, { ...opts, keepLines: opts.keepLines ?? 2000, detached: true });
}

/** Runs `entry` to completion; rejects with its output when it exits non-zero or takes longer than `timeoutMs`. */
export async function runProgram(entry: string, args: readonly string[], opts: ProgramOptions & { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  const p = startProgram(entry, args, opts);
  const timer = setTimeout(() => p.kill(), opts.timeoutMs ?? 120_000);
  try {
    const s = await p.exited;
    const o = p.output();
    if (s.code !== 0) {
      throw new Error(`${entry} ${args.join(' ')} exited with ${s.code ?? s.signal}: ${(o.stderr || o.stdout).trim().slice(-2000)}`);
    }
    return o;
  } finally {
    clearTimeout(timer);
  }
}
