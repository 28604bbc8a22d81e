// Parked windows are bounded for the whole hub as well as per device (parked.ts, docs/decisions/
// 0097-parked-windows.md): those parked longer than ingest.parkedRetentionDays are deleted by the sweep
// (parked-expiry.ts; a fake clock), counted and logged once per sweep with their versions, and what is
// kept is still stored exactly once when its version is pushed; past ingest.maxParkedBytes such windows are
// refused as before, exactly at the bound, and parked again once the sweep made room; a hub started on a
// database with windows parked counts them first. A real Store, the
// embedded aedes broker on 127.0.0.1:0 and mqtt.js devices (parked-testing.ts); hub.db and PostgreSQL.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingLogger, RecordingMetrics } from '../mqtt/testing/devices.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { EXPIRE_BATCH } from './parked-expiry.js';
import { ParkedWindows } from './parked.js';
import { hubWithout2, push, stored, win } from './parked-testing.js';

const DAY = 86_400_000;
const EXPIRED = 'deleted parked telemetry windows older than parkedRetentionDays: their model versions were never pushed to the registry';
const CAPPED = 'refused a window of a model version the registry does not hold: the hub has maxParkedBytes parked (acked, not stored)';
/** Characters of one parked window of seq 11-99 (the same for each version x.0.0): its JSON without the seq. */
const ONE = (({ seq: _seq, ...rest }) => JSON.stringify(rest).length)(win(11, '2.0.0'));

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  describe('parked windows older than parkedRetentionDays', () => {
    const logger = new RecordingLogger();
    const metrics = new RecordingMetrics();
    const t = hubWithout2(['old', 'new', 'many'], { limits: { parkedRetentionDays: 2 }, database: () => backend.database(), logger, metrics });

    it('are deleted by the sweep, counted and logged with their versions; what is kept is stored exactly once when pushed', async () => {
      const { hub } = t;
      const ingest = hub.parts.ingest;
      await hub.send('old', [win(11, '2.0.0'), win(12, '2.0.0'), win(13, '7.0.0')]);
      hub.h.clock.advance(DAY);
      await hub.send('new', [win(11, '2.0.0'), win(12, '7.0.0')]);
      hub.h.clock.advance(DAY);
      assert.equal(await ingest.parked.sweep(), 0);
      assert.equal(ingest.parked.status('old')?.windows, 3, 'parked exactly parkedRetentionDays ago: kept');
      assert.equal(metrics.counters.get('edgefleet_ingest_parked_expired_total{}'), undefined);

      hub.h.clock.advance(1000);
      assert.equal(await ingest.parked.sweep(), 0);
      assert.equal(ingest.parked.status('old'), undefined, 'parked longer than parkedRetentionDays: deleted');
      assert.deepEqual(ingest.parked.status('new')?.versions.map((v) => `${v.version} ${v.windows}`), ['2.0.0 1', '7.0.0 1']);
      assert.equal(metrics.counters.get('edgefleet_ingest_parked_expired_total{}'), 3);
      const lines = logger.lines.filter((l) => l.msg === EXPIRED);
      assert.equal(lines.length, 1);
      assert.deepEqual({ ...lines[0]?.obj, parkedBefore: undefined },
        { windows: 3, devices: 1, bytes: 3 * ONE, versions: [{ version: 'vib@2.0.0', windows: 2 }, { version: 'vib@7.0.0', windows: 1 }], versionsCount: 2, parkedRetentionDays: 2, parkedBefore: undefined });

      await push(t);
      assert.equal(await ingest.parked.sweep(), 1);
      await hub.send('new', [win(11, '2.0.0'), win(13, '2.0.0')]); // a resend after the store, and the next window
      assert.equal(await ingest.parked.sweep(), 0);
      assert.deepEqual(stored(hub, 'new'), ['11 2.0.0', '13 2.0.0']);
      assert.deepEqual(stored(hub, 'old'), [], 'expired windows are not stored');
      assert.deepEqual(ingest.parked.status('new')?.versions.map((v) => `${v.version} ${v.windows}`), ['7.0.0 1']);
    });

    it('deletes a backlog larger than one batch in one sweep, logged once', async () => {
      const { hub } = t;
      const n = 2 * EXPIRE_BATCH + 200;
      for (let from = 1; from <= n; from += 400) await hub.send('many', Array.from({ length: 400 }, (_, i) => win(1000 + from + i, '7.0.0')));
      assert.equal(hub.parts.ingest.parked.status('many')?.windows, n);
      const before = logger.lines.length;
      hub.h.clock.advance(2 * DAY + 1000);
      await hub.parts.ingest.parked.sweep();
      assert.equal(hub.parts.ingest.parked.status('many'), undefined);
      assert.deepEqual(logger.lines.slice(before).filter((l) => l.msg === EXPIRED).map((l) => (l.obj as { windows: number }).windows), [n + 1], "with new's 7.0.0 window");
    });
  });

  describe('the hub-wide cap maxParkedBytes', () => {
    const logger = new RecordingLogger();
    const t = hubWithout2(['a', 'b', 'c'], { limits: { maxParkedBytes: 3 * ONE }, database: () => backend.database(), logger });

    it('parks up to its bound, refuses past it (acked, counted), and parks again once the sweep made room', async () => {
      const { hub } = t;
      const ingest = hub.parts.ingest;
      await hub.send('a', [win(11, '2.0.0'), win(12, '2.0.0')]);
      await hub.send('b', [win(11, '2.0.0'), win(12, '7.0.0')]);
      await hub.send('c', [win(11, '7.0.0')]);
      assert.deepEqual(['a', 'b', 'c'].map((id) => ingest.parked.status(id)?.bytes), [2 * ONE, ONE, undefined], 'exactly at the bound');
      assert.equal(ingest.guard.refusals('b')?.windows.unassigned_version, 1);
      assert.equal(ingest.guard.refusals('c')?.windows.unassigned_version, 1);
      const capped = logger.lines.filter((l) => l.msg === CAPPED);
      assert.equal(capped.length, 1, 'logged once a minute for the hub, not per device');
      assert.equal((capped[0]?.obj as { maxParkedBytes: number }).maxParkedBytes, 3 * ONE);

      await push(t);
      assert.equal(await ingest.parked.sweep(), 3);
      await hub.send('c', [win(12, '7.0.0'), win(13, '7.0.0'), win(14, '7.0.0'), win(15, '7.0.0')]);
      assert.equal(ingest.parked.status('c')?.windows, 3, 'room made by the store: the cap counts again from there');
      assert.equal(ingest.guard.refusals('c')?.windows.unassigned_version, 2);
    });

    it('a hub started on a database with windows parked counts them first (in chunks), then parks up to its bound', async () => {
      const { hub } = t;
      const before = hub.h.store.db.prepare('SELECT COUNT(*) AS n FROM parked_windows').get() as { n: number };
      assert.equal(Number(before.n), 3, "c's windows");
      const restarted = new ParkedWindows({
        db: hub.h.store.db, logger: new RecordingLogger(), maxBytes: 1 << 20, maxTotalBytes: 5 * ONE, retentionDays: 30, countChunk: 2,
        now: () => hub.h.clock.now(), release: () => Promise.resolve(),
      });
      restarted.start();
      try {
        assert.equal(await restarted.sweep(), 0);
        const now = hub.h.clock.now();
        assert.deepEqual([win(21, '7.0.0'), win(22, '7.0.0'), win(23, '7.0.0')].map((w) => restarted.park('d', { kind: 'window', item: w }, now)), ['parked', 'parked', false]);
      } finally {
        restarted.stop();
      }
    });
  });
});
