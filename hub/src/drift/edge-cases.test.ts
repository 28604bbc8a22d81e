// Drift at its edges over a real hub.db: a feature that is null in almost every row (an optional
// sensor) has too few observations for a verdict even when its group has plenty of predictions, so it
// neither drifts, nor ranks a device, nor raises drift.psi; a bad baseline range names the baseline; a
// range not begun says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyHistogram, emptyMoments, type DriftResponse, type Feature, type Reference, type SummaryWindow } from '@edgefleet/shared';
import { makeHarness } from '../testing/harness.js';
import { normal, numericReference, registerVersion, sampleWindow, seeded } from '../rollups/testing.js';
import { FleetAnalytics } from './service.js';
import { AlertEvaluator } from '../alerts/evaluator.js';
import { noopLogger } from '../mqtt/ports.js';

const FEATURES: Feature[] = [{ name: 'temp', index: 0, kind: 'numeric' }, { name: 'aux', index: 1, kind: 'numeric' }];
const REFERENCE: Reference = { id: 'a'.repeat(64), rows: 672, features: [numericReference('temp'), numericReference('aux')], outputs: [] };

/** `aux` recorded as null in every row of `w` (the agent counts it in `nulls`, nothing in its bins). */
function auxNull(w: SummaryWindow): SummaryWindow {
  const f = w.features.find((x) => x.name === 'aux');
  if (f?.kind !== 'numeric' || !f.hist) throw new Error('aux');
  f.nulls = f.moments.n;
  f.moments = emptyMoments();
  f.hist = emptyHistogram(f.hist.counts.length);
  return w;
}

test('a feature seen in a handful of rows gets no verdict, ranks no device and raises no drift.psi alert', () => {
  const h = makeHarness();
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
    const rand = seeded(3);
    const now = h.clock.now().getTime();
    const spec = { numeric: { temp: normal(rand, 5, 1.2), aux: normal(rand, 5, 1.2) } };
    h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
    // 2,000 in-distribution predictions; aux (drawn from the reference too) reported in 8 of them only.
    const windows = Array.from({ length: 20 }, (_, i) => auxNull(sampleWindow({ model: 'press', version: '1.0.0', start: now - 3000_000 + i * 60_000 }, FEATURES, REFERENCE, 100, spec, rand)));
    windows.push(sampleWindow({ model: 'press', version: '1.0.0', start: now - 1000_000 }, FEATURES, REFERENCE, 8, spec, rand));
    h.store.db.transaction(() => h.store.rollups.applyWindows('dev-1', windows))();

    const d = new FleetAnalytics(h.store.db, h.store.rollups).drift('press', '1.0.0', { timeline: true }, h.clock.now());
    const g = d.groups[0];
    const aux = g?.features.find((f) => f.name === 'aux');
    assert.equal(g?.insufficient, null, 'the group has enough predictions');
    assert.equal(aux?.n, 8);
    assert.deepEqual([aux?.psi, aux?.drifted, g?.drifted], [null, false, false], `8 observations judged: ${JSON.stringify(aux)}`);
    assert.ok((g.features.find((f) => f.name === 'temp')?.psi ?? 1) < 0.05, 'temp still judged');
    assert.notEqual(g.worstDevices[0]?.feature, 'aux', 'a device is not ranked by a feature it hardly reported');
    assert.ok(d.timeline?.psi['aux']?.every((x) => x === null));

    const rule = h.store.alerts.addRule({ name: 'drift', metric: 'drift.psi', model: 'press', threshold: 0.2, forSec: 0, windowSec: 3600, severity: 'warning', actions: [] }, { actor: 't', at: h.clock.now() });
    const evaluator = new AlertEvaluator({ store: h.store, repo: h.store.alerts, clock: h.clock, logger: noopLogger });
    const reading = evaluator.readings(rule, h.clock.now())[0];
    assert.ok(reading?.value !== null && reading?.value !== undefined && reading.value < 0.2, `drift.psi ${String(reading?.value)}`);
    assert.deepEqual(evaluator.evaluateOnce(), [], 'no alert fires');
  } finally {
    h.close();
  }
});

test('a bad baseline range is refused naming the baseline, not since or until', async () => {
  const h = makeHarness();
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
    const ask = async (baseline: string) => {
      const r = await h.req('GET', `/api/v1/models/press/versions/1.0.0/drift?baseline=${encodeURIComponent(baseline)}`, { role: 'viewer' });
      return { status: r.status, body: ((await r.json()) as { error: { code?: string; message?: string } }).error };
    };
    const garbled = await ask('2026-01-01T00:00:00Z/last-week');
    assert.equal(garbled.status, 400);
    assert.equal(garbled.body.code, 'BAD_REQUEST');
    assert.match(garbled.body.message ?? '', /^baseline end "last-week" is not a time: expected/);
    const reversed = await ask('2026-01-08T00:00:00Z/2026-01-01T00:00:00Z');
    assert.equal(reversed.status, 400);
    assert.match(reversed.body.message ?? '', /^baseline end 2026-01-01T00:00:00.000Z is not after its start 2026-01-08T00:00:00.000Z/);
    const long = await ask('2024-01-01T00:00:00Z/2026-01-01T00:00:00Z');
    assert.equal(long.status, 400);
    assert.match(long.body.message ?? '', /^baseline range of 731 days is too long: expected at most 400 days/);
    const ok = await h.req('GET', '/api/v1/models/press/versions/1.0.0/drift?baseline=2026-01-01T00:00:00Z/2026-01-08T00:00:00Z', { role: 'viewer' });
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal(((await ok.json()) as DriftResponse).baseline.kind, 'range');
  } finally {
    h.close();
  }
});

test('a range not begun: one ending after now says so in each group, a since after now without until is a 400 naming the default', async () => {
  const h = makeHarness();
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: REFERENCE });
    const now = h.clock.now();
    const iso = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();
    const ask = (q: string) => h.req('GET', `/api/v1/models/press/versions/1.0.0/drift?${q}`, { role: 'viewer' });
    const ahead = await ask(`since=${iso(1)}&until=${iso(2)}`);
    assert.equal(ahead.status, 200, await ahead.clone().text());
    assert.equal(((await ahead.json()) as DriftResponse).groups[0]?.insufficient,
      `0 predictions (the range starts at ${iso(1)}, after now, ${iso(0)}: no device has reported in it yet): expected at least 1000 for a drift verdict`);
    const past = await ask(`since=${iso(-2)}&until=${iso(-1)}`);
    assert.equal(((await past.json()) as DriftResponse).groups[0]?.insufficient, '0 predictions: expected at least 1000 for a drift verdict');
    for (const path of ['drift', 'metrics']) {
      const r = await h.req('GET', `/api/v1/models/press/versions/1.0.0/${path}?since=${iso(1)}`, { role: 'viewer' });
      const e = ((await r.json()) as { error: { code: string; message: string } }).error;
      assert.deepEqual([r.status, e.code], [400, 'BAD_REQUEST'], path);
      assert.equal(e.message, `since ${iso(1)} is not before now (${now.toISOString()}), where the range ends without until: expected a since in the past, or an until after it`);
    }
  } finally {
    h.close();
  }
});

test('a drift.psi rule that could never have a value (no reference to compare with) is refused at create, naming the version', async () => {
  const h = makeHarness();
  try {
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES });
    registerVersion(h.store.db, 'press', '1.0.1', { features: FEATURES, reference: { ...REFERENCE, features: [], outputs: [] } });
    const add = async (json: Record<string, unknown>) => {
      const r = await h.req('POST', '/api/v1/alert-rules', { role: 'operator', json: { name: 'drift', metric: 'drift.psi', model: 'press', threshold: 0.2, ...json } });
      const body = (await r.json()) as { error?: { code: string; message: string } };
      return { status: r.status, code: body.error?.code, message: body.error?.message ?? '' };
    };
    const named = await add({ version: '1.0.0' });
    assert.deepEqual([named.status, named.code], [400, 'BAD_REQUEST']);
    assert.equal(named.message, 'alert rule "drift": metric drift.psi compares with the reference in the manifest, and press 1.0.0 has no reference: the rule would never have a value (push a version whose manifest has a reference, or name one that has)');
    const empty = await add({ version: '1.0.1' });
    assert.equal(empty.status, 400);
    assert.match(empty.message, /press 1\.0\.1 has a reference without features or outputs: the rule would never have a value/);
    const wide = await add({});
    assert.equal(wide.status, 400, 'no version of the model has a reference');
    assert.equal(wide.message, 'alert rule "drift": metric drift.psi compares with the reference in the manifest, and no version of model "press" has one (1.0.0, 1.0.1): the rule would never have a value (push a version whose manifest has a reference first)');
    // Other metrics need no reference.
    assert.equal((await add({ name: 'errors', metric: 'model_error_rate', version: '1.0.0' })).status, 201);
    assert.equal(h.store.alerts.rules().length, 1, 'nothing stored by the refusals');

    // Once a version has a reference: it can be named, and a rule over every version is taken (versions without one are not read).
    registerVersion(h.store.db, 'press', '1.1.0', { features: FEATURES, reference: REFERENCE });
    assert.equal((await add({ version: '1.1.0' })).status, 201);
    assert.equal((await add({ name: 'drift all' })).status, 201);
  } finally {
    h.close();
  }
});

test('a version without a reference says so instead of asking for more predictions; a baseline period still judges it, an empty one says so', () => {
  const h = makeHarness();
  try {
    registerVersion(h.store.db, 'own', '1.0.0', { features: FEATURES });
    const rand = seeded(5);
    const now = h.clock.now().getTime();
    const spec = { numeric: { temp: normal(rand, 5, 1.2), aux: normal(rand, 5, 1.2) } };
    h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
    // 2,000 predictions, well past the minimum: binned on REFERENCE's edges as a device would bin them.
    const windows = Array.from({ length: 20 }, (_, i) => sampleWindow({ model: 'own', version: '1.0.0', start: now - 3000_000 + i * 60_000 }, FEATURES, REFERENCE, 100, spec, rand));
    h.store.db.transaction(() => h.store.rollups.applyWindows('dev-1', windows))();
    const analytics = new FleetAnalytics(h.store.db, h.store.rollups);
    const d = analytics.drift('own', '1.0.0', {}, h.clock.now());
    assert.deepEqual(d.baseline, { kind: 'reference', id: null });
    assert.equal(d.groups[0]?.predictions, 2000);
    assert.equal(d.groups[0]?.insufficient, 'own 1.0.0 has no reference, so there is nothing to compare with: expected a version whose manifest has a reference, or baseline=START/END (edgefleet drift --baseline) to compare with a period of this version\'s own traffic');
    const since = new Date(now - 3600_000).toISOString();
    const b = analytics.drift('own', '1.0.0', { baseline: `${since}/${new Date(now).toISOString()}` }, h.clock.now());
    assert.equal(b.groups[0]?.insufficient, null);

    // A baseline period without traffic (here the week before) is nothing to compare with: no verdict, saying why.
    const week = (d: number) => new Date(Math.floor(now / 3600_000) * 3600_000 - d * 86_400_000).toISOString();
    for (const by of [undefined, 'device']) {
      const empty = analytics.drift('own', '1.0.0', { baseline: `${week(8)}/${week(1)}`, ...(by ? { by } : {}) }, h.clock.now());
      const g = empty.groups[0];
      assert.equal(g?.predictions, 2000);
      assert.equal(g?.insufficient, `the baseline ${week(8)} .. ${week(1)} has 0 predictions: expected at least 1000 to compare with (a period with this version's traffic, or baseline=reference)`);
      assert.equal(g?.drifted, false);
    }
    // A report stored from it lists as no verdict, not as "no drift".
    const stored = h.store.drift.addReport(analytics.drift('own', '1.0.0', { baseline: `${week(8)}/${week(1)}` }, h.clock.now()), { actor: 't', note: null, at: h.clock.now() });
    assert.equal(h.store.drift.reports({}).find((r) => r.id === stored)?.insufficient, true);
  } finally {
    h.close();
  }
});

// Found by the ML probe: two reference columns of one output tensor. Agents name them probs[0] and
// probs[1] (agent/src/summaries/layout.ts); the hub's layout named both "probs", so every window's
// outputs were left out of the rollups: no output drift, and a rollout's output_shift had nothing to judge.
test('two reference columns of one output are summed and judged under the names agents give them', () => {
  const h = makeHarness();
  try {
    const edges = [0, 0.25, 0.5, 0.75, 1];
    const col = (index: number) => ({ name: 'probs', index, edges, counts: [25, 25, 25, 25], under: 0, over: 0 });
    registerVersion(h.store.db, 'press', '1.0.0', { features: FEATURES, reference: { ...REFERENCE, outputs: [col(0), col(1)] } });
    // What an agent sends for that manifest: each column under its own name.
    const sent: Reference = { ...REFERENCE, outputs: [{ ...col(0), name: 'probs[0]' }, { ...col(1), name: 'probs[1]' }] };
    const rand = seeded(4);
    const now = h.clock.now().getTime();
    const spec = { numeric: { temp: normal(rand, 5, 1.2), aux: normal(rand, 5, 1.2) }, outputs: { 'probs[0]': () => 0.1 * rand(), 'probs[1]': rand } };
    h.store.devices.create('dev-1', 'x'.repeat(32), {}, null, h.clock.now());
    const windows = Array.from({ length: 20 }, (_, i) => sampleWindow({ model: 'press', version: '1.0.0', start: now - 3000_000 + i * 60_000 }, FEATURES, sent, 100, spec, rand));
    h.store.db.transaction(() => h.store.rollups.applyWindows('dev-1', windows))();
    const g = new FleetAnalytics(h.store.db, h.store.rollups).drift('press', '1.0.0', { timeline: false }, h.clock.now()).groups[0];
    const out = (name: string) => g?.outputs.find((o) => o.name === name);
    assert.deepEqual(g?.outputs.map((o) => [o.name, o.n]), [['probs[0]', 2000], ['probs[1]', 2000]]);
    assert.ok((out('probs[0]')?.psi ?? 0) > 1 && out('probs[0]')?.drifted, `all of column 0 in its lowest bin drifts: ${JSON.stringify(out('probs[0]'))}`);
    assert.ok((out('probs[1]')?.psi ?? 1) < 0.1, `column 1 as the reference: ${JSON.stringify(out('probs[1]'))}`);
  } finally {
    h.close();
  }
});
