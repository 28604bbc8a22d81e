// The reference ids the ingest guard checks windows against (references.ts), on a real hub.db: read once,
// read again when a window contradicts an id cached longer than REFERENCE_RELOAD_MS (a version deleted and
// pushed again with another reference), none for a manifest without a reference, unknown for a version the
// registry lacks (docs/decisions/0152-windows-of-another-reference.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { TEMP_MODE_FEATURES, registerVersion, tempModeReference } from '../rollups/testing.js';
import { REFERENCE_RELOAD_MS, VersionReferences } from './references.js';

test('reference ids of versions: cached, read again past the reload time when contradicted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-references-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    const [A, B] = ['a'.repeat(64), 'b'.repeat(64)];
    registerVersion(store.db, 'vib', '1.0.0', { features: TEMP_MODE_FEATURES, reference: tempModeReference(A) });
    registerVersion(store.db, 'vib', '2.0.0', { features: TEMP_MODE_FEATURES });
    const refs = new VersionReferences(store.db);
    assert.equal(refs.of('vib', '1.0.0', A, 0), A);
    assert.equal(refs.of('vib', '2.0.0', A, 0), null, 'a manifest without a reference');
    assert.equal(refs.of('vib', '9.9.9', A, 0), undefined, 'a version the registry lacks');
    // Pushed again with reference B: a window naming B is checked against the cached A until the reload time passed.
    store.db.prepare('UPDATE model_versions SET manifest = ? WHERE name = ? AND version = ?')
      .run(JSON.stringify({ name: 'vib', version: '1.0.0', features: TEMP_MODE_FEATURES, reference: tempModeReference(B) }), 'vib', '1.0.0');
    assert.equal(refs.of('vib', '1.0.0', B, REFERENCE_RELOAD_MS - 1), A);
    assert.equal(refs.of('vib', '1.0.0', B, REFERENCE_RELOAD_MS), B);
    assert.equal(refs.of('vib', '1.0.0', A, REFERENCE_RELOAD_MS + 1), B, 'read again at most once per reload time');
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
