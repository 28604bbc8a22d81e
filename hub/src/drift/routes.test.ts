// The metrics and drift routes over a real hub.db: devices of one site get shifted inputs (a mean
// shift, a wider spread, a new category); drift finds the features, the site and the devices, and
// says so when a group has too few predictions. Reports are stored and fetched; thresholds per model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DriftReport, DriftResponse, Feature, MetricsResponse, Reference } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { FleetAnalytics } from './service.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';

const FEATURES: Feature[] = [
  { name: 'temp', index: 0, kind: 'numeric' },
  { name: 'vib', index: 1, kind: 'numeric' },
  { name: 'mode', index: 2, kind: 'categorical', vocabulary: ['idle', 'run', 'stop'] },
];
// temp and vib ~ N(5, 1.5²) binned on 0..10; mode uniform over the vocabulary.
const REF_COUNTS = [0.4, 2.1, 6.9, 15.7, 24.9, 24.9, 15.7, 6.9, 2.1, 0.4].map((p) => Math.round(p * 100));
const REFERENCE: Reference = {
  id: 'c'.repeat(64), rows: 1000,
  features: [numericReference('temp', undefined, REF_COUNTS), numericReference('vib', undefined, REF_COUNTS), { kind: 'categorical', name: 'mode', counts: { idle: 333, run: 333, stop: 334 }, other: 0 }],
  outputs: [{ name: 'score', index: 0, edges: [0, 0.25, 0.5, 0.75, 1], counts: [250, 250, 250, 250], under: 0, over: 0 }],
};

test('metrics and drift per site and device, reports and thresholds over REST', async () => {
  const h = makeHarness();
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
    const now = h.clock.now().getTime();
    const rand = seeded(5);
    const devices = Array.from({ length: 8 }, (_, i) => ({ id: `dev-${i}`, site: i < 6 ? 'south' : 'north' }));
    for (const d of devices) h.store.devices.create(d.id, 'x'.repeat(32), { site: d.site }, null, h.clock.now());
    h.store.devices.create('dev-quiet', 'x'.repeat(32), { site: 'west' }, null, h.clock.now());
    h.store.db.transaction(() => {
      for (const d of devices) {
        const north = d.site === 'north';
        const ws = [];
        for (let t = now - 6 * 3600_000; t < now; t += 600_000) {
          ws.push(sampleWindow({ model: 'press', version: '1.0.0', start: t }, FEATURES, REFERENCE, 50, {
            numeric: { temp: normal(rand, north ? 6.5 : 5, 1.5), vib: normal(rand, 5, north ? 3 : 1.5) },
            categorical: { mode: () => (north && rand() < 0.3 ? 'jammed' : (['idle', 'run', 'stop'][Math.floor(rand() * 3)] as string)) },
            outputs: { score: rand },
            errors: { INFERENCE_FAILED: north ? 0.1 : 0.01 },
          }, rand));
        }
        h.store.rollups.applyWindows(d.id, ws);
      }
      h.store.rollups.applyWindows('dev-quiet', [sampleWindow({ model: 'press', version: '1.0.0', start: now - 3600_000 }, FEATURES, REFERENCE, 20, {}, rand)]);
    })();

    const m = await h.req('GET', '/api/v1/models/press/versions/1.0.0/metrics?by=tag:site', { role: 'viewer' });
    assert.equal(m.status, 200, await m.clone().text());
    const metrics = (await m.json()) as MetricsResponse;
    assert.deepEqual(metrics.groups.map((g) => [g.key, g.devices, g.predictions]), [['north', 2, 2 * 36 * 50], ['south', 6, 6 * 36 * 50], ['west', 1, 20]]);
    const north = metrics.groups[0];
    assert.ok(north && north.modelErrorRate !== null && north.modelErrorRate > 0.07 && north.modelErrorRate < 0.13, `north error rate ${north?.modelErrorRate}`);
    assert.ok(north.latency.p95 !== null && north.answeredLatency.count === north.predictions - north.errors.model);

    const r = await h.req('GET', '/api/v1/models/press/versions/1.0.0/drift?by=tag:site', { role: 'viewer' });
    assert.equal(r.status, 200, await r.clone().text());
    const drift = (await r.json()) as DriftResponse;
    const byKey = new Map(drift.groups.map((g) => [g.key, g]));
    const feat = (k: string, f: string) => byKey.get(k)?.features.find((x) => x.name === f);
    assert.equal(byKey.get('north')?.drifted, true);
    for (const f of ['temp', 'vib', 'mode']) assert.equal(feat('north', f)?.drifted, true, `north ${f}: ${JSON.stringify(feat('north', f))}`);
    assert.ok((feat('north', 'mode')?.chi2_p ?? 1) < 1e-6);
    assert.equal(byKey.get('south')?.drifted, false, JSON.stringify(byKey.get('south')?.features));
    assert.deepEqual(byKey.get('north')?.worstDevices.map((w) => w.deviceId).sort(), ['dev-6', 'dev-7']);
    assert.match(byKey.get('west')?.insufficient ?? '', /20 predictions: expected at least 1000/);
    assert.equal(byKey.get('west')?.drifted, false);
    assert.ok(drift.timeline && drift.timeline.starts.length === 24 && drift.timeline.bucketSec === 3600);
    assert.equal(drift.timeline.psi['temp']?.filter((x) => x !== null).length, 6);

    // By device, against a baseline period with no data: the baseline is empty, so nothing is judged drifted.
    const d = await h.req('GET', '/api/v1/models/press/versions/1.0.0/drift?by=device&timeline=false', { role: 'viewer' });
    const perDevice = (await d.json()) as DriftResponse;
    assert.deepEqual(perDevice.groups.filter((g) => g.drifted).map((g) => g.key), ['dev-6', 'dev-7']);
    assert.equal(perDevice.timeline, null);

    const bad = await h.req('GET', '/api/v1/models/press/versions/1.0.0/drift?by=site', { role: 'viewer' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /expected \\"device\\" or \\"tag:KEY\\"/);
    // A tag key no device carries put every device in one group "(none)" (found by the ML probe: tag:rng for tag:site).
    for (const path of ['drift', 'metrics']) {
      const typo = await h.req('GET', `/api/v1/models/press/versions/1.0.0/${path}?by=tag:sit`, { role: 'viewer' });
      assert.equal(typo.status, 400);
      assert.match(await typo.text(), /by: no device has a tag \\"sit\\"; did you mean \\"tag:site\\"\? \(expected tag:KEY with a key devices carry: site\)/);
    }
    const missing = await h.req('GET', '/api/v1/models/press/versions/9.0.0/drift', { role: 'viewer' });
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /no model version press 9\.0\.0: the registry has press 1\.0\.0 \(newest first/);
    const typo = await h.req('GET', '/api/v1/models/pres/versions/1.0.0/metrics', { role: 'viewer' });
    assert.equal(typo.status, 404);
    assert.match(await typo.text(), /no model version pres 1\.0\.0: the registry has no model pres; did you mean press\?/);

    // The whole fleet (fleet rows) says what the device rows of every device say; without worst devices likewise.
    const fa = new FleetAnalytics(h.store.db, h.store.rollups);
    const ids = [...devices.map((x) => x.id), 'dev-quiet'];
    const fleetG = fa.drift('press', '1.0.0', { timeline: false }, h.clock.now()).groups[0];
    const listed = fa.drift('press', '1.0.0', { timeline: false, devices: ids }, h.clock.now()).groups[0];
    assert.deepEqual(fleetG, listed);
    assert.equal(fleetG?.devices, 9);
    assert.ok(fleetG.worstDevices.length > 0);
    assert.deepEqual(fa.drift('press', '1.0.0', { timeline: false, worst: false }, h.clock.now()).groups[0], { ...fleetG, worstDevices: [] });
    const overHttp = (await (await h.req('GET', '/api/v1/models/press/versions/1.0.0/drift?timeline=false&worst=false', { role: 'viewer' })).json()) as DriftResponse;
    assert.deepEqual(overHttp.groups[0], { ...fleetG, worstDevices: [] }, 'worst=false over HTTP');
    assert.equal((await h.req('GET', '/api/v1/models/press/versions/1.0.0/drift?worst=no', { role: 'viewer' })).status, 400);

    // Reports: stored, listed, fetched; audited.
    const c = await h.req('POST', '/api/v1/drift-reports', { role: 'operator', json: { model: 'press', version: '1.0.0', by: 'tag:site', note: 'weekly check' } });
    assert.equal(c.status, 201, await c.clone().text());
    const rep = (await c.json()) as DriftReport;
    assert.equal(rep.drifted, true);
    const list = (await (await h.req('GET', '/api/v1/drift-reports?model=press', { role: 'viewer' })).json()) as { reports: Array<{ id: number; driftedFeatures: string[]; insufficient: boolean }> };
    assert.deepEqual(list.reports.map((x) => x.id), [rep.id]);
    assert.deepEqual(list.reports[0]?.driftedFeatures.sort(), ['mode', 'temp', 'vib']);
    assert.equal(list.reports[0]?.insufficient, false);
    // A report over a range with no predictions is not drifted, and says it had nothing to judge.
    const empty = await h.req('POST', '/api/v1/drift-reports', { role: 'operator', json: { model: 'press', version: '1.0.0', since: '2020-01-01T00:00:00Z', until: '2020-01-02T00:00:00Z' } });
    assert.equal(empty.status, 201, await empty.clone().text());
    const both = (await (await h.req('GET', '/api/v1/drift-reports?model=press', { role: 'viewer' })).json()) as { reports: Array<{ id: number; drifted: boolean; insufficient: boolean }> };
    assert.deepEqual(both.reports.map((x) => [x.drifted, x.insufficient]), [[false, true], [true, false]]);
    const got = (await (await h.req('GET', `/api/v1/drift-reports/${rep.id}`, { role: 'viewer' })).json()) as DriftReport;
    assert.deepEqual(got.report.groups, rep.report.groups);
    assert.equal((await h.req('GET', '/api/v1/drift-reports/999', { role: 'viewer' })).status, 404);
    // A mistyped model listed no reports, as if none had been made (found by the drift probe).
    for (const [q, msg] of [['model=pres', /no model pres in the registry; did you mean press\?/], ['model=pres&version=1.0.0', /no model version pres 1\.0\.0: the registry has no model pres; did you mean press\?/]] as const) {
      const typo = await h.req('GET', `/api/v1/drift-reports?${q}`, { role: 'viewer' });
      assert.equal(typo.status, 404, q);
      assert.match(await typo.text(), msg);
    }
    assert.equal(h.store.audit.query({ action: 'drift_report.create' }).length, 2);

    // A looser PSI/JS threshold for this model: the mean shift alone no longer counts.
    const s = await h.req('PUT', '/api/v1/models/press/drift-settings', { role: 'operator', json: { psi: 5, js: 0.9, reason: 'noisy sensor' } });
    assert.equal(s.status, 200, await s.clone().text());
    const loose = (await (await h.req('GET', '/api/v1/models/press/versions/1.0.0/drift?by=tag:site&timeline=false', { role: 'viewer' })).json()) as DriftResponse;
    assert.equal(loose.thresholds.psi, 5);
    assert.equal(loose.groups.find((g) => g.key === 'north')?.features.find((f) => f.name === 'temp')?.drifted, false);
  } finally {
    h.close();
  }
});

test('a PSI threshold no two distributions could reach is refused: drift settings, drift.psi rules, rollout gates', async () => {
  const h = makeHarness();
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
    const message = async (r: Response) => ((await r.json()) as { error: { message: string } }).error.message;
    const high = await h.req('PUT', '/api/v1/models/press/drift-settings', { role: 'operator', json: { psi: 20, reason: 'typo for 0.20' } });
    assert.equal(high.status, 400);
    assert.match(await message(high), /psi: expected a PSI above 0 and at most 18\.42 /);
    assert.equal((await h.req('PUT', '/api/v1/models/press/drift-settings', { role: 'operator', json: { psi: 18.4, reason: 'nearly never' } })).status, 200, 'just under the ceiling');
    // The other two name what they are and what is expected.
    for (const [json, re] of [
      [{ js: 2 }, /^invalid drift settings: js: expected a Jensen-Shannon distance above 0 and at most 1 /],
      [{ js: 0 }, /^invalid drift settings: js: expected a Jensen-Shannon distance above 0 and at most 1 /],
      [{ minPredictions: 0 }, /^invalid drift settings: minPredictions: expected a whole number of predictions, at least 1 /],
      [{ minPredictions: 1.5 }, /^invalid drift settings: minPredictions: expected a whole number of predictions, at least 1 /],
      [{ minPredictions: '1000' }, /^invalid drift settings: minPredictions: expected a whole number of predictions, at least 1 /],
      [{ minPredictions: 100_000_001 }, /^invalid drift settings: minPredictions: expected a whole number of predictions, at least 1 and at most 100000000 /],
    ] as const) {
      const r = await h.req('PUT', '/api/v1/models/press/drift-settings', { role: 'operator', json: { ...json, reason: 'bad' } });
      assert.equal(r.status, 400, JSON.stringify(json));
      assert.match(await message(r), re);
    }
    const rule = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'psi', metric: 'drift.psi', model: 'press', threshold: 50 } });
    assert.equal(rule.status, 400);
    assert.match(await message(rule), /threshold: expected a PSI above 0 and at most 18\.42 .* for metric drift\.psi/);
    const ok = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'psi', metric: 'drift.psi', model: 'press', threshold: 0.2 } });
    assert.equal(ok.status, 201, await ok.clone().text());
    const ro = await h.req('POST', '/api/v1/rollouts/preview', { role: 'operator', json: { model: 'press', version: '1.0.0', target: { all: true }, waves: [{ name: 'all', percent: 100 }], gates: { outputPsi: 100 } } });
    assert.equal(ro.status, 400);
    assert.match(await message(ro), /gates\.outputPsi: expected a PSI above 0 and at most 18\.42/);
  } finally {
    h.close();
  }
});
