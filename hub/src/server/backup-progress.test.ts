// What `edgefleet-hub backup` and `restore` show while they work (docs/cli.md "Progress"): on a terminal, what
// SQLite is doing with hub.db (a copy or an integrity check: no bytes to count) and one bar over every byte
// hashed, hub.db's included; on a pipe, nothing but the result. The programs' table runs in this process on a
// real hub.db (the hub's migrations) with a blob and a file of the data dir's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Hex } from '@edgefleet/shared';
import { dispatch, StringWriter } from '@edgefleet/shared/cli';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { hubServerCli } from './main.js';

async function run(argv: string[], tty: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new StringWriter(tty);
  const err = new StringWriter(tty, 100);
  const code = await dispatch(hubServerCli, argv, { stdout: out, stderr: err, env: {}, cwd: tmpdir(), now: () => new Date('2026-03-01T00:00:00Z') });
  return { code, stdout: out.text, stderr: err.text };
}

describe('backup and restore progress', () => {
  let dir = '';
  const data = () => join(dir, 'hub');
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ef-backup-progress-'));
    const store = Store.open(data(), HUB_MIGRATIONS);
    try {
      const blob = Buffer.alloc(300_000, 7);
      const sha = sha256Hex(blob);
      mkdirSync(join(data(), 'blobs', 'sha256', sha.slice(0, 2)), { recursive: true });
      writeFileSync(join(data(), 'blobs', 'sha256', sha.slice(0, 2), sha), blob);
      store.db.prepare('INSERT INTO blobs (sha256, size, created_at) VALUES (?, ?, ?)').run(sha, blob.length, new Date().toISOString());
    } finally {
      store.close();
    }
    writeFileSync(join(data(), 'notes.txt'), '{}'); // not trust.json: no notes about key files after the backup
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('on a terminal: says what SQLite does with hub.db and draws one bar to 100% over every byte, hub.db included', async () => {
    const b = await run(['backup', '--data-dir', data(), '--out', join(dir, 'b1')], true);
    assert.equal(b.code, 0, b.stderr);
    const db = statSync(join(dir, 'b1', 'hub.db')).size;
    const all = db + 300_000 + 2;
    assert.match(b.stderr, /^copying hub\.db \(\d+(\.\d)? KiB\) as one consistent snapshot…\n/);
    const last = b.stderr.split('\r').at(-1) ?? '';
    assert.match(last, /^backing up \[#+\] 100% .+\n/);
    assert.equal(last.split(' / ')[1]?.trim(), formatted(all));

    const r = await run(['restore', '--from', join(dir, 'b1'), '--data-dir', join(dir, 'r1')], true);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.split('\n').map((l) => l.split('\r').at(-1));
    assert.match(lines[0] ?? '', /^verifying \[#+\] 100% /);
    assert.match(lines[1] ?? '', /^checking the integrity of .*b1\/hub\.db \(.+\) and its schema…$/);
    assert.match(lines[2] ?? '', /^restoring \[#+\] 100% /);
  });

  it('on a pipe: nothing on stderr but the result on stdout', async () => {
    const b = await run(['backup', '--data-dir', data(), '--out', join(dir, 'b2')], false);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.stderr, '');
    assert.match(b.stdout, /^backed up 3 files/);
    const r = await run(['restore', '--from', join(dir, 'b2'), '--data-dir', join(dir, 'r2')], false);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });
});

/** The bar's byte counts (shared/src/disk-text.ts formatBytes) for `n`. */
function formatted(n: number): string {
  const kib = n / 1024;
  return `${kib.toFixed(kib < 10 ? 1 : 0)} KiB`;
}
