// Windows of a version the registry does not hold (a hub restored from a backup older than the version's
// push: docs/operations.md "Backup and restore"): parked and acked, stored exactly once when the version
// is pushed again, whatever the device resends; a device making up versions parks at most
// ingest.maxParkedBytesPerDevice, and a window parked in a batch that another message failed is parked again
// when its message is retried alone (parked.ts; the hub-wide cap and expiry: parked-bounds.test.ts). A real Store, a signed bundle, the embedded aedes broker on
// 127.0.0.1:0 and mqtt.js devices (testing.ts, parked-testing.ts); hub.db and PostgreSQL (testing/backends.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { STATUS_VERSIONS } from './parked.js';
import { hubWithout2, push, stored, win } from './parked-testing.js';

/** Characters a device may park: a few windows' worth. */
const MAX_PARKED = 3000;

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  describe('windows of a version the registry does not hold', () => {
    const t = hubWithout2(['box', 'liar'], { limits: { maxParkedBytesPerDevice: MAX_PARKED }, database: () => backend.database() });

    it('are acked and parked, and stored exactly once when the version is pushed again', async () => {
      const { hub } = t;
      const ingest = hub.parts.ingest;
      // The box's backlog on 2.0.0 (pushed after the snapshot this hub was restored from), then a window of 1.0.0.
      await hub.send('box', [win(1, '2.0.0'), win(2, '2.0.0'), win(3, '2.0.0'), win(4, '1.0.0')]);
      await hub.send('box', [win(2, '2.0.0'), win(3, '2.0.0')]); // a resend after a lost ack
      assert.deepEqual(stored(hub, 'box'), ['4 1.0.0']);
      const parked = ingest.parked.status('box');
      assert.deepEqual(parked && { windows: parked.windows, versions: parked.versions.map((v) => `${v.model}@${v.version} ${v.windows}`) }, { windows: 3, versions: ['vib@2.0.0 3'] });
      assert.equal(ingest.guard.refusals('box'), undefined, 'parked, not refused');
      assert.equal(await ingest.parked.sweep(), 0, 'nothing to store while the registry does not hold 2.0.0');

      await push(t);
      assert.equal(await ingest.parked.sweep(), 3);
      assert.deepEqual(stored(hub, 'box'), ['1 2.0.0', '2 2.0.0', '3 2.0.0', '4 1.0.0']);
      assert.equal(ingest.parked.status('box'), undefined);
      // Resends after the store, and a second sweep, store nothing again; the box's next 2.0.0 window is stored at once.
      await hub.send('box', [win(1, '2.0.0'), win(3, '2.0.0'), win(5, '2.0.0')]);
      assert.equal(await ingest.parked.sweep(), 0);
      assert.deepEqual(stored(hub, 'box'), ['1 2.0.0', '2 2.0.0', '3 2.0.0', '4 1.0.0', '5 2.0.0']);
      const total = hub.h.store.db.prepare("SELECT SUM(count) AS n FROM device_windows WHERE device_id = 'box'").get() as { n: number };
      assert.equal(total.n, 10, 'every prediction counted once');
    });

    it('a device making up versions parks at most maxParkedBytesPerDevice; the rest is refused as before', async () => {
      const { hub } = t;
      const ingest = hub.parts.ingest;
      await hub.send('liar', Array.from({ length: 40 }, (_, i) => win(i + 1, `9.9.${i}`, 'ghost')));
      const parked = ingest.parked.status('liar');
      assert.ok(parked && parked.bytes <= MAX_PARKED && parked.windows >= 2, JSON.stringify(parked));
      assert.equal(ingest.guard.refusals('liar')?.windows.unassigned_version, 40 - parked.windows);
      assert.deepEqual(stored(hub, 'liar'), []);
      // A version the registry holds but the device was never given is refused, not parked.
      await hub.send('liar', [win(41, '2.0.0')]);
      assert.equal(ingest.parked.status('liar')?.windows, parked.windows);
      assert.equal(ingest.guard.refusals('liar')?.last?.seq, 41);
      // Nor is a window implausible besides its version (starting in 2099), whatever room is left.
      await hub.send('box', [{ ...win(6, '7.0.0'), start: '2099-01-01T00:00:00.000Z' }]);
      assert.equal(ingest.parked.status('box'), undefined);
      assert.equal(ingest.guard.refusals('box')?.last?.seq, 6);
    });
  });

  describe('a backlog larger than one release batch', () => {
    const t = hubWithout2(['big', 'many'], { database: () => backend.database() });

    it('is stored whole, each window once', async () => {
      const { hub } = t;
      const N = 1200;
      for (let from = 1; from <= N; from += 400) await hub.send('big', Array.from({ length: 400 }, (_, i) => win(from + i, '2.0.0')));
      assert.equal(hub.parts.ingest.parked.status('big')?.windows, N);
      await push(t);
      assert.equal(await hub.parts.ingest.parked.sweep(), N);
      const rows = hub.h.store.db.prepare("SELECT COUNT(*) AS n, COUNT(DISTINCT seq) AS seqs, SUM(count) AS predictions FROM device_windows WHERE device_id = 'big'").get() as Record<string, number>;
      assert.deepEqual({ ...rows }, { n: N, seqs: N, predictions: 2 * N });
      assert.equal(hub.parts.ingest.parked.status('big'), undefined);
    });

    it('GET /devices/{id} lists the first STATUS_VERSIONS versions parked and counts them all', async () => {
      await t.hub.send('many', Array.from({ length: STATUS_VERSIONS + 10 }, (_, i) => win(i + 1, `9.9.${i}`, 'ghost')));
      const p = t.hub.parts.ingest.parked.status('many');
      assert.deepEqual([p?.windows, p?.versions.length, p?.versions[0]?.version], [STATUS_VERSIONS + 10, STATUS_VERSIONS, '9.9.0']);
    });
  });

  describe('a parking message whose batch fails for another message', () => {
    const t = hubWithout2(['box', 'bad'], { database: () => backend.database() });

    it('parks its window again when it is retried alone (the failed transaction took the parked row)', async () => {
      const ingest = t.hub.parts.ingest;
      const bad = { ...win(1, '1.0.0'), count: 1n as unknown as number }; // JSON.stringify throws on a BigInt
      // One turn of the loop: one batch, one transaction, which the bad message fails.
      const results = await Promise.allSettled([
        ingest.handleTelemetry('box', { schema: 'edgefleet.telemetry/v1', deviceId: 'box', windows: [win(1, '2.0.0'), win(2, '1.0.0')] }),
        ingest.handleTelemetry('bad', { schema: 'edgefleet.telemetry/v1', deviceId: 'bad', windows: [bad] }),
      ]);
      assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected']);
      assert.deepEqual(stored(t.hub, 'box'), ['2 1.0.0']);
      assert.equal(ingest.parked.status('box')?.windows, 1, 'parked, as its ack said');
      await push(t);
      assert.equal(await ingest.parked.sweep(), 1);
      assert.deepEqual(stored(t.hub, 'box'), ['1 2.0.0', '2 1.0.0']);
    });
  });
});
