// Runs the README's console walkthroughs ("From nothing to a signed, verified bundle", "The
// agent" and the hub's first blocks: run, push, enroll, deploy, undeploy) as a stranger would, command by command, with the real CLIs (their main() in this process; the
// agent started with `&` a process of its own): a claim in the README is a test. Each `$ ` line is executed in a temp dir; the lines printed under it in the README are its
// expected output (stable words must appear; JSON must have the same shape; `error [CODE]` means
// exit 1 with that code). Ports are free ports, and the example bundles are made small.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeExampleOutputs, repoRoot, startProcess, type InProcessOptions, type InProcessResult, type RunningProcess } from '@edgefleet/examples';
import { agentCli, operator } from '../testkit/cli.js';

interface Step { command: string; expected: string[] }

/** The console blocks of the README section whose heading starts with `heading`. */
export function readmeSteps(readme: string, heading: string): Step[] {
  const start = readme.indexOf(`\n## ${heading}`);
  assert.ok(start >= 0, `README has a section "## ${heading}"`);
  const end = readme.indexOf('\n## ', start + 4);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const steps: Step[] = [];
  for (const block of section.split('```console\n').slice(1)) {
    const lines = block.slice(0, block.indexOf('```')).split('\n');
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i]!;
      if (!line.startsWith('$ ')) {
        if (line.trim() !== '' && steps.length > 0) steps[steps.length - 1]!.expected.push(line);
        continue;
      }
      let command = line.slice(2);
      while (command.endsWith('\\')) {
        line = lines[++i] ?? '';
        command = `${command.slice(0, -1).trimEnd()} ${line.trim()}`;
      }
      steps.push({ command: command.replace(/\s+#.*$/, '').trim(), expected: [] });
    }
  }
  return steps;
}

/** Shell-like words: single and double quotes, no expansion. */
export function words(command: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:\\.|[^"\\])*)"|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command)) out.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]!);
  return out;
}

const VOLATILE = /^[0-9a-f]{8,}…?$|\d{4}-\d\d-\d\dT|^\d+(\.\d+)?$|^\(?keys$|^\d[\d,]*$/;
/** The leading words of an expected line before the first one that differs run to run. */
function stableWords(line: string): string {
  const out: string[] = [];
  for (const w of line.trim().split(/\s+/)) {
    // hashes, times, counts and paths (the CLIs print absolute paths) differ run to run
    if (VOLATILE.test(w) || /[0-9a-f]{12}/.test(w) || /\/|\.(json|efb|key|pub)\b/.test(w)) break;
    out.push(w);
  }
  return out.join(' ');
}

/** The same keys and kinds of values, recursively (numbers may differ: the test model is small). */
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shapeOf);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]));
  return typeof v;
}

function check(step: Step, code: number, output: string): void {
  const errorLine = step.expected.find((l) => l.startsWith('error ['));
  if (errorLine) {
    assert.equal(code, 1, `"${step.command}" exits 1 as the README shows (${errorLine}); output:\n${output}`);
    assert.ok(output.includes(errorLine.slice(0, errorLine.indexOf(']') + 1)), `"${step.command}" prints ${errorLine}; got:\n${output}`);
    return;
  }
  assert.equal(code, 0, `"${step.command}" exits 0; output:\n${output}`);
  const flat = output.replace(/\s+/g, ' ');
  for (const line of step.expected) {
    if (line.trim().startsWith('…')) continue;
    if (line.startsWith('{')) {
      const actual = output.split('\n').find((l) => l.startsWith('{'));
      assert.ok(actual, `"${step.command}" prints JSON like ${line}; got:\n${output}`);
      assert.deepEqual(shapeOf(JSON.parse(actual)), shapeOf(JSON.parse(line)), `"${step.command}" answers the shape the README shows`);
      continue;
    }
    const want = stableWords(line);
    if (want) assert.ok(flat.includes(want), `"${step.command}" prints "${want}" (README: ${line}); got:\n${output}`);
  }
}

const BINS: Record<string, string> = { edgefleet: 'hub/src/cli/main.ts', 'edgefleet-agent': 'agent/src/cli/main.ts', 'edgefleet-hub': 'hub/src/server/main.ts' };
// A step that runs and ends is the CLI's main() in this process (test/src/testkit/cli.ts: a process start
// costs ~0.5 s of CPU, over some twenty steps), in the temp dir as the process was; the agent started with
// `&` is a real process.
const MAINS: Record<string, (args: readonly string[], o: InProcessOptions) => Promise<InProcessResult>> = { edgefleet: operator, 'edgefleet-agent': agentCli };

test('the README walkthroughs run as written', { timeout: 240_000 }, async () => {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const hubSteps = readmeSteps(readme, 'The hub');
  // The drift block's alert rules post to hooks.example and train.example, beyond 127.0.0.1: left to drift's own tests.
  const driftAt = hubSteps.findIndex((s) => s.command.startsWith('npx edgefleet drift'));
  const steps = [...readmeSteps(readme, 'From nothing to a signed'), ...readmeSteps(readme, 'The agent'), ...hubSteps.slice(0, driftAt)];
  assert.ok(steps.length >= 30 && driftAt >= 9, `found ${steps.length} README steps, ${driftAt} of the hub's before its drift block`);
  const dir = mkdtempSync(join(tmpdir(), 'ef-readme-'));
  let agent: RunningProcess | undefined;
  let hub: RunningProcess | undefined;
  let apiUrl = '';
  let hubUrl = '';
  let enrollToken = '';
  const env: Record<string, string> = {}; // what the README's `export` line sets, the operator CLI's environment
  try {
    await makeExampleOutputs({ outDir: join(dir, 'examples', 'out'), small: true });
    symlinkSync(join(repoRoot(), 'examples', 'data'), join(dir, 'examples', 'data'));
    for (const step of steps) {
      for (const raw of step.command.split(' && ')) {
        // The README's hub listens on 8700: the test's on a free port, and `<token>` is the one the README made.
        const part = (hubUrl ? raw.replaceAll('http://127.0.0.1:8700', hubUrl) : raw).replace('<token>', enrollToken);
        if (part.startsWith('export ')) {
          for (const [, k, v] of part.matchAll(/(\w+)=(\$\([^)]*\)|\S+)/g)) {
            const file = /^\$\(cat (\S+)\)$/.exec(v!)?.[1];
            env[k!] = file ? readFileSync(join(dir, file), 'utf8').trim() : v!;
          }
          continue;
        }
        const argv = words(part);
        const [cmd, ...args] = argv;
        if (cmd === undefined || cmd.startsWith('#')) continue; // a comment standing for a manual edit, done below
        if (cmd === 'npm' && args.join(' ') === 'run example:model') continue; // made above
        if (cmd === 'mkdir') { mkdirSync(join(dir, args[0]!)); continue; }
        if (cmd === 'cp') { copyFileSync(join(dir, args[0]!), join(dir, args[1] === '.' ? args[0]!.split('/').pop()! : args[1]!)); continue; }
        if (cmd === 'tar' || cmd === 'head') {
          const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
          check(step, r.status ?? 1, r.stdout + r.stderr);
          continue;
        }
        if (cmd === 'kill') {
          assert.ok(agent, 'kill %1 stops the agent started with &');
          const exit = await agent.stop('SIGTERM');
          assert.equal(exit.code, 0, 'the agent exits 0 on SIGTERM');
          agent = undefined;
          continue;
        }
        if (cmd === 'curl') {
          const url = args.find((a) => /^(https?:\/\/)?localhost:\d+\//.test(a))!.replace(/^(https?:\/\/)?localhost:\d+/, apiUrl);
          const headers: Record<string, string> = {};
          args.forEach((a, i) => { if (a === '-H') { const [k, ...v] = args[i + 1]!.split(':'); headers[k!.trim()] = v.join(':').trim(); } });
          const body = args[args.indexOf('-d') + 1];
          const res = await fetch(url, { method: 'POST', headers, body });
          check(step, 0, await res.text());
          continue;
        }
        if (cmd !== 'npx' || !BINS[args[0]!]) throw new Error(`README step "${part}": this test does not know how to run "${cmd}"; teach it`);
        const entry = BINS[args[0]!]!;
        // `--watch` follows until Ctrl-C: the test takes one look.
        const rest = args.slice(1).filter((a) => a !== '--watch');
        if (rest[0] === 'run' && args[0] === 'edgefleet-hub') {
          // On free ports rather than the README's 8700 and 1883, which other work on this machine may hold.
          hub = startProcess(entry, [...rest, '--http-port', '0', '--mqtt-port', '0'], { cwd: dir });
          hubUrl = (JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string }).http;
          await hub.waitForLine(/^admin token/, 60_000);
          check(step, 0, hub.output().stdout);
          continue;
        }
        if (rest[0] === 'run') { // the agent, with `&` or not: it runs until stopped
          assert.equal(agent, undefined, 'the README stops one agent before it runs the next');
          const runArgs = rest.filter((a) => a !== '&').map((a, i, all) => (all[i - 1] === '--api-port' ? '0' : a));
          agent = startProcess(entry, runArgs.includes('--api-port') ? runArgs : [...runArgs, '--api-port', '0'], { cwd: dir });
          const ready = JSON.parse(await agent.waitForLine(/"msg":"ready"/, 60_000)) as { api: string; hub?: unknown };
          apiUrl = ready.api;
          if (ready.hub) await agent.waitForLine(/"msg":"connected to hub"/, 60_000);
          continue;
        }
        if (!MAINS[args[0]!]) throw new Error(`README step "${part}": this test runs ${args[0]} only as "run"; teach it`);
        // The CLIs resolve a relative path (`--data-dir box`) against the process's working directory, as
        // they do a shell's: the step runs in the temp dir, and the test goes back where it was after it.
        const here = process.cwd();
        process.chdir(dir);
        let r: InProcessResult;
        try {
          r = await MAINS[args[0]!]!(rest, { cwd: dir, env });
        } finally {
          process.chdir(here);
        }
        check(step, r.code, r.stdout + r.stderr);
        if (rest[0] === 'enroll-token' && rest[1] === 'create') enrollToken = r.stdout.trim().split('\n')[0]!;
        // "the box above keeps serving 1.1.0, which install and rollback put active by hand (its log says removal_kept_local)"
        if (rest[0] === 'undeploy') await agent!.waitForLine(/"event":"removal_kept_local"/, 60_000);
      }
      // The README edits the manifest between extracting and packing (see its comment line).
      if (step.command.startsWith('mkdir model')) {
        const path = join(dir, 'model', 'manifest.json');
        const m = JSON.parse(readFileSync(path, 'utf8')) as { version: string; files?: unknown; provenance: { reason?: string } };
        m.version = '1.1.0';
        m.provenance.reason = 'README walkthrough';
        delete m.files;
        writeFileSync(path, JSON.stringify(m, null, 2));
      }
    }
  } finally {
    agent?.kill();
    await hub?.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
