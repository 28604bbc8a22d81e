// Parked seqs another hub parked (docs/decisions/0103-parked-events-and-held-seqs.md, docs/hub.md "Several
// hubs"). Each hub's guard knows a device's highest parked seq from its first read of the device and from
// what it parks itself; with several hubs the broker hands the device's next message to any of them. Hub B
// read the device (seq 1) before hub A parked seqs 2-5 of a version the registry lacks; then the box's
// agent.db is put back from a backup and numbers a new window 2 again. Before, B stored it under seq 2 and
// acked it as new with maxSeq 1, and the parked window 2 was dropped as a resend at the push: lost. Now B
// reads the device's highest stored and parked seqs again with its stored bytes (one statement, once a minute per
// device): it holds seq 2 as `known` and tells maxSeq 5, as hub A would.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SeqWindow } from '@edgefleet/shared';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { IngestGuard, STORED_RELOAD_MS } from '../ingest/guard.js';
import { ParkedWindows } from '../ingest/parked.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { backends } from '../testing/backends.js';

const now = new Date('2026-11-28T13:00:00Z');
const window = (seq: number, version: string): SeqWindow => ({
  seq, model: 'm', version, start: new Date(Date.parse('2026-11-28T12:00:00.000Z') + seq * 60_000).toISOString(), lengthSec: 60, count: 3, errors: {},
  latency: { counts: [3], sumMs: 1 }, features: [], outputs: [], inputs: [],
});

/** One hub's guard with its parked windows, as service.ts wires them in cluster mode. */
function hubGuard(store: Store): IngestGuard {
  const logger = new RecordingLogger();
  const parked = new ParkedWindows({
    db: store.db, logger, maxBytes: 1 << 20, maxTotalBytes: 1 << 30, retentionDays: 30, now: () => now, release: () => Promise.resolve(),
  });
  return new IngestGuard({
    db: store.db, logger, reloadOnMiss: true, limits: { maxSeqGap: 100 },
    park: (id, p, at) => parked.park(id, p, at), parkedHolds: (id, seq) => parked.holds(id, seq),
  });
}

for (const backend of backends()) {
  describe(`several hubs on ${backend.name}: seqs another hub parked`, () => {
    it('are held by a hub that read the device before they were parked, at its next read of the device (a minute at most)', () => {
      const database = backend.database();
      const dirs = [mkdtempSync(join(tmpdir(), 'ef-parked-shared-')), mkdtempSync(join(tmpdir(), 'ef-parked-shared-'))] as const;
      // SQLite: one data dir (one hub.db); PostgreSQL: a data dir each, one database.
      const [a, b] = [Store.open(dirs[0], HUB_MIGRATIONS, { database, shared: true }), Store.open(database ? dirs[1] : dirs[0], HUB_MIGRATIONS, { database, shared: true })];
      try {
        a.devices.create('box', 'secret-box-0123456789abcdef', {}, null, now);
        a.deployments.addDevices(a.deployments.create({ model: 'm', version: '1.0.0', target: { all: true }, reason: 'r', createdBy: 'admin', at: now }), 'm', ['box'], now);
        const [hubA, hubB] = [hubGuard(a), hubGuard(b)];
        const kept = hubB.windows('box', [window(1, '1.0.0')], now, []);
        assert.deepEqual(kept.map((w) => w.seq), [1]);
        b.telemetry.putWindows('box', kept, now);

        const heldA: number[] = [];
        assert.deepEqual(hubA.windows('box', [2, 3, 4, 5].map((s) => window(s, '2.0.0')), now, heldA), [], 'parked by hub A');
        assert.equal(hubA.maxSeq('box'), 5);

        // The box's agent.db put back: a new 1.0.0 window numbered 2 again, handed to hub B.
        const later = new Date(now.getTime() + STORED_RELOAD_MS);
        const heldB: number[] = [];
        assert.deepEqual(hubB.windows('box', [{ ...window(2, '1.0.0'), count: 1 }], later, heldB), [], 'nothing stored under a seq hub A parked');
        assert.deepEqual(heldB, [2], 'acked as known: the box moves the window above maxSeq');
        assert.equal(hubB.maxSeq('box'), 5, 'the highest seq held, one hub A parked');
      } finally {
        a.close();
        b.close();
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      }
    });
  });
}
