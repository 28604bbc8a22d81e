// scripts/test-groups.mjs: which test files share a process, and the module that runs them
// (docs/development.md "Test run time"). The rules on sources, the grouping in start order, and a real
// node:test run of a shared module: one process, each test reported with its own file, a failure too.
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '@edgefleet/examples';

interface Groups {
  mayShare(path: string, text: string, listed: Set<string>): boolean;
  groupFiles(files: string[], share: (f: string) => boolean, size: number): Array<string | string[]>;
  groupModule(urls: string[]): string;
}
const { mayShare, groupFiles, groupModule } = await import(pathToFileURL(join(repoRoot(), 'scripts', 'test-groups.mjs')).href) as Groups;

const plain = "import { test } from 'node:test';\ntest('x', () => {});\n";

test('a file shares a process only when nothing at its top level is the whole process\'s', () => {
  const none = new Set<string>();
  assert.equal(mayShare('hub/src/x.test.ts', plain, none), true);
  assert.equal(mayShare('hub/src/x.test.ts', `${plain}describe('d', () => { before(() => {}); });\n`, none), true, 'a hook inside a describe is the suite\'s');
  assert.equal(mayShare('hub/src/x.test.ts', `${plain}forEachBackend((b) => { backend = b; }, suite);\n`, none), true, 'forEachBackend\'s hooks are its describe\'s');
  for (const top of ['before(() => {});', 'after(async () => {});', 'beforeEach(() => {});', 'afterEach(() => {});',
    'const [sqlite] = backends();', "process.env.X = '1';", 'mock.timers.enable();']) {
    assert.equal(mayShare('hub/src/x.test.ts', `${plain}${top}\n`, none), false, top);
  }
  assert.equal(mayShare('hub/src/x.test.ts', `// test-run: own process\n${plain}`, none), false, 'the marker');
  assert.equal(mayShare('test/src/scenarios/x.test.ts', plain, none), false, 'a scenario');
  assert.equal(mayShare('hub/bench/x.test.ts', plain, none), false, 'a bench helper\'s test (run from source)');
  assert.equal(mayShare('hub/src/x.test.ts', plain, new Set(['hub/src/x.test.ts'])), false, 'listed in test-order.mjs');
});

test('shared files are grouped by size where the first of each group stood; the others keep their places', () => {
  const files = ['L1', 'a', 'b', 'L2', 'c', 'd', 'e', 'L3'];
  assert.deepEqual(groupFiles(files, (f) => !f.startsWith('L'), 2), ['L1', ['a', 'b'], 'L2', ['c', 'd'], ['e'], 'L3']);
  assert.deepEqual(groupFiles(files, () => false, 8), files);
  assert.deepEqual(groupFiles([], () => true, 8), []);
});

test('a shared module runs its files in one process; each test is reported with its own file, a failure too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'test-groups-'));
  try {
    const pids = join(dir, 'pids');
    const member = (name: string, body: string) => {
      const f = join(dir, `${name}.test.mjs`);
      writeFileSync(f, `import { test } from 'node:test';\nimport { appendFileSync } from 'node:fs';\n`
        + `test('${name} runs', () => { appendFileSync(${JSON.stringify(pids)}, process.pid + '\\n'); ${body} });\n`);
      return f;
    };
    const a = member('a', '');
    const b = member('b', "throw new Error('b fails');");
    const module = join(dir, 'shared-000.mjs');
    writeFileSync(module, groupModule([a, b].map((f) => pathToFileURL(f).href)));
    // run() refuses to start files from inside a test file's process: a runner of its own, as test-run.mjs is.
    const runner = join(dir, 'runner.mjs');
    writeFileSync(runner, `import { run } from 'node:test';\nconst s = run({ files: [${JSON.stringify(module)}] });\n`
      + "s.on('test:pass', (d) => { if (d.nesting === 0) console.log(JSON.stringify(['pass', d.file])); });\n"
      + "s.on('test:fail', (d) => { if (d.nesting === 0) console.log(JSON.stringify(['fail', d.file, d.details.error.cause?.message])); });\n"
      + 's.resume();\n');
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const out = execFileSync(process.execPath, [runner], { env, encoding: 'utf8' });
    const events = out.trim().split('\n').map((l) => JSON.parse(l) as string[]);
    assert.deepEqual(events, [['pass', a], ['fail', b, 'b fails']]);
    const seen = readFileSync(pids, 'utf8').trim().split('\n');
    assert.equal(seen.length, 2);
    assert.equal(new Set(seen).size, 1, 'both files ran in one process');
    assert.notEqual(seen[0], String(process.pid));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
