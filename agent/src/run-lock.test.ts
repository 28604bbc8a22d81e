import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_LOCK_FILE, ownerAlive, processIdentity, takeRunLock } from './run-lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'ef-run-lock-'));

test('the lock is taken, refused to a second live owner with CONFLICT naming it, and released', () => {
  const d = dir();
  try {
    const lock = takeRunLock(d);
    const file = join(d, RUN_LOCK_FILE);
    const held = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; proc?: string };
    assert.equal(held.pid, process.pid);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(held.proc, processIdentity(process.pid), 'boot id and start time recorded');
    // Another (live) process holds it: the parent of this test process, written as if it were the owner.
    writeFileSync(file, JSON.stringify({ pid: process.ppid, since: '2026-12-04T00:00:00.000Z', proc: processIdentity(process.ppid) }));
    assert.throws(() => takeRunLock(d), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFLICT');
      assert.match(err.message, new RegExp(`another agent \\(pid ${process.ppid}, running since 2026-12-04T00:00:00.000Z\\) runs on the data dir ${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: expected one agent per data dir`));
      return true;
    });
    lock.release(); // not ours any more: left alone
    assert.ok(existsSync(file));
    rmSync(file);
    const again = takeRunLock(d);
    again.release();
    again.release();
    assert.equal(existsSync(file), false);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('a stale lock is taken over: its process gone, its pid now another process (after a reboot), half-written, or this process', async () => {
  const d = dir();
  const file = join(d, RUN_LOCK_FILE);
  try {
    // A process that has exited (and been reaped).
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.once('exit', r));
    for (const stale of [
      { pid: child.pid, since: 'x' },
      // A live pid whose start time or boot differs: another process has the pid now.
      { pid: process.ppid, since: 'x', proc: 'an-earlier-boot:12345' },
      { pid: process.pid, since: 'x' },
    ]) {
      writeFileSync(file, JSON.stringify(stale));
      takeRunLock(d).release();
    }
    writeFileSync(file, '{"pid": 4'); // killed while writing it
    takeRunLock(d).release();
    assert.equal(ownerAlive({ pid: process.ppid, proc: processIdentity(process.ppid) }), true);
    assert.equal(ownerAlive({ pid: process.ppid, proc: 'an-earlier-boot:12345' }), false);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('a directory where the lock belongs is refused as IO_ERROR naming it, and kept', () => {
  const d = dir();
  try {
    const path = join(d, RUN_LOCK_FILE);
    mkdirSync(path);
    assert.throws(() => takeRunLock(d), (err: Error & { code?: string }) => err.code === 'IO_ERROR'
      && err.message === `${path} is a directory: expected the lock file "edgefleet-agent run" makes and removes (it holds only a pid): remove it (rmdir ${path}) and start again`);
    assert.ok(statSync(path).isDirectory());
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
