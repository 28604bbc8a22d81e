// hub.db found unusable at start, with the real `edgefleet-hub run`: exit 1 with `error [IO_ERROR]:` naming the file,
// what is wrong and the way back, and the file left as it was (docs/hub.md "Database", docs/operations.md
// "Troubleshooting by symptom"). Before, an empty hub.db made the hub a new one, without its devices, registry and
// audit, with no word (docs/decisions/0151-agent-db-made-whole-before-named.md "The hub too").
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { runCli } from '@edgefleet/examples';

const HUB = 'hub/src/server/main.ts';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the hub refuses to start on a hub.db it cannot use', () => {
  test('an empty hub.db: run and backup exit 1 naming it and the way back; it stays 0 bytes, no -wal, no new database and no backup left', { timeout: 120_000 }, async (t) => {
    const data = mkdtempSync(join(tmpdir(), 'ef-hub-datafiles-'));
    t.after(() => rmSync(data, { recursive: true, force: true }));
    const db = join(data, 'hub.db');
    writeFileSync(db, '', { mode: 0o600 });
    const r = await runCli(HUB, ['run', '--data-dir', data, '--http-port', '0', '--log-level', 'warn']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^error \\[IO_ERROR\\]: ${esc(db)} is empty \\(0 bytes\\): expected the SQLite database the hub wrote, .*`
      + `Restore a backup of it \\(edgefleet-hub restore .*or move it aside \\(mv ${esc(db)} ${esc(db)}\\.damaged, with its -wal and -shm files\\) and start again`, 'm'));
    assert.doesNotMatch(r.stdout, /hub ready/);
    assert.equal(statSync(db).size, 0);
    assert.deepEqual(readdirSync(data).filter((f) => f.startsWith('hub.db')), ['hub.db'], 'no hub.db.new-PID, no -wal or -shm left');
    // The data dir as it was found: the content-keys key file too is made only once the store opened (prepare.ts).
    assert.deepEqual(readdirSync(data), ['hub.db'], 'refused before the content-keys key file, the hub key or admin token was made');
    // backup names it too, instead of taking a copy without tables, and keeps no --out.
    const out = join(data, '..', `${basename(data)}-backup`);
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const b = await runCli(HUB, ['backup', '--data-dir', data, '--out', out]);
    assert.equal(b.code, 1, b.stderr);
    assert.match(b.stderr, new RegExp(`^error \\[IO_ERROR\\]: ${esc(db)} is empty \\(0 bytes\\): expected the SQLite database the hub wrote`, 'm'));
    assert.equal(existsSync(out), false);
    assert.equal(statSync(db).size, 0);
  });
});
