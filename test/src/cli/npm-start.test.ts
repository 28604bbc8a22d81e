// `npm start` and `npm run example:loop` (scripts/start.mjs, run by `node` as npm's script does) follow
// the command-line convention of the three programs (docs/cli.md): a bad option is
// `error [BAD_REQUEST]: ...` with "did you mean" and the usage, exit 2, before any fleet starts; a bad
// value names the option and what was expected; --help prints the options with exit 0. Both are
// answered before the build: no `tsc` process runs (each node process started records its argv).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;
let argvLog: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ef-npm-start-'));
  argvLog = join(dir, 'argv.log');
  // Preloaded in every node process of the run (NODE_OPTIONS is inherited): appends its argv.
  writeFileSync(join(dir, 'record-argv.cjs'), `require('node:fs').appendFileSync(${JSON.stringify(argvLog)}, JSON.stringify(process.argv) + '\\n');\n`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The node processes the runs so far started whose argv names `word` (and forgets them). */
function ran(word: string): string[][] {
  let text = '';
  try {
    text = readFileSync(argvLog, 'utf8');
  } catch { /* none ran */ }
  rmSync(argvLog, { force: true });
  const all = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
  assert.ok(all.length > 0, 'the argv of the node processes is recorded');
  return all.filter((argv) => argv.some((a) => a.includes(word)));
}

/** Runs scripts/start.mjs with `args` by node; its exit code and output. */
function start(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(dir, 'record-argv.cjs')}`.trim() };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['scripts/start.mjs', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  }));
}

describe('npm start: the one command-line convention', () => {
  it('a mistyped option: error [BAD_REQUEST] with "did you mean", the usage, exit 2', async () => {
    const r = await start(['--agnets', '2']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error \[BAD_REQUEST\]: Unknown option '--agnets'; did you mean --agents\?\nusage: npm start -- \[--agents N\] .*\nRun 'npm start -- --help' for details\.\n$/);
    assert.doesNotMatch(r.stdout, /==>/, 'no fleet was started');
    assert.deepEqual(ran('typescript/bin/tsc'), [], 'told before the build: tsc did not run');
  });

  it('a bad value names the option and what was expected', async () => {
    const r = await start(['--agents', '0']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error \[BAD_REQUEST\]: --agents: expected a positive integer, got "0"\n/);
    const loop = await start(['--example=loop', '--agents', '1']);
    assert.equal(loop.code, 2, loop.stderr);
    assert.match(loop.stderr, /^error \[BAD_REQUEST\]: --agents: expected an integer of at least 2, got 1\nusage: npm run example:loop -- /);
    assert.deepEqual(ran('typescript/bin/tsc'), [], 'told before the build: tsc did not run');
  });

  it('--help lists the options, exit 0', async () => {
    const r = await start(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: npm start -- /);
    assert.match(r.stdout, /^ {2}--keep-data +leave the data dir/m);
    assert.match(r.stdout, /exit codes: 0 success, 1 the operation failed/);
    assert.deepEqual(ran('typescript/bin/tsc'), [], 'answered before the build: tsc did not run');
  });
});
