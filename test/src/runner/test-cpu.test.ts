// scripts/test-cpu.mjs, preloaded into each test file's process under TEST_DURATIONS: at exit it writes the
// CPU time of the process and of the children it waited for (a file's hub and agents are its children),
// the figure WAIT_LANE is kept from (docs/development.md "Test run time").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@edgefleet/examples';

const execFileP = promisify(execFile);

test("a file's CPU time counts the children it started and waited for", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-test-cpu-'));
  try {
    // The child burns 400 ms of CPU (by its own count, whatever the machine's load); the parent almost none.
    const burn = 'const t = process.cpuUsage(); while ((process.cpuUsage(t).user + process.cpuUsage(t).system) < 400_000);';
    const parent = join(dir, 'x.test.mjs');
    writeFileSync(parent, `import { execFileSync } from 'node:child_process';\nexecFileSync(process.execPath, ['-e', ${JSON.stringify(burn)}]);\n`);
    const cpuDir = mkdtempSync(join(dir, 'cpu-'));
    await execFileP(process.execPath, ['--import', join(repoRoot(), 'scripts', 'test-cpu.mjs'), parent], { env: { ...process.env, TEST_CPU_DIR: cpuDir } });
    const records = readdirSync(cpuDir).map((n) => JSON.parse(readFileSync(join(cpuDir, n), 'utf8')) as { file: string; cpuSec: number });
    assert.equal(records.length, 1, JSON.stringify(records));
    assert.equal(records[0]!.file, parent);
    // /proc counts in 10 ms ticks: a little slack under the 0.4 s; the parent's own CPU alone is far under.
    assert.ok(records[0]!.cpuSec >= 0.35, `the child's 0.4 s counted: ${records[0]!.cpuSec} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
