// Old desired documents leave hub.db (desired-repo.ts `prune`), on each database backend: a device past
// KEEP_DOCUMENTS + slack keeps its newest KEEP_DOCUMENTS, a device under the slack is not touched, and
// the newest stays, so a replayed (lower) seq is still refused and the next one still goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DesiredDocument } from '@edgefleet/shared';
import { Store } from './index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { KEEP_DOCUMENTS } from './desired-repo.js';
import { forEachBackend, type Backend } from '../testing/backends.js';

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

const doc = (deviceId: string, seq: number) => ({
  signed: { deviceId, seq, issued: new Date(seq * 1000).toISOString(), expires: new Date(seq * 1000 + 14 * 86_400_000).toISOString(), models: [] },
  signature: 'x',
}) as unknown as DesiredDocument;

function suite(): void {
  test('each device keeps its newest documents; seqs still only grow', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-desired-'));
    const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
    try {
      store.devices.create('a', 'secret-a-0123456789abcdef0123', {}, null, new Date(0));
      store.devices.create('b', 'secret-b-0123456789abcdef0123', {}, null, new Date(0));
      for (let seq = 1; seq <= 40; seq++) store.desired.put(doc('a', seq));
      for (let seq = 1; seq <= KEEP_DOCUMENTS + 5; seq++) store.desired.put(doc('b', seq));
      const seqs = (id: string) => (store.db.prepare('SELECT seq FROM desired_documents WHERE device_id = ? ORDER BY seq').all(id) as Array<{ seq: number }>).map((r) => Number(r.seq));

      assert.equal(store.desired.prune(), 40 - KEEP_DOCUMENTS);
      assert.deepEqual(seqs('a'), Array.from({ length: KEEP_DOCUMENTS }, (_, i) => 40 - KEEP_DOCUMENTS + 1 + i), 'a keeps its newest');
      assert.equal(seqs('b').length, KEEP_DOCUMENTS + 5, 'b is within the slack: untouched');
      assert.equal(store.desired.prune(), 0, 'nothing more');
      assert.equal(store.desired.lastSeq('a'), 40);
      assert.equal(store.desired.latest('a')?.signed.seq, 40);
      assert.equal(store.desired.bySeq('a', 30)?.signed.seq, 30, 'a recent one a device may have refused is still there');
      assert.throws(() => store.desired.put(doc('a', 10)), { code: 'CONFLICT' }, 'a seq below the newest is refused as before');
      store.desired.put(doc('a', 41));
      assert.equal(store.desired.lastSeq('a'), 41);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
