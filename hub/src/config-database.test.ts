// The hub config's `database` (docs/hub.md "Database"): a PostgreSQL URL from --database or the
// config file (the flag wins); anything else is CONFIG_INVALID naming the field, the flag and the form;
// databaseWaitMs, how long a start waits for an unreachable server, and databaseStatementTimeoutMs are bounded.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config-load.js';

it('takes a PostgreSQL URL from the flag or the file, defaults to hub.db, and names a bad one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    assert.equal(loadConfig({ 'data-dir': 'data' }, dir).database, undefined);
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', database: 'postgres://hub@db:5432/fleet' }));
    assert.equal(loadConfig({ config: file }, dir).database, 'postgres://hub@db:5432/fleet');
    assert.equal(loadConfig({ config: file, database: 'postgresql://other@db2/x' }, dir).database, 'postgresql://other@db2/x');
    assert.equal(loadConfig({ config: file }, dir).databaseWaitMs, 60_000, 'a start waits a minute for an unreachable server');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', databaseWaitMs: 7_200_000 }));
    assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /databaseWaitMs.*at most 3600000/.test(e.message));
    // The statement timeout bounds how long SIGTERM waits (docs/hub.md "Stopping"): never above the default 20 s.
    assert.equal(loadConfig({ 'data-dir': 'data' }, dir).databaseStatementTimeoutMs, undefined);
    for (const [ms, re] of [[20_001, /databaseStatementTimeoutMs: expected at most 20000 ms: a statement holds SIGTERM/], [999, /databaseStatementTimeoutMs: expected at least 1000 ms/]] as const) {
      writeFileSync(file, JSON.stringify({ dataDir: 'data', databaseStatementTimeoutMs: ms }));
      assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && re.test(e.message));
    }
    writeFileSync(file, JSON.stringify({ dataDir: 'data', databaseStatementTimeoutMs: 3000 }));
    assert.equal(loadConfig({ config: file }, dir).databaseStatementTimeoutMs, 3000);
    assert.throws(() => loadConfig({ 'data-dir': 'data', database: '/var/lib/hub.db' }, dir), (e: Error & { code?: string }) =>
      e.code === 'CONFIG_INVALID' && /database \(--database\): expected a PostgreSQL URL, postgres:\/\/USER/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
