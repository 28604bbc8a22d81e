// One daemon per data dir (run-lock.ts), with the real edgefleet-agent program: a second `run` on a data
// dir whose daemon is running exits 1 with CONFLICT naming it, before it recovers the open summary
// windows (which would count every prediction twice) or touches the outbox; the lock goes with the
// first daemon's clean stop, and a daemon SIGKILLed leaves a stale lock the next start takes over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startProcess } from '@edgefleet/examples';
import { RUN_LOCK_FILE } from './run-lock.js';

const CLI = 'agent/src/cli/main.ts';

test('a second run on a running data dir is refused with CONFLICT and changes nothing; the lock goes with the daemon', { timeout: 120_000 }, async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'ef-run-lock-proc-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  const first = startProcess(CLI, ['run', '--data-dir', data, '--api-port', '0']);
  try {
    await first.waitForLine(/"msg":"ready"/, 60_000);
    const lock = join(data, RUN_LOCK_FILE);
    assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid, first.child.pid);
    const second = await runCli(CLI, ['run', '--data-dir', data, '--api-port', '0']);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`^error \\[CONFLICT\\]: another agent \\(pid ${first.child.pid}, running since [^)]+\\) runs on the data dir .*: expected one agent per data dir`, 'm'));
    assert.doesNotMatch(second.stderr + second.stdout, /recovered the open summary windows/, 'refused before it touched the store');
    assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid, first.child.pid, 'the running daemon keeps its lock');
    const stopped = await first.stop();
    assert.equal(stopped.code, 0);
    assert.equal(existsSync(lock), false, 'a clean stop removes the lock');

    // A daemon killed outright leaves its lock: the next start takes it over.
    const killed = startProcess(CLI, ['run', '--data-dir', data, '--api-port', '0']);
    await killed.waitForLine(/"msg":"ready"/, 60_000);
    killed.kill();
    await killed.exited;
    assert.ok(existsSync(lock));
    const next = startProcess(CLI, ['run', '--data-dir', data, '--api-port', '0']);
    await next.waitForLine(/"msg":"ready"/, 60_000);
    assert.equal((await next.stop()).code, 0);
  } finally {
    await first.stop();
  }
});
