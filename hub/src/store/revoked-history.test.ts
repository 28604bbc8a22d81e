// A revoked device's raw windows and events go retention.revokedDays after its revocation (default 90:
// docs/decisions/0133-revoked-devices-history-goes.md, docs/operations.md "What grows and what bounds
// it"), on each database backend, with an injected clock; its rollups stay, so metrics and drift over
// its time stay exact. Before, a revoked device kept its raw history for ever (up to
// ingest.maxStoredBytesPerDevice each, 256 MiB), so a fleet that replaces boxes grew without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Feature, Reference, SeqWindow } from '@edgefleet/shared';
import { Store } from './index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { mergeRollups } from '../rollups/query.js';
import { DEFAULT_REVOKED_DAYS, WindowRetention } from '../rollups/retention.js';
import { noopLogger } from '../mqtt/ports.js';
import { DELETE_BATCH } from './stored-bytes.js';

const DAY = 86_400_000;
const NOW = Date.parse('2027-06-01T00:00:00Z');
const T0 = NOW - 10 * DAY;
const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }];
const REFERENCE: Reference = { id: 'c'.repeat(64), rows: 100, features: [numericReference('temp')], outputs: [] };
const RANGE = { model: 'vib', version: '1.0.0', since: T0, until: NOW };

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function windows(n: number): SeqWindow[] {
  const rand = seeded(n);
  return Array.from({ length: n }, (_, i) => ({
    ...sampleWindow({ model: 'vib', version: '1.0.0', start: T0 + i * 60_000 }, FEATURES, REFERENCE, 4, { numeric: { temp: () => rand() * 10 } }, rand),
    seq: i + 1,
  }));
}

function suite(): void {
  test(`a device revoked more than ${DEFAULT_REVOKED_DAYS} days ago loses its raw windows and events, in turns; its rollups and the others' rows stay`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ef-revoked-'));
    const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
    try {
      registerVersion(store.db, 'vib', '1.0.0', { features: FEATURES, reference: REFERENCE });
      // Revoked long ago (more than one batch of windows), exactly at the bound, recently, and not at all.
      const revoked: Record<string, number | null> = { gone: NOW - (DEFAULT_REVOKED_DAYS + 1) * DAY, edge: NOW - DEFAULT_REVOKED_DAYS * DAY, recent: NOW - 10 * DAY, live: null };
      for (const [id, at] of Object.entries(revoked)) {
        store.devices.create(id, `secret-${id}`, {}, null, new Date(T0 - 400 * DAY));
        store.telemetry.putWindows(id, windows(id === 'gone' ? DELETE_BATCH + 100 : 5), new Date(NOW));
        store.telemetry.putEvents(id, [{ seq: 100_000, at: new Date(NOW - DAY).toISOString(), kind: 'activated', model: 'vib', version: '1.0.0', message: 'on' }], new Date(NOW));
        if (at !== null) store.devices.revoke(id, new Date(at));
      }
      const before = mergeRollups(store.rollups, RANGE);
      const held = (id: string) => [store.telemetry.windows({ deviceId: id }).length, store.telemetry.events({ deviceId: id }).length];
      const retention = new WindowRetention({ stored: store.stored, clock: { now: () => new Date(NOW) }, logger: noopLogger, maxStoredBytesPerDevice: 1 << 30 }, {});
      retention.start();
      try {
        for (let turn = 0; turn < 100 && held('gone').some((n) => n > 0); turn++) await new Promise((resolve) => setImmediate(resolve));
      } finally {
        retention.stop();
      }
      assert.deepEqual(held('gone'), [0, 0]);
      assert.equal(store.stored.get('gone'), 0);
      for (const id of ['edge', 'recent', 'live']) assert.deepEqual(held(id), [5, 1], id);
      assert.deepEqual(mergeRollups(store.rollups, RANGE), before, 'the rollups keep what the deleted windows held');
      assert.equal(retention.forgetRevoked(), 0, 'nothing more');
      // retention.revokedDays shortens it: the recent one goes too, never a device not revoked.
      const week = new WindowRetention({ stored: store.stored, clock: { now: () => new Date(NOW) }, logger: noopLogger, maxStoredBytesPerDevice: 1 << 30 }, { revokedDays: 7 });
      assert.equal(week.forgetRevoked(), 12);
      assert.deepEqual([held('edge'), held('recent'), held('live')], [[0, 0], [0, 0], [5, 1]]);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
