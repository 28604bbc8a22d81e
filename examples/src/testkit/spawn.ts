// Runs our programs for CLI and daemon tests: from source (node --conditions=source --import tsx
// <entry>), or built when the runner says the build is fresh
// (EDGEFLEET_TEST_PROGRAMS=built, set by scripts/test.mjs after `tsc -b`: <pkg>/src/x.ts runs as
// <pkg>/dist/x.js, ~0.8 s of CPU less a start; docs/development.md "Test run time").
// runCli: one command to completion. startProcess: a long-lived daemon whose
// output lines can be awaited, stopped with a signal and always cleaned up.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (this file is at examples/{src,dist}/testkit/). */
export function repoRoot(): string {
  return fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
}

/**
 * A file beside a test, wherever the test runs from: <pkg>/src (from source) or <pkg>/dist (built,
 * scripts/test.mjs). Beside a built test, a module named `x.ts` is its built `x.js`, and a file tsc does
 * not copy (a fixture, an .mjs helper) is read from <pkg>/src.
 */
export function besideTest(file: string, testUrl: string): URL {
  const built = /^([^/]+)\/dist\//;
  const test = fileURLToPath(testUrl).slice(repoRoot().length + 1);
  if (!built.test(test)) return new URL(file, testUrl);
  if (file.endsWith('.ts')) return new URL(file.replace(/\.ts$/, '.js'), testUrl);
  const source = test.replace(built, '$1/src/');
  return new URL(file, pathToFileURL(join(repoRoot(), source)));
}

export type Entry = 'hub/src/cli/main.ts' | 'agent/src/cli/main.ts' | 'hub/src/server/main.ts' | (string & {});

export interface SpawnOptions {
  cwd?: string;
  /** Added to process.env (a value of undefined removes the variable). */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. */
  input?: string | Uint8Array;
  /** runCli: kill after this long (default 60 s) and reject naming the command. */
  timeoutMs?: number;
  /** startProcess: every output line is appended to this file. */
  logFile?: string;
  /** startProcess: lines kept for waitForLine() history and bytes of output() (default: all). */
  keepLines?: number;
  /** Own process group, so a Ctrl-C in the terminal reaches the parent only (which stops children in order). */
  detached?: boolean;
  /** Node flags before the entry (after tsx for a .ts entry), e.g. ['--import', hookModuleUrl]. */
  nodeArgs?: readonly string[];
}

export interface CliResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function entryPath(entry: string): string {
  const p = isAbsolute(entry) ? entry : join(repoRoot(), entry);
  if (!existsSync(p)) {
    throw new Error(`no program at ${p}: expected ${/\.[cm]?js$/.test(entry) ? 'a built program (run `npx tsc -b` first)' : "a path relative to the repo root such as 'agent/src/cli/main.ts'"}`);
  }
  return p;
}

/**
 * Node's arguments to run `entry` with `extra` flags: a .js entry (a built program) with plain node; a
 * .ts entry through tsx with the source condition, or as its built file when EDGEFLEET_TEST_PROGRAMS is
 * `built` and that file exists.
 */
export function programArgv(entry: string, extra: readonly string[] = []): string[] {
  let path = entryPath(entry);
  if (process.env.EDGEFLEET_TEST_PROGRAMS === 'built') {
    const m = /^(.*\/(?:shared|agent|hub|desktop|examples|test))\/src\/(.+)\.ts$/.exec(path);
    const built = m ? `${m[1]}/dist/${m[2]}.js` : undefined;
    if (built && existsSync(built)) path = built;
  }
  // tsx by its resolved URL, so a child started in a temp dir (cwd outside the repo) finds it too.
  return /\.[cm]?js$/.test(path) ? [...extra, path] : ['--conditions=source', '--import', import.meta.resolve('tsx'), ...extra, path];
}

function spawnEntry(entry: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // Test runners set NODE_TEST_CONTEXT; a child that inherits it reports to the parent's TAP stream.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [...programArgv(entry, opts.nodeArgs), ...args], {
    cwd: opts.cwd ?? repoRoot(),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  else child.stdin?.end();
  return child;
}

/** Runs `entry` with `args` to completion; resolves with exit code and output (never rejects on a non-zero exit). */
export function runCli(entry: Entry, args: readonly string[], opts: SpawnOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnEntry(entry, args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr so far:\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr });
    });
  });
}

export interface RunningProcess {
  child: ChildProcess;
  /** Resolves with the first line (stdout or stderr, including lines already printed) matching `re`. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` (default SIGTERM) and resolves when the process has exited; a no-op once exited. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, no waiting. */
  kill(): void;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves when the process exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `entry` as a long-lived process. Always `stop()` or `kill()` it in a `finally`/`after`. */
export function startProcess(entry: Entry, args: readonly string[], opts: SpawnOptions = {}): RunningProcess {
  const child = spawnEntry(entry, args, opts);
  let log: WriteStream | undefined;
  if (opts.logFile) {
    mkdirSync(dirname(opts.logFile), { recursive: true });
    log = createWriteStream(opts.logFile, { flags: 'a' });
  }
  const keep = opts.keepLines ?? Infinity;
  const out = { stdout: '', stderr: '' };
  const lines: string[] = [];
  const waiters = new Set<{ re: RegExp; resolve: (l: string) => void }>();
  const partial = { stdout: '', stderr: '' };
  const onData = (which: 'stdout' | 'stderr') => (d: string) => {
    log?.write(d);
    out[which] += d;
    if (keep !== Infinity) out[which] = out[which].slice(-256 * 1024);
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
  child.stdout?.setEncoding('utf8').on('data', onData('stdout'));
  child.stderr?.setEncoding('utf8').on('data', onData('stderr'));
  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const done = (st: { code: number | null; signal: NodeJS.Signals | null }) => {
      if (status) return;
      status = st;
      log?.end();
      resolve(st);
    };
    child.on('close', (code, signal) => done({ code, signal }));
    child.on('error', () => done({ code: -1, signal: null }));
  });

  const waitForLine = (re: RegExp, timeoutMs = 30_000): Promise<string> => {
    const seen = lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        re,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const fail = (why: string) => {
        waiters.delete(w);
        clearTimeout(timer);
        reject(new Error(`${entry}: no line matching ${re} (${why}); last output:\n${(out.stdout + out.stderr).slice(-3000)}`));
      };
      const timer = setTimeout(() => fail(`${timeoutMs} ms passed`), timeoutMs);
      waiters.add(w);
      exited.then((s) => {
        if (waiters.has(w)) fail(`process exited with code ${s.code} signal ${s.signal}`);
      }, reject);
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
