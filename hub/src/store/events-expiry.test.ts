// Device events expire by age (retention.eventsDays, default a year: docs/decisions/0132-device-events-expire.md,
// docs/operations.md "What grows and what bounds it"), on each database backend, with an injected clock:
// before, a hub kept every event of every device for ever (retention.windowsDays aged windows only).
// An event stamped exactly eventsDays ago stays, one a millisecond older goes; more than one batch goes
// in turns of the event loop from the retention timer; each device's stored bytes follow; a bad value
// in the config is CONFIG_INVALID naming the field (revokedDays too: revoked-history.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceEvent } from '@edgefleet/shared';
import { Store } from './index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { DEFAULT_EVENTS_DAYS, WindowRetention } from '../rollups/retention.js';
import { noopLogger } from '../mqtt/ports.js';
import { loadConfig } from '../config-load.js';
import { DELETE_BATCH } from './stored-bytes.js';

const DAY = 86_400_000;
const NOW = Date.parse('2027-12-01T00:00:00Z');

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function open(): { store: Store; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-events-expiry-'));
  const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
  return { store, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

const event = (seq: number, atMs: number): DeviceEvent => ({ seq, at: new Date(atMs).toISOString(), kind: 'activated', model: 'vib', version: '1.0.0', message: `event ${seq}` });

function summed(s: Store, id: string): number {
  const r = s.db.prepare('SELECT COALESCE(SUM(LENGTH(event)), 0) AS n FROM device_events WHERE device_id = ?').get(id) as { n: number };
  return Number(r.n);
}

const seqs = (s: Store, id: string) => s.telemetry.events({ deviceId: id }).map((e) => e.seq);

function suite(): void {
  test(`events past ${DEFAULT_EVENTS_DAYS} days go by default, the one stamped exactly then stays; stored bytes follow`, () => {
    const h = open();
    try {
      const cutoff = NOW - DEFAULT_EVENTS_DAYS * DAY;
      h.store.telemetry.putEvents('d0', [event(1, cutoff - 30 * DAY), event(2, cutoff - 1), event(3, cutoff), event(4, NOW - DAY)], new Date(NOW));
      h.store.telemetry.putEvents('d1', [event(1, cutoff - DAY), event(2, NOW)], new Date(NOW));
      const retention = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(NOW) }, logger: noopLogger, maxStoredBytesPerDevice: 1 << 30 }, {});
      assert.equal(retention.expireEvents(), 3);
      assert.deepEqual(seqs(h.store, 'd0'), [3, 4]);
      assert.deepEqual(seqs(h.store, 'd1'), [2]);
      for (const id of ['d0', 'd1']) assert.equal(h.store.stored.get(id), summed(h.store, id), id);
      assert.equal(retention.expireEvents(), 0, 'nothing more');
      // retention.eventsDays shortens it.
      const month = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(NOW) }, logger: noopLogger, maxStoredBytesPerDevice: 1 << 30 }, { eventsDays: 30 });
      assert.equal(month.expireEvents(), 1);
      assert.deepEqual(seqs(h.store, 'd0'), [4]);
      assert.equal(h.store.stored.get('d0'), summed(h.store, 'd0'));
    } finally {
      h.close();
    }
  });

  test(`the retention timer deletes more than ${DELETE_BATCH} old events in turns, newer ones stay`, async () => {
    const h = open();
    try {
      const old = DELETE_BATCH * 2 + 100;
      const t0 = NOW - 400 * DAY;
      h.store.db.transaction(() => {
        for (let from = 1; from <= old; from += 500) {
          h.store.telemetry.putEvents('busy', Array.from({ length: Math.min(500, old - from + 1) }, (_, i) => event(from + i, t0 + (from + i) * 1000)), new Date(NOW));
        }
      })();
      h.store.telemetry.putEvents('busy', [event(old + 1, NOW - DAY)], new Date(NOW));
      const retention = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(NOW) }, logger: noopLogger, maxStoredBytesPerDevice: 1 << 30 }, { everyMs: 3600_000 });
      retention.start();
      try {
        // Each turn of the event loop deletes one batch: wait turns until only the new one is left.
        for (let turn = 0; turn < 100 && seqs(h.store, 'busy').length > 1; turn++) await new Promise((resolve) => setImmediate(resolve));
      } finally {
        retention.stop();
      }
      assert.deepEqual(seqs(h.store, 'busy'), [old + 1]);
      assert.equal(h.store.stored.get('busy'), summed(h.store, 'busy'));
    } finally {
      h.close();
    }
  });
}

test('retention.eventsDays and revokedDays in the config: whole days from 1 to 36500, else CONFIG_INVALID naming them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-cfg-'));
  try {
    const file = join(dir, 'hub.json');
    writeFileSync(file, JSON.stringify({ dataDir: 'data', retention: { eventsDays: 90, revokedDays: 30 } }));
    assert.deepEqual([loadConfig({ config: file }, dir).retention?.eventsDays, loadConfig({ config: file }, dir).retention?.revokedDays], [90, 30]);
    for (const key of ['eventsDays', 'revokedDays']) {
      for (const bad of [0, 1.5, 40_000, '90']) {
        writeFileSync(file, JSON.stringify({ dataDir: 'data', retention: { [key]: bad } }));
        assert.throws(() => loadConfig({ config: file }, dir), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && e.message.includes(`retention.${key}`) && e.message.includes('whole days from 1 to 36500'), `${key} ${String(bad)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
