// The retention timer deletes raw windows one batch of 2,000 per turn of the event loop (retention.ts,
// docs/drift.md "Retention"), on each database backend: expiry past retention.windowsDays and eviction of
// devices past 90 % of their stored bytes. Before, each ran to its end in one go: 200,000 expired windows
// took 7.8 s on the 2-core VM (2026-12-06), the hub answering nothing meanwhile, and an hourly run of
// 10,000 devices at one window a minute expires 600,000. Each evicted device is still logged once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../store/index.js';
import { HUB_MIGRATIONS } from '../schema.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { WindowRetention } from './retention.js';
import type { LoggerPort } from '../mqtt/ports.js';
import { DELETE_BATCH } from '../store/stored-bytes.js';

const DAY = 86_400_000;
const NOW = Date.parse('2027-03-01T00:00:00Z');
const BODY = JSON.stringify({ w: 'x'.repeat(200) });

let backend: Backend;
forEachBackend((b) => { backend = b; }, suite);

function open(): { store: Store; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ef-retention-turns-'));
  const store = Store.open(dir, HUB_MIGRATIONS, { database: backend.database() });
  return { store, close: () => { store.close(); rmSync(dir, { recursive: true, force: true }); } };
}

/** `n` windows of `device` from seq `from`, starting at `startMs` a minute apart, counted in its stored bytes. */
function put(s: Store, device: string, from: number, n: number, startMs: number): void {
  const ins = s.db.prepare("INSERT INTO device_windows (device_id, seq, model, version, start, length_sec, count, window, received_at) VALUES (?, ?, 'vib', '1.0.0', ?, 60, 1, ?, ?)");
  s.db.transaction(() => {
    for (let i = 0; i < n; i++) ins.run(device, from + i, new Date(startMs + i * 60_000).toISOString(), BODY, new Date(NOW).toISOString());
    s.stored.add(device, n * BODY.length);
  })();
}

const count = (s: Store, device: string) => Number((s.db.prepare('SELECT COUNT(*) AS n FROM device_windows WHERE device_id = ?').get(device) as { n: number }).n);

async function turnsUntil(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 200 && !done(); turn++) await new Promise((resolve) => setImmediate(resolve));
}

function logs(): LoggerPort & { lines: Array<{ obj: Record<string, unknown>; msg: string }> } {
  const lines: Array<{ obj: Record<string, unknown>; msg: string }> = [];
  const at = (obj: object, msg?: string) => lines.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' });
  return { lines, debug: at, info: at, warn: at, error: at };
}

function suite(): void {
  test('expiry past windowsDays goes one batch a turn; newer windows stay', async () => {
    const h = open();
    try {
      const old = DELETE_BATCH * 2 + 100;
      put(h.store, 'd', 1, old, NOW - 40 * DAY);
      put(h.store, 'd', old + 1, 10, NOW - DAY);
      const logger = logs();
      const retention = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(NOW) }, logger, maxStoredBytesPerDevice: 1 << 30 }, { windowsDays: 30 });
      retention.start();
      try {
        assert.equal(count(h.store, 'd'), old + 10 - DELETE_BATCH, 'the first turn deleted one batch, no more');
        await turnsUntil(() => logger.lines.some((l) => l.msg.startsWith('expired raw summary windows')));
      } finally {
        retention.stop();
      }
      assert.equal(count(h.store, 'd'), 10);
      assert.equal(h.store.stored.get('d'), 10 * BODY.length);
      assert.deepEqual(logger.lines.filter((l) => l.msg.startsWith('expired raw summary windows')).map((l) => l.obj.deleted), [old], 'logged once, with the whole run');
    } finally {
      h.close();
    }
  });

  test('eviction goes one batch a turn, device after device, each down to 80 % and logged once', async () => {
    const h = open();
    try {
      const n = DELETE_BATCH * 3;
      for (const d of ['a', 'b']) put(h.store, d, 1, n, NOW - DAY);
      // A bound both are far past: each goes down to 80 % of it, more than one batch each.
      const bound = Math.ceil(n * BODY.length * 0.5);
      const logger = logs();
      const retention = new WindowRetention({ stored: h.store.stored, clock: { now: () => new Date(NOW) }, logger, maxStoredBytesPerDevice: bound }, {});
      retention.start();
      try {
        assert.equal(count(h.store, 'a') + count(h.store, 'b'), 2 * n - DELETE_BATCH, 'the first turn evicted one batch, no more');
        await turnsUntil(() => logger.lines.filter((l) => l.msg.startsWith('evicted')).length === 2);
      } finally {
        retention.stop();
      }
      const evicted = logger.lines.filter((l) => l.msg.startsWith('evicted'));
      assert.deepEqual(evicted.map((l) => l.obj.deviceId).sort(), ['a', 'b']);
      for (const l of evicted) {
        const d = String(l.obj.deviceId);
        assert.equal(l.obj.evicted, n - count(h.store, d), `${d}: the log counts every turn's windows`);
        const left = h.store.stored.get(d);
        assert.ok(left <= bound * 0.8 && left + BODY.length > bound * 0.8, `${d}: ${left} just under 80 % of ${bound}`);
      }
    } finally {
      h.close();
    }
  });
}
