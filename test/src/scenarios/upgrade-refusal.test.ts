// Downgrades refused (issue 13, docs/operations.md "Upgrades"): the real `edgefleet-hub run` and
// `edgefleet-agent run`/`status` on a data dir whose database a newer version wrote (it records a
// migration this program does not know) exit 1 with `error [SCHEMA_TOO_NEW]: ...` naming the file,
// the migration, this program's version and the one that applied it (recorded with each migration
// since 0.1.0; "a newer hub" for a database from before), and leave the database as it was.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeKeys, makeTrust, repoRoot, runCli } from '@edgefleet/examples';

/** Records migration `id` in `table` of `file`, as a newer program (version `by`, if it recorded one) that applied it would have. */
function recordFuture(file: string, table: string, col: string, id: number, name: string, by?: string): void {
  const db = new Database(file);
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (${col} INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    if (by === undefined) db.prepare(`INSERT INTO ${table} (${col}, name, applied_at) VALUES (?, ?, ?)`).run(id, name, new Date().toISOString());
    else {
      if (!db.prepare(`SELECT 1 FROM pragma_table_info('${table}') WHERE name = 'program_version'`).get()) db.exec(`ALTER TABLE ${table} ADD COLUMN program_version TEXT`);
      db.prepare(`INSERT INTO ${table} (${col}, name, applied_at, program_version) VALUES (?, ?, ?, ?)`).run(id, name, new Date().toISOString(), by);
    }
  } finally {
    db.close();
  }
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The versions the programs name (each package's version). */
const versionOf = (pkg: string) => (JSON.parse(readFileSync(join(repoRoot(), pkg, 'package.json'), 'utf8')) as { version: string }).version;
const HUB_VERSION = versionOf('hub');
const AGENT_VERSION = versionOf('agent');

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
      // A hub.db from before the versions were recorded: "a newer hub", and this one's version.
      recordFuture(file, 'schema_migrations', 'version', 998, 'from a newer hub of old');
      const unnamed = await runCli('hub/src/server/main.ts', ['run', '--data-dir', dir, '--http-port', '0', '--mqtt-port', '0']);
      assert.equal(unnamed.code, 1, unnamed.stderr);
      assert.match(unnamed.stderr, new RegExp(`^error \\[SCHEMA_TOO_NEW\\]: hub\\.db at ${esc(file)} was written by a newer hub \\(this hub is ${esc(HUB_VERSION)}\\): it records migration 998 \\("from a newer hub of old"\\) that hub ${esc(HUB_VERSION)} does not know\\. Run that newer hub \\(or newer\\) on it, or restore a backup taken by hub ${esc(HUB_VERSION)} \\(or older\\) before the upgrade; a database is never migrated back$`, 'm'));
      recordFuture(file, 'schema_migrations', 'version', 999, 'from a newer hub', '0.2.0');
      const before = recorded(file, 'schema_migrations', 'version');
      const bytes = readFileSync(file);
      const r = await runCli('hub/src/server/main.ts', ['run', '--data-dir', dir, '--http-port', '0', '--mqtt-port', '0']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^error \\[SCHEMA_TOO_NEW\\]: hub\\.db at ${esc(file)} was written by a newer hub \\(0\\.2\\.0; this hub is ${esc(HUB_VERSION)}\\): it records migrations 998 \\("from a newer hub of old"\\), 999 \\("from a newer hub"\\) that hub ${esc(HUB_VERSION)} does not know\\. Run hub 0\\.2\\.0 \\(or newer\\) on it, or restore a backup taken by hub ${esc(HUB_VERSION)} \\(or older\\) before the upgrade`, 'm'));
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
      recordFuture(file, 'migrations', 'id', 999, 'from a newer agent', '0.2.0');
      const before = recorded(file, 'migrations', 'id');
      const bytes = readFileSync(file);
      for (const args of [['run', '--data-dir', dir, '--api-port', '0'], ['status', '--data-dir', dir]]) {
        const r = await runCli('agent/src/cli/main.ts', args);
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^error \\[SCHEMA_TOO_NEW\\]: agent\\.db at ${esc(file)} was written by a newer agent \\(0\\.2\\.0; this agent is ${esc(AGENT_VERSION)}\\): it records migration 999 \\("from a newer agent"\\) that agent ${esc(AGENT_VERSION)} does not know\\. Run agent 0\\.2\\.0 \\(or newer\\) on it, or restore a backup taken by agent ${esc(AGENT_VERSION)} \\(or older\\) before the upgrade`, 'm'), args[0]);
      }
      assert.deepEqual(recorded(file, 'migrations', 'id'), before);
      assert.ok(readFileSync(file).equals(bytes), 'agent.db is byte for byte as it was');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
