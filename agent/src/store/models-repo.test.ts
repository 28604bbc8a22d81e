// Stored manifests are read back without the zod schema (they were validated at install), so a
// damaged row must still fail clearly, naming the version, instead of reaching the runtime.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '@edgefleet/shared';
import { tabularManifest } from '../summaries/fixtures.js';
import { AGENT_MIGRATIONS } from '../store/agent-store.js';
import { openDb } from './db.js';
import { ModelsRepo } from './models-repo.js';

describe('ModelsRepo stored manifests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-models-repo-'));
  const db = openDb(join(dir, 'agent.db'), AGENT_MIGRATIONS);
  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const repo = new ModelsRepo(db);
  const m = tabularManifest();
  const signatures = { schema: 'edgefleet.signatures/v1', signatures: [] } as never;

  it('reads back the manifest stored at install, unchanged', () => {
    repo.addVersion({ name: m.name, version: m.version, manifest: m, manifestSha256: 'a'.repeat(64), signatures });
    assert.deepStrictEqual(repo.getVersion(m.name, m.version)?.manifest, JSON.parse(JSON.stringify(m)));
  });

  it('refuses a damaged row naming the version', () => {
    const damage = (text: string) => db.prepare('UPDATE model_versions SET manifest = ? WHERE name = ? AND version = ?').run(text, m.name, m.version);
    for (const [text, re] of [
      ['{"name": "tab"', /invalid stored manifest of tab@1\.0\.0: not JSON/],
      [JSON.stringify({ ...m, version: '9.9.9' }), /invalid stored manifest of tab@1\.0\.0: expected the manifest stored at install/],
      [JSON.stringify({ ...m, io: { inputs: 'x' } }), /expected the manifest stored at install \(name, version, entrypoint, files, io\)/],
      ['null', /expected the manifest stored at install/],
    ] as const) {
      damage(text);
      assert.throws(() => repo.getVersion(m.name, m.version), (e: unknown) => e instanceof AppError && e.code === 'SCHEMA_INVALID' && re.test(e.message));
    }
  });
});
