// Presence marks batched (presence-writer.ts) on the real store: written within flushMs in one
// transaction, the latest mark per device winning, last seen never moved back by a mark that waited
// behind a newer touch(), a full batch written at once, and stop's flush writing what is pending.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@edgefleet/examples';
import { HUB_MIGRATIONS } from '../schema.js';
import { Store } from '../store/index.js';
import { noopLogger } from './ports.js';
import { PresenceWriter } from './presence-writer.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

test('presence marks are batched, the latest per device wins and last seen never moves back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-presence-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    for (const id of ['p-1', 'p-2', 'p-3']) store.devices.create(id, `secret-of-${id}-0123456789`, {}, null, at(0));
    let commits = 0;
    const devices = { markSeen: store.devices.markSeen.bind(store.devices), markSeenMany: (m: Parameters<typeof store.devices.markSeenMany>[0]) => { commits++; store.devices.markSeenMany(m); } };
    const w = new PresenceWriter({ devices, logger: noopLogger, flushMs: 20, maxPending: 3 });
    w.mark('p-1', true, at(1));
    w.mark('p-2', true, at(1));
    w.mark('p-1', false, at(2)); // connected and gone again before the write: offline at 2 s
    assert.equal(store.devices.get('p-1').online, false, 'not written yet');
    await waitFor('the batch written', () => store.devices.get('p-2').online || undefined, { timeoutMs: 5000 });
    assert.equal(commits, 1, 'one transaction for both devices');
    assert.deepEqual([store.devices.get('p-1').online, store.devices.get('p-1').lastSeen], [false, at(2).toISOString()]);
    // A message's touch() at 10 s, then a presence mark stamped 5 s written after it: last seen stays at 10 s.
    store.devices.touch('p-2', at(10));
    w.mark('p-2', false, at(5));
    w.flush();
    assert.deepEqual([store.devices.get('p-2').online, store.devices.get('p-2').lastSeen], [false, at(10).toISOString()]);
    // maxPending devices with a mark: written at once, no timer.
    for (const id of ['p-1', 'p-2', 'p-3']) w.mark(id, true, at(20));
    assert.equal(w.size, 0);
    assert.ok(['p-1', 'p-2', 'p-3'].every((id) => store.devices.get(id).online));
    // A closed store loses the marks without throwing.
    w.mark('p-3', false, at(30));
    store.close();
    assert.doesNotThrow(() => w.flush());
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
