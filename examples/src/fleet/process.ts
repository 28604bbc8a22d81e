// Spawning our programs for a local fleet: built (`node hub/dist/server/main.js`,
// what `npm start` runs after `tsc -b`) or from source (`node --conditions=source
// --import tsx hub/src/server/main.ts`, what tests run). Output lines can be awaited
// (a bounded history is kept, so a demo running for hours does not grow), optionally
// appended to a log file, and stop() sends a signal and waits for the exit.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { repoRoot, type RunningProcess } from '../testkit/spawn.js';

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

/** Runs `entry` (a .ts file through tsx with the source condition, a .js file with plain node). */
export function startProgram(entry: string, args: readonly string[], opts: ProgramOptions = {}): RunningProcess {
  const path = isAbsolute(entry) ? entry : join(repoRoot(), entry);
  if (!existsSync(path)) {
    throw new Error(`no program at ${path}: expected ${entry.endsWith('.js') ? 'a built program (run `npx tsc -b` first)' : 'a source entry such as hub/src/server/main.ts'}`);
  }
  const nodeArgs = path.endsWith('.ts') ? ['--conditions=source', '--import', 'tsx', path] : [path];
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  delete env.NODE_TEST_CONTEXT; // a child of a test must not report into the parent's TAP stream
  // detached: a Ctrl-C in the terminal goes to the parent only, which then stops children in order.
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: repoRoot(), env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });

  let log: WriteStream | undefined;
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'a' });
  }
  const keep = opts.keepLines ?? 2000;
  const lines: string[] = [];
  const out = { stdout: '', stderr: '' };
  const partial = { stdout: '', stderr: '' };
  const waiters = new Set<{ re: RegExp; resolve: (l: string) => void }>();
  const onData = (which: 'stdout' | 'stderr') => (d: string) => {
    log?.write(d);
    out[which] = (out[which] + d).slice(-256 * 1024);
    const parts = (partial[which] + d).split('\n');
    partial[which] = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > keep) lines.shift();
      for (const w of waiters) {
        if (w.re.test(line)) {
          waiters.delete(w);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData('stdout'));
  child.stderr.setEncoding('utf8').on('data', onData('stderr'));

  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const done = (s: { code: number | null; signal: NodeJS.Signals | null }) => {
      if (status) return;
      status = s;
      log?.end();
      resolve(s);
    };
    child.on('close', (code, signal) => done({ code, signal }));
    child.on('error', () => done({ code: -1, signal: null }));
  });

  const waitForLine = (re: RegExp, timeoutMs = 30_000): Promise<string> => {
    const seen = lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { re, resolve: (l: string) => { clearTimeout(timer); resolve(l); } };
      const fail = (why: string) => {
        waiters.delete(w);
        clearTimeout(timer);
        reject(new Error(`${entry}: no line matching ${re} (${why}); last output:\n${(out.stdout + out.stderr).slice(-3000)}`));
      };
      const timer = setTimeout(() => fail(`${timeoutMs} ms passed`), timeoutMs);
      waiters.add(w);
      void exited.then((s) => {
        if (waiters.has(w)) fail(`process exited with code ${s.code} signal ${s.signal}`);
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) => {
    if (status) return status;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    child,
    waitForLine,
    stop,
    kill: () => {
      if (!status) child.kill('SIGKILL');
    },
    output: () => ({ ...out }),
    exited,
  };
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
