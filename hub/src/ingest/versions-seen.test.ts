// Windows of a version the box no longer holds (docs/hub.md "What the hub accepts from devices"): a box
// that installed 1.0.0 from a USB stick, ran it offline, then installed newer versions and pruned 1.0.0
// (agent/src/install/prune.ts) still has 1.0.0's windows in its outbox. Its state no longer lists 1.0.0;
// the hub keeps accepting them, and still refuses a version the box never reported. Only registry
// versions are remembered, so a box reporting made-up ones grows nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReportedState, STATE_SCHEMA, type SeqWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { IngestGuard } from './guard.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { registerVersion } from '../rollups/testing.js';

const now = new Date('2026-11-28T13:00:00Z');
const window = (seq: number, version: string): SeqWindow => ({
  seq, model: 'm', version, start: '2026-11-28T12:00:00.000Z', lengthSec: 60, count: 3, errors: {}, latency: { counts: [3], sumMs: 1 }, features: [], outputs: [], inputs: [],
});
const state = (active: string, installed: string[]) => ReportedState.parse({
  schema: STATE_SCHEMA, deviceId: 'box-1', at: now.toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 0, trustVersion: 1,
  models: [{ name: 'm', active, installed, status: 'active' }],
});

test('a window of a version the box reported once, then pruned, is stored; one it never reported is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-seen-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  try {
    store.devices.create('box-1', 'secret-box-1-0123456789abcdef', {}, null, now);
    for (const v of ['1.0.0', '2.0.0', '3.0.0', '9.0.0']) registerVersion(store.db, 'm', v, {});
    store.devices.setReported('box-1', state('1.0.0', ['1.0.0']));
    store.devices.setReported('box-1', state('3.0.0', ['2.0.0', '3.0.0'])); // 1.0.0 pruned on the box
    assert.deepEqual(store.devices.get('box-1').models.map((m) => m.version), ['2.0.0', '3.0.0'], 'what the box holds now');
    const guard = new IngestGuard({ db: store.db, logger: new RecordingLogger(), limits: { maxSeqGap: 100 } });
    assert.deepEqual(guard.windows('box-1', [window(1, '1.0.0'), window(2, '3.0.0')], now).map((w) => w.seq), [1, 2], 'the pruned version\'s window is kept');
    assert.deepEqual(guard.windows('box-1', [window(3, '9.0.0')], now), [], 'a version in the registry the box never reported');
    assert.equal(guard.refusals('box-1')?.last?.reason, 'unassigned_version');
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('made-up versions in state reports leave no rows; a version uploaded while a box holds it counts as reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-seen-'));
  const store = Store.open(dir, HUB_MIGRATIONS);
  const seen = () => (store.db.prepare("SELECT version FROM device_versions_seen WHERE device_id = 'box-1' ORDER BY version").all() as Array<{ version: string }>).map((r) => r.version);
  try {
    store.devices.create('box-1', 'secret-box-1-0123456789abcdef', {}, null, now);
    registerVersion(store.db, 'm', '1.0.0', {});
    // A box (broken or hostile) reporting new versions in every report: only the registry's is kept.
    for (let i = 0; i < 200; i++) store.devices.setReported('box-1', state('1.0.0', ['1.0.0', `7.0.${i}`, `8.0.${i}`]));
    assert.deepEqual(seen(), ['1.0.0']);
    // 7.0.199 was installed from a file before anyone uploaded it; the upload makes it a reported version.
    store.db.prepare('INSERT OR IGNORE INTO blobs (sha256, size, created_at) VALUES (?, 0, ?)').run('a'.repeat(64), now.toISOString());
    const manifest = { ...store.models.get('m', '1.0.0').manifest, version: '7.0.199' };
    store.models.insert({ manifest, manifestSha256: 'b'.repeat(64), signatures: [], bundleSha256: 'a'.repeat(64), bundleSize: 0, pushedBy: 'test', at: now });
    assert.deepEqual(seen(), ['1.0.0', '7.0.199']);
    const guard = new IngestGuard({ db: store.db, logger: new RecordingLogger(), limits: { maxSeqGap: 100 } });
    assert.deepEqual(guard.windows('box-1', [window(1, '7.0.199')], now).map((w) => w.seq), [1]);
    assert.deepEqual(guard.windows('box-1', [window(2, '8.0.199')], now), [], 'never uploaded');
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
