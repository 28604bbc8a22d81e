// The parked bounds' counts of one hub when another hub's sweep expires what it parked (docs/hub.md "What
// the hub accepts from devices", docs/decisions/0111-parked-seqs-of-other-hubs.md). Each hub counts what it parks
// and what its own sweep removes; hub A's sweep deleted the windows hub B parked, and B went on refusing the
// device's windows as over maxParkedBytesPerDevice, and every device's as over maxParkedBytes, with nothing
// parked in the table, until it restarted. Now a hub reads a count from the table again before it refuses:
// a device's at once (at most once a minute), the table's at its next sweep (at most every 10 minutes).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SeqWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { ParkedWindows } from '../ingest/parked.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { backends } from '../testing/backends.js';

const start = Date.parse('2026-11-28T13:00:00Z');
const window = (seq: number, version: string): SeqWindow => ({
  seq, model: 'm', version, start: new Date(Date.parse('2026-11-28T12:00:00.000Z') + seq * 60_000).toISOString(), lengthSec: 60, count: 3, errors: {},
  latency: { counts: [3], sumMs: 1 }, features: [], outputs: [], inputs: [],
});
/** Characters one window of `window()` parks as (text without its seq). */
const TEXT = JSON.stringify((({ seq: _s, ...rest }) => rest)(window(1, '2.0.0'))).length;

for (const backend of backends()) {
  describe(`several hubs on ${backend.name}: the parked bounds' counts`, () => {
    it('follow what another hub\'s sweep removed', async () => {
      const database = backend.database();
      const dirs = [mkdtempSync(join(tmpdir(), 'ef-parked-counts-')), mkdtempSync(join(tmpdir(), 'ef-parked-counts-'))] as const;
      const [a, b] = [Store.open(dirs[0], HUB_MIGRATIONS, { database, shared: true }), Store.open(database ? dirs[1] : dirs[0], HUB_MIGRATIONS, { database, shared: true })];
      let now = new Date(start);
      const logger = new RecordingLogger();
      const hub = (store: Store, maxTotalBytes: number) => new ParkedWindows({
        db: store.db, logger, maxBytes: 3 * TEXT, maxTotalBytes, retentionDays: 1, now: () => now, release: () => Promise.resolve(), shared: true,
      });
      // Hub B: room for three windows of one device, and for four of all devices.
      const [hubA, hubB] = [hub(a, 1 << 30), hub(b, 4 * TEXT)];
      try {
        await hubB.sweep(); // counts the table (empty), as at start
        const park = (h: ParkedWindows, id: string, seq: number) => h.park(id, { kind: 'window', item: window(seq, '2.0.0') }, now);
        assert.deepEqual([1, 2, 3, 4].map((s) => park(hubB, 'box', s)), ['parked', 'parked', 'parked', false], 'box at its bound through hub B');
        assert.equal(park(hubB, 'other', 1), 'parked');
        assert.equal(park(hubB, 'other', 2), false, 'hub B at maxParkedBytes');

        now = new Date(start + 2 * 86_400_000);
        await hubA.sweep(); // hub A's sweep expires them all
        assert.equal(hubA.status('box'), undefined);
        assert.equal(park(hubB, 'other', 3), false, 'refused while the table is summed again');
        await hubB.sweep();
        assert.equal(park(hubB, 'other', 3), 'parked', 'the hub-wide count read again from the table');
        assert.equal(park(hubB, 'box', 5), 'parked', 'the device\'s count read again from the table');
        assert.equal(hubB.status('box')?.windows, 1);
      } finally {
        hubA.stop();
        hubB.stop();
        a.close();
        b.close();
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      }
    });
  });
}
