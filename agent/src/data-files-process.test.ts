// The data dir's files found unusable at start, with the real edgefleet-agent program: each refusal exits 1 with
// `error [CODE]:` naming the file, what is wrong and what to do, and leaves the file as it was (docs/agent.md
// "Database", docs/operations.md "Troubleshooting by symptom"). Before, an empty agent.db made the box a new one
// with no word (docs/decisions/0151-agent-db-made-whole-before-named.md).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '@edgefleet/examples';

const CLI = 'agent/src/cli/main.ts';
const run = (data: string) => runCli(CLI, ['run', '--data-dir', data, '--api-port', '0']);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the agent refuses to start on a data file it cannot use', () => {
  test('an empty agent.db: run and summaries exit 1 naming it and the way back; it stays 0 bytes, no lock or new database left', { timeout: 120_000 }, async (t) => {
    const data = mkdtempSync(join(tmpdir(), 'ef-datafiles-'));
    t.after(() => rmSync(data, { recursive: true, force: true }));
    const db = join(data, 'agent.db');
    writeFileSync(db, '', { mode: 0o600 });
    const r = await run(data);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error \\[IO_ERROR\\]: ${esc(db)} is empty \\(0 bytes\\): expected the SQLite database the agent wrote, .*`
      + `Restore a backup of it, or move it aside \\(mv ${esc(db)} ${esc(db)}\\.damaged, with its -wal and -shm files\\) and start again`, 'm'));
    assert.doesNotMatch(r.stdout, /"msg":"ready"/);
    const s = await runCli(CLI, ['summaries', '--data-dir', data]);
    assert.equal(s.code, 1, s.stderr);
    assert.match(s.stderr, new RegExp(`^error \\[IO_ERROR\\]: ${esc(db)} is empty \\(0 bytes\\)`, 'm'));
    assert.equal(statSync(db).size, 0);
    assert.deepEqual(readdirSync(data), ['agent.db'], 'no agent.lock, no agent.db.new-PID, no -wal left');
  });

  test('a directory where agent.lock belongs, and a data dir that is a file, are named', { timeout: 120_000 }, async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'ef-datafiles-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const data = join(root, 'data');
    mkdirSync(join(data, 'agent.lock'), { recursive: true, mode: 0o700 });
    const r = await run(data);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error \\[IO_ERROR\\]: ${esc(join(data, 'agent.lock'))} is a directory: expected the lock file "edgefleet-agent run" makes and removes`, 'm'));
    assert.equal(existsSync(join(data, 'agent.db')), false, 'refused before agent.db was made');
    const file = join(root, 'file');
    writeFileSync(file, 'notes');
    const f = await run(file);
    assert.equal(f.code, 1, f.stderr);
    assert.match(f.stderr, new RegExp(`^error \\[CONFIG_INVALID\\]: data directory ${esc(file)} cannot be made: it, or a directory above it, is a file \\(EEXIST\\)`, 'm'));
  });

  test('a data dir on a read-only file system: exit 1 with EROFS and what to do', { timeout: 120_000, skip: process.getuid?.() !== 0 && 'needs root, to mount' }, async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'ef-datafiles-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const ro = join(root, 'ro');
    mkdirSync(join(root, 'src'), { mode: 0o700 });
    mkdirSync(ro, { mode: 0o700 });
    if (spawnSync('mount', ['--bind', join(root, 'src'), ro]).status !== 0) return t.skip('mount --bind is not allowed here');
    try {
      assert.equal(spawnSync('mount', ['-o', 'remount,bind,ro', ro]).status, 0);
      const r = await run(ro);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^error \\[IO_ERROR\\]: data directory ${esc(ro)} is on a read-only file system and this process may not write in it \\(EROFS\\): expected a writable one`, 'm'));
    } finally {
      spawnSync('umount', [ro]); // before the temp dir goes
    }
  });
});
