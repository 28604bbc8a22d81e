// No one device carries a fleet's drift (docs/drift.md "No one device carries a group",
// docs/decisions/0139-no-one-device-carries-fleet-drift.md). A fourth enrolled box sends one window of
// 60 million predictions in a minute, plausible (ingest.maxPredictionsPerSec is 1,000,000), through the
// real ingest path (the embedded aedes broker on 127.0.0.1:0, mqtt.js devices, a real Store and its
// rollups) on SQLite and PostgreSQL. Before, three honest devices whose output matched the reference
// (PSI 0) read a fleet output PSI of 9.309, drifted, and a drift.psi alert on it would fire; now the box
// is left out of the group and named with its share.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLatency, type DriftGroup, type SeqWindow } from '@edgefleet/shared';
import { startVibIngestHub, type IngestHub } from '../ingest/testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { FleetAnalytics } from './service.js';
import { formatDrift } from '../cli/commands/drift.js';

const H10 = Date.parse('2026-03-01T10:00:00.000Z');
/** The reference's output `score` is binned [1, 2, 3, 4] (rollups/testing.ts tempModeReference). */
const AS_REFERENCE = [100, 200, 300, 400];
const RANGE = { since: '2026-03-01T00:00:00.000Z', until: '2026-03-01T12:00:00.000Z', timeline: false };

/** `n` answered requests of 1 ms in one window of 60 s, the output binned as `bins` (summing to `n`), of mean `mean`. */
function win(seq: number, n: number, bins: number[], mean = 0.5): SeqWindow {
  const latency = emptyLatency();
  latency.counts[40] = n;
  return {
    seq, model: 'vib', version: '1.0.0', start: new Date(H10 + seq * 60_000).toISOString(), lengthSec: 60, count: n,
    errors: {}, latency: { ...latency, sumMs: n }, features: [],
    outputs: [{ name: 'score', index: 0, hist: { counts: bins, under: 0, over: 0 }, moments: { n, mean, m2: 0, min: 0.05, max: 0.9 } }],
    inputs: [],
  };
}

const outputPsi = (g: DriftGroup) => g.outputs[0]?.psi;

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  describe('a box holding most of a group\'s predictions is left out of its drift', () => {
    let hub: IngestHub;
    let analytics: FleetAnalytics;

    before(async () => {
      hub = await startVibIngestHub('ef-driftshare-', ['h1', 'h2', 'h3', 'rogue', 'b1', 'b2', 'b3'], backend.database(), true);
      analytics = new FleetAnalytics(hub.h.store.db, hub.h.store.rollups);
      // Site a: three honest devices of 3,000 predictions each, binned as the reference.
      for (const id of ['h1', 'h2', 'h3']) await hub.send(id, [1, 2, 3].map((seq) => win(seq, 1000, AS_REFERENCE)));
      // Site b: two honest devices of 1,000 and one holding exactly half of the site's 4,000 (at the share: kept), shifted.
      for (const id of ['b1', 'b2']) await hub.send(id, [win(1, 1000, AS_REFERENCE)]);
      await hub.send('b3', [win(1, 2000, [1000, 400, 300, 300])]);
      await hub.send('rogue', [win(1, 60_000_000, [60_000_000, 0, 0, 0], 0.05)]);
      assert.equal(hub.parts.ingest.guard.refusals('rogue'), undefined, 'the box\'s window was stored');
      for (const [ids, site] of [[['h1', 'h2', 'h3', 'rogue'], 'a'], [['b1', 'b2', 'b3'], 'b']] as const) {
        for (const id of ids) hub.h.store.db.prepare('UPDATE devices SET tags = ? WHERE id = ?').run(JSON.stringify({ site }), id);
      }
    });
    after(() => hub.stop());

    const rogue = {
      deviceId: 'rogue', predictions: 60_000_000, groupPredictions: 60_013_000, outputValues: 60_000_000, groupOutputValues: 60_013_000, maxShare: 0.5,
      note: 'rogue left out of the group\'s statistics: it reported 60000000 of its 60013000 predictions (100 %) and 60000000 of its 60013000 output values (100 %), more than the share 0.5 one device may hold',
    };

    it('the fleet group leaves the box out, names it, and reads the others\' PSI (0.0352; with it: 9.309, drifted)', () => {
      for (const worst of [true, false]) {
        const d = analytics.drift('vib', '1.0.0', { ...RANGE, worst }, hub.h.clock.now());
        const g = d.groups[0] as DriftGroup;
        assert.deepEqual(g.leftOut, rogue, `worst: ${worst}`);
        assert.equal(g.devices, 7, 'the box still counts as a device of the group');
        assert.equal(g.predictions, 13_000);
        // Observed [0, 2100, 2600, 3600, 4700, 0] against the reference [0, 1, 2, 3, 4, 0]: PSI 0.03525 (JS 0.0794),
        // under 0.2 (0.1); with the box's 60,000,000 in the first bin it read 9.309 (JS 0.870).
        assert.ok(Math.abs((outputPsi(g) as number) - 0.035248) < 1e-5, `psi ${outputPsi(g)}`);
        assert.equal(g.drifted, false);
        assert.ok(Math.abs((g.outputs[0]?.mean as number) - 0.5) < 1e-9, `mean ${g.outputs[0]?.mean}: the box's (0.05) taken out`);
        assert.ok(formatDrift(d).includes(`7 devices, 13000 predictions\n  ${rogue.note}\n`), 'edgefleet drift prints the note under the group');
      }
    });

    it('a tag group leaves the box out; a device holding exactly half of its group is kept', () => {
      const d = analytics.drift('vib', '1.0.0', { ...RANGE, by: 'tag:site' }, hub.h.clock.now());
      const [a, b] = d.groups as [DriftGroup, DriftGroup];
      assert.equal(a.key, 'a');
      assert.equal(a.leftOut?.deviceId, 'rogue');
      assert.equal(a.leftOut?.groupPredictions, 60_009_000);
      assert.equal(a.predictions, 9000);
      assert.equal(outputPsi(a), 0, 'the honest devices match the reference');
      assert.equal(a.drifted, false);
      assert.equal(b.key, 'b');
      assert.equal(b.leftOut, null, 'b3 holds 2,000 of 4,000: at the share, not above it');
      assert.equal(b.predictions, 4000);
      // Observed [0, 1200, 800, 900, 1100, 0]: PSI 0.2881.
      assert.ok(Math.abs((outputPsi(b) as number) - 0.288135) < 1e-5, `psi ${outputPsi(b)}`);
      assert.equal(b.drifted, true);
    });

    it('a group of one device (by device) is never checked: the box reads its own drift', () => {
      const d = analytics.drift('vib', '1.0.0', { ...RANGE, by: 'device' }, hub.h.clock.now());
      const g = d.groups.find((x) => x.key === 'rogue') as DriftGroup;
      assert.equal(g.leftOut, null);
      assert.equal(g.predictions, 60_000_000);
      assert.equal(g.drifted, true);
    });
  });
});
