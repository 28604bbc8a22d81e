// The ingest guard of one hub when another hub writes the same database (docs/hub.md "Several hubs"):
// its cache of a device's versions and highest seq predates the other hub's deployment and windows.
// With reloadOnMiss (cluster mode) it reads them again before refusing, and stores the window; without
// it (one hub, which invalidates its own cache) the same window is refused as unassigned_version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SeqWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { IngestGuard } from '../ingest/guard.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';

const now = new Date('2026-11-28T13:00:00Z');
const window = (seq: number, version: string): SeqWindow => ({
  seq, model: 'm', version, start: '2026-11-28T12:00:00.000Z', lengthSec: 60, count: 3, errors: {}, latency: { counts: [3], sumMs: 1 }, features: [], outputs: [], inputs: [],
});

test('a window of a version another hub just deployed, and a seq past what another hub stored, are kept in cluster mode', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-guard-shared-'));
  const mine = Store.open(dir, HUB_MIGRATIONS, { shared: true });
  const other = Store.open(dir, HUB_MIGRATIONS, { shared: true });
  try {
    mine.devices.create('box-1', 'secret-box-1-0123456789abcdef', {}, null, now);
    const deploy = (version: string) => other.deployments.addDevices(other.deployments.create({ model: 'm', version, target: { all: true }, reason: 'r', createdBy: 'admin', at: now }), 'm', ['box-1'], now);
    deploy('1.0.0');
    const shared = new IngestGuard({ db: mine.db, logger: new RecordingLogger(), reloadOnMiss: true, limits: { maxSeqGap: 100 } });
    const single = new IngestGuard({ db: mine.db, logger: new RecordingLogger(), limits: { maxSeqGap: 100 } });
    for (const g of [shared, single]) assert.equal(g.windows('box-1', [window(1, '1.0.0')], now).length, 1); // both cached 1.0.0 and seq 1
    deploy('2.0.0'); // on the other hub: this hub's guards were not told
    other.telemetry.putWindows('box-1', [window(150, '2.0.0')], now); // and it stored seq 150
    assert.deepEqual(shared.windows('box-1', [window(200, '2.0.0')], now).map((w) => w.seq), [200], 'cluster mode: versions and seq read again, the window is kept');
    assert.deepEqual(single.windows('box-1', [window(200, '2.0.0')], now), [], 'without it the stale cache refuses it');
    assert.equal(single.refusals('box-1')?.last?.reason, 'unassigned_version');
    assert.deepEqual(shared.windows('box-1', [window(900, '3.0.0')], now), [], 'a version nobody deployed is still refused');
    assert.equal(shared.refusals('box-1')?.last?.reason, 'unassigned_version');
  } finally {
    mine.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
