// The fleet figures that pooled every device after decision 0139 (docs/decisions/0139-no-one-device-carries-fleet-drift.md,
// addendum): the PSI timeline, a baseline period, fleet metrics (GET .../metrics) and the alert metrics
// other than drift.psi. One enrolled box sends one window of 60 million answered predictions in a minute
// (plausible: ingest.maxPredictionsPerSec is 1,000,000) through the real ingest path (the embedded aedes
// broker on 127.0.0.1:0, mqtt.js devices, a real Store) on SQLite and PostgreSQL, beside three honest
// devices matching the reference and failing one request in five. Before, the box turned the timeline's
// hour to output PSI 9.3, made a period it dominated a baseline against which the honest hour after it
// drifted (PSI 9.3), and diluted the fleet's model_error_rate to 2.5e-5 (the honest 0.2: a
// model_error_rate rule at 0.1 stayed quiet); 6 million failed requests beside 10 answered made an honest hour's
// rate 0.9995. Now each leaves it out, and fleet metrics name it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLatency, type SeqWindow } from '@edgefleet/shared';
import { startVibIngestHub, type IngestHub } from '../ingest/testing.js';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { mergeRollups } from '../rollups/query.js';
import { AlertEvaluator } from '../alerts/evaluator.js';
import { noopLogger } from '../mqtt/ports.js';
import { cliOver } from '../testing/cli.js';
import { FleetAnalytics } from './service.js';

const H10 = Date.parse('2026-03-01T10:00:00.000Z');
const H11 = H10 + 3600_000;
const H08 = H10 - 2 * 3600_000;
/** The reference's output `score` is binned [1, 2, 3, 4] (rollups/testing.ts tempModeReference). */
const AS_REFERENCE = [100, 200, 300, 400];
const HONEST = ['h1', 'h2', 'h3'];

/** `n` answered and `failed` failed requests of 1 ms in one window of 60 s from `start`, the output binned as `bins`. */
function win(seq: number, start: number, n: number, bins: number[], failed = 0): SeqWindow {
  const latency = emptyLatency();
  latency.counts[40] = n + failed;
  return {
    seq, model: 'vib', version: '1.0.0', start: new Date(start).toISOString(), lengthSec: 60, count: n,
    errors: failed ? { INFERENCE_FAILED: failed } : {}, latency: { ...latency, sumMs: n + failed }, features: [],
    outputs: [{ name: 'score', index: 0, hist: { counts: bins, under: 0, over: 0 }, moments: { n, mean: 0.5, m2: 0, min: 0.05, max: 0.9 } }],
    inputs: [],
  };
}

let backend: Backend;
forEachBackend((b) => { backend = b; }, () => {
  describe('a box holding most of the fleet\'s predictions is left out of every pooled fleet figure', () => {
    let hub: IngestHub;
    let analytics: FleetAnalytics;
    const now = () => hub.h.clock.now(); // 12:00

    before(async () => {
      hub = await startVibIngestHub('ef-driftpool-', [...HONEST, 'rogue'], backend.database(), true);
      analytics = new FleetAnalytics(hub.h.store.db, hub.h.store.rollups);
      // 08:00: each honest device 1,000 answered requests; the box 10 answered and 6 million failed (100,000 a second).
      for (const id of HONEST) await hub.send(id, [win(1, H08, 1000, AS_REFERENCE)]);
      await hub.send('rogue', [win(1, H08, 10, [10, 0, 0, 0], 6_000_000)]);
      // 10:00 and 11:00: each honest device 1,000 answered and 250 failed requests an hour, output as the reference.
      for (const id of HONEST) await hub.send(id, [win(2, H10, 1000, AS_REFERENCE, 250), win(3, H11, 1000, AS_REFERENCE, 250)]);
      // 10:00: the box, 60 million answered predictions in one minute, all in the first output bin.
      await hub.send('rogue', [win(2, H10 + 60_000, 60_000_000, [60_000_000, 0, 0, 0])]);
      assert.equal(hub.parts.ingest.guard.refusals('rogue'), undefined, 'the box\'s window was stored');
    });
    after(() => hub.stop());

    it('the PSI timeline leaves the box out of its hour (0; with it 9.309)', () => {
      const d = analytics.drift('vib', '1.0.0', { since: new Date(H10).toISOString(), until: now().toISOString(), worst: false }, now());
      assert.equal(d.groups[0]?.leftOut?.deviceId, 'rogue');
      assert.deepEqual(d.timeline?.starts, [new Date(H10).toISOString(), new Date(H11).toISOString()]);
      assert.deepEqual(d.timeline?.psi['output:score'], [0, 0], 'the honest devices match the reference each hour');
      // By tag or device the groups are not the fleet, but the timeline is: the box is over the fleet's share.
      const byDevice = analytics.drift('vib', '1.0.0', { since: new Date(H10).toISOString(), until: now().toISOString(), by: 'device', worst: false }, now());
      assert.deepEqual(byDevice.timeline?.psi['output:score'], [0, 0]);
    });

    it('a baseline period the box dominated is compared without it (PSI 0; with it 9.309, drifted)', () => {
      const d = analytics.drift('vib', '1.0.0', { since: new Date(H11).toISOString(), until: now().toISOString(), baseline: `${new Date(H10).toISOString()}/${new Date(H11).toISOString()}`, timeline: false }, now());
      const g = d.groups[0];
      assert.equal(g?.leftOut, null, 'the box sent nothing in the range compared');
      assert.equal(g?.outputs[0]?.psi, 0);
      assert.equal(g?.drifted, false);
    });

    it('fleet metrics read the honest devices\' figures and name the box', async () => {
      const range = { model: 'vib', version: '1.0.0', since: H10, until: now() };
      const honest = mergeRollups(hub.h.store.rollups, { ...range, devices: HONEST });
      assert.equal(honest.modelErrorRate, 0.2, 'the oracle: the three honest devices alone');
      const m = analytics.metrics('vib', '1.0.0', { since: new Date(H10).toISOString(), until: now().toISOString() }, now()).groups[0];
      assert.equal(m?.leftOut?.deviceId, 'rogue');
      assert.match(m?.leftOut?.note ?? '', /^rogue left out of the group's statistics: it reported 60000000 of its 60006000 predictions \(100 %\) and 60000000 of its 60007500 requests/);
      assert.equal(m?.devices, 4, 'the box still counts as a device');
      assert.deepEqual([m?.predictions, m?.modelErrorRate, m?.errors.byCode], [6000, 0.2, { INFERENCE_FAILED: 1500 }]);
      assert.deepEqual(m?.latency, honest.latency);
      assert.equal(m?.outputs[0]?.moments.mean, 0.5);
      // Over REST, edgefleet metrics prints the note under its table.
      const cli = await cliOver(hub.h.app, hub.h.tokens.viewer, hub.h.dir);
      try {
        const r = await cli.run('metrics', 'vib', '1.0.0', '--since', new Date(H10).toISOString(), '--until', now().toISOString());
        assert.equal(r.code, 0, r.err);
        assert.ok(r.out.endsWith(`\nall: ${m?.leftOut?.note}\n`), r.out);
        assert.match(r.out, /\n(all +4 +6000 .*20\.00%)/, 'the honest error rate');
      } finally {
        cli.close();
      }
    });

    it('fleet metrics leave out a box holding most of the requests, not of the predictions (error rate 0; with it 0.9995)', () => {
      const m = analytics.metrics('vib', '1.0.0', { since: new Date(H08).toISOString(), until: new Date(H08 + 3600_000).toISOString() }, now()).groups[0];
      assert.match(m?.leftOut?.note ?? '', /^rogue left out of the group's statistics: it reported 10 of its 3010 predictions \(0\.3 %\) and 6000010 of its 6003010 requests \(100 %\), more than/);
      assert.deepEqual([m?.predictions, m?.modelErrorRate, m?.errors.model], [3000, 0, 0]);
    });

    it('the alert metrics read the honest devices\' figures (a model_error_rate rule at 0.1 fires; with the box 2.5e-5)', () => {
      const honest = mergeRollups(hub.h.store.rollups, { model: 'vib', version: '1.0.0', since: H10, until: now(), devices: HONEST });
      const evaluator = new AlertEvaluator({ store: hub.h.store, repo: hub.h.store.alerts, clock: hub.h.clock, logger: noopLogger });
      const rule = (metric: 'model_error_rate' | 'invalid_input_rate' | 'latency_p95') => hub.h.store.alerts.addRule(
        { name: metric, metric, model: 'vib', threshold: 0.1, forSec: 0, windowSec: 7200, severity: 'warning', actions: [] }, { actor: 't', at: now() });
      assert.deepEqual(evaluator.readings(rule('model_error_rate'), now()), [{ key: 'vib@1.0.0', value: 0.2 }], 'a model_error_rate rule at 0.1 fires');
      assert.deepEqual(evaluator.readings(rule('invalid_input_rate'), now()), [{ key: 'vib@1.0.0', value: honest.invalidInputRate }]);
      assert.deepEqual(evaluator.readings(rule('latency_p95'), now()), [{ key: 'vib@1.0.0', value: honest.answeredLatency.p95 }]);
    });
  });
});
