// runCli / startProcess against small TypeScript programs written to a temp dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programArgv, repoRoot, runCli, startProcess } from './spawn.js';

function tempProgram(source: string): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-spawn-'));
  const path = join(dir, 'prog.mts');
  writeFileSync(path, source);
  return { path, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('repoRoot is the workspace root', () => {
  assert.ok(existsSync(join(repoRoot(), 'package.json')));
  assert.ok(existsSync(join(repoRoot(), 'examples', 'src', 'testkit', 'spawn.ts')));
});

test('programArgv: a package source entry runs built under EDGEFLEET_TEST_PROGRAMS=built, through tsx otherwise', () => {
  const saved = process.env.EDGEFLEET_TEST_PROGRAMS;
  const p = tempProgram('console.log(1);');
  try {
    process.env.EDGEFLEET_TEST_PROGRAMS = 'source';
    const source = programArgv('hub/src/cli/main.ts', ['--expose-gc']);
    assert.deepEqual(source.slice(0, 2), ['--conditions=source', '--import']);
    assert.deepEqual(source.slice(3), ['--expose-gc', join(repoRoot(), 'hub/src/cli/main.ts')]);
    process.env.EDGEFLEET_TEST_PROGRAMS = 'built';
    const built = join(repoRoot(), 'hub/dist/cli/main.js');
    if (existsSync(built)) assert.deepEqual(programArgv('hub/src/cli/main.ts', ['--expose-gc']), ['--expose-gc', built]);
    else assert.equal(programArgv('hub/src/cli/main.ts').at(-1), join(repoRoot(), 'hub/src/cli/main.ts'), 'no build: from source');
    // A TypeScript file outside the packages' src trees has no built twin.
    assert.equal(programArgv(p.path).at(-1), p.path);
    assert.equal(programArgv(p.path).at(-2)?.includes('tsx'), true);
  } finally {
    if (saved === undefined) delete process.env.EDGEFLEET_TEST_PROGRAMS;
    else process.env.EDGEFLEET_TEST_PROGRAMS = saved;
    p.done();
  }
});

test('runCli passes args, env and stdin, and reports the exit code and output', async () => {
  const p = tempProgram(`
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const n: number = 3; // TypeScript runs through tsx
    console.log(JSON.stringify({ args: process.argv.slice(2), env: process.env.EF_X, stdin: Buffer.concat(chunks).toString(), n }));
    console.error('to stderr');
    process.exit(7);
  `);
  try {
    const r = await runCli(p.path, ['a', '--b'], { env: { EF_X: 'yes' }, input: 'hello' });
    assert.equal(r.code, 7);
    assert.deepEqual(JSON.parse(r.stdout), { args: ['a', '--b'], env: 'yes', stdin: 'hello', n: 3 });
    assert.match(r.stderr, /to stderr/);
  } finally {
    p.done();
  }
});

test('runCli rejects naming the command when it outlives timeoutMs', async () => {
  const p = tempProgram('setInterval(() => {}, 1000);');
  try {
    await assert.rejects(runCli(p.path, ['x'], { timeoutMs: 1500 }), /did not finish within 1500 ms/);
  } finally {
    p.done();
  }
});

test('runCli refuses a program that does not exist', async () => {
  await assert.rejects(async () => runCli('nope/src/cli/main.ts', []), /no program at .*nope\/src\/cli\/main\.ts/);
});

test('startProcess: waitForLine sees past and future lines, stop() sends SIGTERM', async () => {
  const p = tempProgram(`
    console.log(JSON.stringify({ msg: 'ready', port: 1234 }));
    setTimeout(() => console.error('later line'), 200);
    process.on('SIGTERM', () => { console.log('stopping'); process.exit(0); });
    setInterval(() => {}, 1000);
  `);
  const proc = startProcess(p.path, []);
  try {
    const ready = await proc.waitForLine(/"msg":"ready"/);
    assert.equal(JSON.parse(ready).port, 1234);
    assert.equal(await proc.waitForLine(/later/), 'later line');
    assert.equal(await proc.waitForLine(/"ready"/), ready, 'a line already seen still matches');
    const s = await proc.stop();
    assert.equal(s.code, 0);
    assert.match(proc.output().stdout, /stopping/);
    assert.deepEqual(await proc.stop(), s, 'stop is idempotent');
  } finally {
    proc.kill();
    p.done();
  }
});

test('startProcess: waitForLine rejects with the output when the process exits first', async () => {
  const p = tempProgram(`console.error('boom: bad config field "port"'); process.exit(1);`);
  const proc = startProcess(p.path, []);
  try {
    await assert.rejects(proc.waitForLine(/ready/), /exited with code 1[\s\S]*bad config field "port"/);
  } finally {
    proc.kill();
    p.done();
  }
});
