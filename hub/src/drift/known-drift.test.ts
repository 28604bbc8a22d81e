// Drift as an ML engineer checks it: a fleet whose drift is known by construction, sent through the real
// ingest path (embedded aedes broker on 127.0.0.1:0, mqtt.js devices, a real SQLite hub.db), and every
// figure the hub reports (GET .../drift by fleet and by device, worst devices, the PSI timeline, a
// baseline period, metrics' moments) compared with an independent computation from the same raw values:
// PSI on proportions floored at ε = 1e-4 (docs/drift.md), JS distance base 2, binned KS, means and
// variances by the textbook formulas.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DriftResponse, SeqWindow } from '@edgefleet/shared';
import { startVibIngestHub, type IngestHub } from '../ingest/testing.js';
import { normal, seeded, tempModeReference } from '../rollups/testing.js';
import { cliOver } from '../testing/cli.js';
import { AlertEvaluator } from '../alerts/evaluator.js';
import { noopLogger } from '../mqtt/ports.js';
import { bin, jsOf, ksOf, mean, near, psiOf, vibRecorder } from './oracle.js';

const H09 = Date.parse('2026-03-01T09:00:00.000Z');
const H10 = H09 + 3600_000;
const H11 = H10 + 3600_000;
const REF = tempModeReference('');
const EDGES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const OUT_EDGES = [0, 0.25, 0.5, 0.75, 1];
const VOCAB = ['idle', 'run', 'stop'];
describe('drift of a fleet built to a known drift matches an independent computation from its raw values', () => {
  let hub: IngestHub;
  let rec: ReturnType<typeof vibRecorder>;
  const rawIn = (ds: string[], k: 'temp' | 'mode' | 'score') => rec.of(ds, k) as Array<number | string>;
  const rand = seeded(11);
  const pick = (shares: number[]) => () => { const u = rand(); let c = 0; for (const [i, s] of shares.entries()) { c += s; if (u < c) return VOCAB[i] as string; } return 'other-mode'; };
  const asRef = { temp: normal(rand, 5, 1.5), mode: pick([300 / 672, 300 / 672, 72 / 672]), score: () => 0.25 * Math.floor(rand() * 4) + 0.1 };

  before(async () => {
    hub = await startVibIngestHub('ef-knowndrift-', ['a', 'b', 'c', 'few'], undefined, true);
    const m = hub.h.store.db.prepare('SELECT manifest FROM model_versions WHERE name = ? AND version = ?').get('vib', '1.0.0') as { manifest: string };
    rec = vibRecorder((JSON.parse(m.manifest) as { reference: { id: string } }).reference.id);
    const window = rec.window;
    const send = (d: string, ws: SeqWindow[]) => hub.send(d, ws);
    // a: as the reference. b: temp shifted by +2 from 10:00 on. c: a class mix change (mostly stop) and outputs
    // all in the top bin; one window spans the 10:00 edge (it counts in 09:00). few: 50 predictions.
    await send('a', [window('a', 1, H09, 1500, asRef), window('a', 2, H10, 1500, asRef)]);
    await send('b', [window('b', 1, H09, 1500, asRef), window('b', 2, H10 + 60_000, 1500, { ...asRef, temp: normal(rand, 7, 1.5) })]);
    await send('c', [window('c', 1, H10 - 30_000, 1500, { ...asRef, mode: pick([0.1, 0.1, 0.7]), score: () => 0.8 + 0.2 * rand() }, 120)]);
    await send('few', [window('few', 1, H10 + 120_000, 50, { ...asRef, temp: () => 12 })]);
    for (const [id, site] of [['a', 'north'], ['b', 'north'], ['c', 'south'], ['few', 'south']] as const) hub.h.store.devices.setTags(id, { site });
  });
  after(() => hub?.stop());

  const drift = async (q: string): Promise<DriftResponse> => {
    const r = await hub.h.req('GET', `/api/v1/models/vib/versions/1.0.0/drift?${q}`, { role: 'viewer' });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as DriftResponse;
  };
  const refTemp = () => { const f = REF.features[0]; if (f?.kind !== 'numeric') throw new Error('temp'); return [f.under, ...f.counts, f.over]; };
  const refMode = [300, 300, 72, 0];
  const refScore = () => { const o = REF.outputs[0]!; return [o.under, ...o.counts, o.over]; };
  const modeCounts = (xs: string[]) => [...VOCAB.map((v) => xs.filter((x) => x === v).length), xs.filter((x) => !VOCAB.includes(x)).length];

  it('the fleet group: PSI, JS, KS, means and bins of every feature and output', async () => {
    const d = await drift(`since=${new Date(H09).toISOString()}&until=${new Date(H11).toISOString()}&timeline=true`);
    const g = d.groups[0]!;
    const all = ['a', 'b', 'c', 'few'];
    assert.equal(g.predictions, 7550);
    assert.equal(g.leftOut, null);
    const temp = rawIn(all, 'temp') as number[];
    const tempObs = bin(temp, EDGES);
    const t = g.features.find((f) => f.name === 'temp')!;
    assert.deepEqual(t.bins?.current, tempObs);
    // The last bin holds its upper edge (shared/src/sketch/histogram.ts): over is past it, not at it.
    assert.deepEqual(t.bins?.labels, ['< 0', '0–1', '1–2', '2–3', '3–4', '4–5', '5–6', '6–7', '7–8', '8–9', '9–10', '> 10']);
    near(t.psi, psiOf(refTemp(), tempObs), 'temp psi');
    near(t.js, jsOf(refTemp(), tempObs), 'temp js');
    near(t.ks, ksOf(refTemp(), tempObs), 'temp ks');
    near(t.mean, mean(temp), 'temp mean');
    const mode = modeCounts(rawIn(all, 'mode') as string[]);
    const md = g.features.find((f) => f.name === 'mode')!;
    assert.deepEqual(md.bins?.current, mode);
    near(md.psi, psiOf(refMode, mode), 'mode psi');
    near(md.js, jsOf(refMode, mode), 'mode js');
    const score = bin(rawIn(all, 'score') as number[], OUT_EDGES);
    const s = g.outputs[0]!;
    assert.deepEqual(s.bins?.current, score);
    near(s.psi, psiOf(refScore(), score), 'score psi');
    near(s.mean, mean(rawIn(all, 'score') as number[]), 'score mean');
    assert.equal(g.drifted, t.psi! >= 0.2 || t.js! >= 0.1 || md.psi! >= 0.2 || md.js! >= 0.1 || s.psi! >= 0.2 || s.js! >= 0.1);

    // Timeline: 09:00 holds a, b and c (c's window starts 09:59:30); 10:00 holds a, b (shifted) and few.
    assert.deepEqual(d.timeline?.starts, [new Date(H09).toISOString(), new Date(H10).toISOString()]);
    const h09 = rec.of((w) => w.start < H10, 'temp'); // c's window from 09:59:30 to 10:01:30 counts in 09:00
    const h10 = rec.of((w) => w.start >= H10, 'temp');
    near(d.timeline?.psi['temp']?.[0], psiOf(refTemp(), bin(h09, EDGES)), 'timeline 09:00');
    near(d.timeline?.psi['temp']?.[1], psiOf(refTemp(), bin(h10, EDGES)), 'timeline 10:00');
  });

  it('by device: each device\'s own drift, worst devices ranked by their highest feature PSI', async () => {
    const d = await drift(`since=${new Date(H09).toISOString()}&until=${new Date(H11).toISOString()}&by=device`);
    for (const id of ['a', 'b', 'c']) {
      const g = d.groups.find((x) => x.key === id)!;
      const temp = bin(rec.of(id, 'temp'), EDGES);
      near(g.features.find((f) => f.name === 'temp')?.psi, psiOf(refTemp(), temp), `${id} temp psi`);
      near(g.outputs[0]?.psi, psiOf(refScore(), bin(rec.of(id, 'score'), OUT_EDGES)), `${id} score psi`);
    }
    const few = d.groups.find((x) => x.key === 'few')!;
    assert.match(few.insufficient ?? '', /50/);
    assert.equal(few.features[0]?.psi, null);
    const fleet = await drift(`since=${new Date(H09).toISOString()}&until=${new Date(H11).toISOString()}`);
    const worst = fleet.groups[0]!.worstDevices;
    const expected = ['a', 'b', 'c'].map((id) => {
      const ps = [['temp', psiOf(refTemp(), bin(rec.of(id, 'temp'), EDGES))], ['mode', psiOf(refMode, modeCounts(rec.of(id, 'mode')))]] as Array<[string, number]>;
      const top = ps.reduce((x, y) => (y[1] > x[1] ? y : x));
      return { deviceId: id, psi: top[1], feature: top[0] };
    }).sort((x, y) => y.psi - x.psi);
    assert.deepEqual(worst.map((w) => [w.deviceId, w.feature]), expected.map((w) => [w.deviceId, w.feature]));
    worst.forEach((w, i) => near(w.psi, expected[i]!.psi, `worst ${w.deviceId}`));
  });

  it('a baseline period: 10:00 against 09:00 of the same fleet', async () => {
    const d = await drift(`since=${new Date(H10).toISOString()}&until=${new Date(H11).toISOString()}&baseline=${new Date(H09).toISOString()}/${new Date(H10).toISOString()}`);
    const h09 = rec.of((w) => w.start < H10, 'temp'); // c's window from 09:59:30 to 10:01:30 counts in 09:00
    const h10 = rec.of((w) => w.start >= H10, 'temp');
    const t = d.groups[0]!.features.find((f) => f.name === 'temp')!;
    assert.deepEqual(t.bins?.baseline, bin(h09, EDGES));
    near(t.psi, psiOf(bin(h09, EDGES), bin(h10, EDGES)), 'temp psi against 09:00');
    near(t.baselineMean, mean(h09), 'baseline mean');
    near(t.mean, mean(h10), 'mean');
  });

  it('metrics: output moments by the textbook formulas', async () => {
    const r = await hub.h.req('GET', `/api/v1/models/vib/versions/1.0.0/metrics?since=${new Date(H09).toISOString()}&until=${new Date(H11).toISOString()}`, { role: 'viewer' });
    assert.equal(r.status, 200);
    const g = ((await r.json()) as { groups: Array<{ predictions: number; outputs: Array<{ name: string; moments: { n: number; mean: number; m2: number; min: number; max: number } }> }> }).groups[0]!;
    const xs = rawIn(['a', 'b', 'c', 'few'], 'score') as number[];
    const m = mean(xs);
    const o = g.outputs[0]!.moments;
    assert.equal(o.n, xs.length);
    near(o.mean, m, 'mean');
    near(o.m2, xs.reduce((s, x) => s + (x - m) ** 2, 0), 'm2', 1e-7);
    assert.deepEqual([o.min, o.max], [Math.min(...xs), Math.max(...xs)]);
  });

  it('by tag against a baseline period: a group thin in the period is compared with all devices over it', async () => {
    const base = `${new Date(H10).toISOString()}/${new Date(H11).toISOString()}`;
    const d = await drift(`since=${new Date(H09).toISOString()}&until=${new Date(H11).toISOString()}&by=tag:site&baseline=${base}`);
    const inBase = (w: { start: number }) => w.start >= H10;
    const north = (w: { device: string }) => w.device === 'a' || w.device === 'b';
    const south = (w: { device: string }) => w.device === 'c' || w.device === 'few';
    const temp = (g: string) => d.groups.find((x) => x.key === g)!.features.find((f) => f.name === 'temp')!;
    // north had 3,000 predictions in the period: its own; south 50 (few): all devices' 3,050.
    near(temp('north').psi, psiOf(bin(rec.of((w) => north(w) && inBase(w), 'temp'), EDGES), bin(rec.of(north, 'temp'), EDGES)), 'north against its own period');
    near(temp('south').psi, psiOf(bin(rec.of(inBase, 'temp'), EDGES), bin(rec.of(south, 'temp'), EDGES)), 'south against all devices over the period');
    near(temp('south').baselineMean, mean(rec.of(inBase, 'temp')), 'south baseline mean');
  });

  it('edgefleet drift prints the figures the API answers', async () => {
    const d = await drift(`since=${new Date(H09).toISOString()}&until=${new Date(H11).toISOString()}`);
    const cli = await cliOver(hub.h.app, hub.h.tokens.viewer, hub.h.dir);
    try {
      const r = await cli.run('drift', 'vib', '1.0.0', '--since', new Date(H09).toISOString(), '--until', new Date(H11).toISOString());
      assert.equal(r.code, 0, r.err);
      for (const f of [...d.groups[0]!.features, ...d.groups[0]!.outputs]) {
        const name = f.kind === 'output' ? `output:${f.name}` : f.name;
        assert.match(r.out, new RegExp(`\\n *${name.replace(/[:]/g, '.')} +${f.kind} +${f.psi!.toFixed(3)} +${f.js!.toFixed(3)} +${f.ks!.toFixed(3)}`), `${name} in ${r.out}`);
      }
    } finally {
      cli.close();
    }
  });

  it('a drift.psi rule reads the highest PSI of any feature or output over its window', () => {
    const h = hub.h;
    const rule = h.store.alerts.addRule({ name: 'drift', metric: 'drift.psi', model: 'vib', threshold: 0.2, forSec: 0, windowSec: 3 * 3600, severity: 'warning', actions: [] }, { actor: 't', at: h.clock.now() });
    const reading = new AlertEvaluator({ store: h.store, repo: h.store.alerts, clock: h.clock, logger: noopLogger }).readings(rule, h.clock.now())[0];
    const all = ['a', 'b', 'c', 'few'];
    const modes = rec.of(all, 'mode');
    const highest = Math.max(psiOf(refTemp(), bin(rec.of(all, 'temp'), EDGES)), psiOf(refMode, modeCounts(modes)), psiOf(refScore(), bin(rec.of(all, 'score'), OUT_EDGES)));
    near(reading?.value, highest, 'drift.psi');
  });
});
