// Downgrades refused (issue 13, docs/operations.md "Upgrades"): the real `edgefleet-hub run` and
// `edgefleet-agent run`/`status` on a data dir whose database a newer version wrote (it records a
// migration this program does not know) exit 1 with `error [SCHEMA_TOO_NEW]: ...` naming the file
// and the migration, and leave the database as it was.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeKeys, makeTrust, runCli } from '@edgefleet/examples';

/** Records migration `id` in `table` of `file`, as a newer program that applied it would have. */
function recordFuture(file: string, table: string, col: string, id: number, name: string): void {
  const db = new Database(file);
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (${col} INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    db.prepare(`INSERT INTO ${table} (${col}, name, applied_at) VALUES (?, ?, ?)`).run(id, name, new Date().toISOString());
  } finally {
    db.close();
  }
}

const recorded = (file: string, table: string, col: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(`SELECT ${col} FROM ${table} ORDER BY ${col}`).pluck().all();
  } finally {
    db.close();
  }
};

describe('a database written by a newer version', () => {
  it('edgefleet-hub run refuses it with SCHEMA_TOO_NEW (exit 1) and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-newer-hub-'));
    try {
      const file = join(dir, 'hub.db');
      recordFuture(file, 'schema_migrations', 'version', 999, 'from a newer hub');
      const before = recorded(file, 'schema_migrations', 'version');
      const bytes = readFileSync(file);
      const r = await runCli('hub/src/server/main.ts', ['run', '--data-dir', dir, '--http-port', '0', '--mqtt-port', '0']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^error \\[SCHEMA_TOO_NEW\\]: hub\\.db at ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was written by a newer hub: it records migration 999 \\("from a newer hub"\\)`, 'm'));
      assert.deepEqual(recorded(file, 'schema_migrations', 'version'), before);
      // Not a byte changed: the file is still in the rollback-journal mode it was left in (no switch to WAL first).
      assert.ok(readFileSync(file).equals(bytes), 'hub.db is byte for byte as it was');
      assert.equal(existsSync(`${file}-wal`), false, 'no WAL file was made');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('edgefleet-agent run and status refuse it with SCHEMA_TOO_NEW (exit 1) and change nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-newer-agent-'));
    try {
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'agent.db');
      // A database this agent made (trust set creates it), then a migration of a newer agent on it.
      const trust = makeTrust(dir, makeKeys(join(dir, 'keys')));
      const made = await runCli('agent/src/cli/main.ts', ['trust', 'set', trust.path, '--data-dir', dir]);
      assert.equal(made.code, 0, made.stderr);
      recordFuture(file, 'migrations', 'id', 999, 'from a newer agent');
      const before = recorded(file, 'migrations', 'id');
      const bytes = readFileSync(file);
      for (const args of [['run', '--data-dir', dir, '--api-port', '0'], ['status', '--data-dir', dir]]) {
        const r = await runCli('agent/src/cli/main.ts', args);
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, /^error \[SCHEMA_TOO_NEW\]: agent\.db at .* was written by a newer agent: it records migration 999 \("from a newer agent"\) that this agent does not know/m, args[0]);
      }
      assert.deepEqual(recorded(file, 'migrations', 'id'), before);
      assert.ok(readFileSync(file).equals(bytes), 'agent.db is byte for byte as it was');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
