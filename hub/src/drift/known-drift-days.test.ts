// Drift over a range of whole days and edge hours (docs/drift.md "Rollups"), checked against an
// independent computation from the raw values (oracle.ts), over the real ingest path (embedded broker on
// 127.0.0.1:0, SQLite): windows before the range on its first day (left out), one spanning midnight
// (counts in the day it starts), one stamped in another timezone (+05:30), one by a box whose clock runs
// 2 hours ahead (moved onto the hub's clock), a late window into an hour whose fleet row a query already
// built (the row must be rebuilt, not read stale), a window binned on other edges, and one binned on
// another manifest's reference (refused: docs/decisions/0152-windows-of-another-reference.md).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '@edgefleet/examples';
import { PRESENCE_SCHEMA, deviceTopic, type DriftResponse, type SeqWindow } from '@edgefleet/shared';
import { connectDevice } from '../mqtt/testing/devices.js';
import { startVibIngestHub, type IngestHub } from '../ingest/testing.js';
import { TEMP_MODE_FEATURES, normal, registerVersion, seeded, tempModeReference } from '../rollups/testing.js';
import { bin, mean, near, psiOf, vibRecorder, type Raw } from './oracle.js';

const H = 3600_000;
const FEB28 = Date.parse('2026-02-28T00:00:00.000Z');
const MAR1 = FEB28 + 24 * H;
const SINCE = FEB28 + 6 * H;
const UNTIL = MAR1 + 12 * H; // the harness's clock
const EDGES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const REF_TEMP = (() => { const f = tempModeReference('').features[0]; if (f?.kind !== 'numeric') throw new Error('temp'); return [f.under, ...f.counts, f.over]; })();
const VOCAB = ['idle', 'run', 'stop'];
const REF_MODE = [300, 300, 72, 0];
const inRange = (w: Raw) => w.start >= SINCE && w.start < UNTIL;

describe('drift over days and edge hours matches an independent computation from the raw values', () => {
  let hub: IngestHub;
  let rec: ReturnType<typeof vibRecorder>;
  const rand = seeded(29);
  const mode = () => VOCAB[Math.floor(rand() * 3)] as string;
  const asRef = { temp: normal(rand, 5, 1.5), mode, score: () => rand() };
  const drift = async (q = ''): Promise<DriftResponse> => {
    const r = await hub.h.req('GET', `/api/v1/models/vib/versions/1.0.0/drift?since=${new Date(SINCE).toISOString()}&until=${new Date(UNTIL).toISOString()}${q}`, { role: 'viewer' });
    assert.equal(r.status, 200, await r.clone().text());
    return (await r.json()) as DriftResponse;
  };
  const check = (d: DriftResponse, what: string) => {
    const g = d.groups[0]!;
    const temp = rec.of(inRange, 'temp');
    assert.equal(g.predictions, temp.length, `${what}: predictions`);
    const t = g.features.find((f) => f.name === 'temp')!;
    assert.deepEqual(t.bins?.current, bin(temp, EDGES), `${what}: bins`);
    near(t.psi, psiOf(REF_TEMP, bin(temp, EDGES)), `${what}: temp psi`);
    near(t.mean, mean(temp), `${what}: temp mean`);
    for (const w of g.worstDevices) {
      const mine = (x: Raw) => x.device === w.deviceId && inRange(x);
      const modes = rec.of(mine, 'mode');
      const byFeature = { temp: psiOf(REF_TEMP, bin(rec.of(mine, 'temp'), EDGES)), mode: psiOf(REF_MODE, [...VOCAB.map((v) => modes.filter((x) => x === v).length), 0]) };
      near(w.psi, Math.max(byFeature.temp, byFeature.mode), `${what}: worst ${w.deviceId}`);
      assert.equal(w.feature, byFeature.temp >= byFeature.mode ? 'temp' : 'mode', `${what}: worst ${w.deviceId}'s feature`);
    }
  };

  before(async () => {
    hub = await startVibIngestHub('ef-knowndays-', ['x', 'y', 'z', 'tz', 'skew', 'odd', 'other'], undefined, true);
    const m = hub.h.store.db.prepare('SELECT manifest FROM model_versions WHERE name = ? AND version = ?').get('vib', '1.0.0') as { manifest: string };
    rec = vibRecorder((JSON.parse(m.manifest) as { reference: { id: string } }).reference.id);
    // x: far off before the range (03:00, left out), as the reference inside it.
    await hub.send('x', [rec.window('x', 1, FEB28 + 3 * H, 2000, { ...asRef, temp: normal(rand, 9, 0.5) }), rec.window('x', 2, FEB28 + 7 * H, 1500, asRef), rec.window('x', 3, MAR1 + H, 1500, asRef)]);
    // y: shifted, in a window from 23:59 to 00:01 (counts on Feb 28), then as the reference.
    await hub.send('y', [rec.window('y', 1, MAR1 - 60_000, 1500, { ...asRef, temp: normal(rand, 6.5, 1.5) }, 120), rec.window('y', 2, MAR1 + 11 * H, 1500, asRef)]);
    await hub.send('z', [rec.window('z', 1, FEB28 + 10 * H, 1500, asRef), rec.window('z', 2, MAR1 + 5 * H, 1500, asRef)]);
    // tz: a box stamping its local time, 15:30 at +05:30 (10:00 UTC), shifted low.
    const local = rec.window('tz', 1, MAR1 + 10 * H, 1200, { ...asRef, temp: normal(rand, 3, 1) });
    await hub.send('tz', [{ ...local, start: '2026-03-01T15:30:00.000+05:30' }]);
    // skew: a box whose clock runs 2 hours ahead (its presence says so) stamps 13:00 on a window of 11:00:
    // the hub moves it onto its own clock (docs/hub.md), so it counts at 11:00.
    const box = await connectDevice(hub.mqttUrl, 'skew', 'secret-skew');
    try {
      await box.publishAsync(deviceTopic('skew', 'presence'), JSON.stringify({ schema: PRESENCE_SCHEMA, online: true, at: new Date(UNTIL + 2 * H).toISOString(), clock: 'k.0' }), { qos: 1 });
      await waitFor('the hub reading skew\'s clock', () => (hub.h.store.devices.get('skew').clock?.offsetMs === 2 * H) || undefined);
    } finally {
      await box.endAsync(true);
    }
    const ahead = rec.window('skew', 1, MAR1 + 11 * H, 1100, { ...asRef, temp: normal(rand, 7.5, 1) });
    await hub.send('skew', [{ ...ahead, start: new Date(MAR1 + 13 * H).toISOString() }]);
    for (const id of ['x', 'y', 'z', 'tz', 'skew']) assert.equal(hub.parts.ingest.guard.refusals(id), undefined, `${id}'s windows stored`);
  });
  after(() => hub?.stop());

  it('the fleet, its worst devices and each device over 30 hours not aligned to days', async () => {
    const d = await drift('&timeline=true');
    check(d, 'first query');
    assert.deepEqual(d.groups[0]!.worstDevices.map((w) => w.deviceId).sort(), ['skew', 'tz', 'x', 'y', 'z']);
    const byDevice = await drift('&by=device');
    for (const g of byDevice.groups) {
      const temp = rec.of((w) => w.device === g.key && inRange(w), 'temp');
      assert.equal(g.predictions, temp.length, `${g.key} predictions`);
      near(g.features.find((f) => f.name === 'temp')?.psi, psiOf(REF_TEMP, bin(temp, EDGES)), `${g.key} temp psi`);
    }
    // The timeline: each bucket holds the windows starting in it (tz's at 10:00 UTC).
    const tl = d.timeline!;
    tl.starts.forEach((s, i) => {
      const from = Date.parse(s);
      const temp = rec.of((w) => w.start >= from && w.start < from + tl.bucketSec * 1000, 'temp');
      const want = temp.length >= 1000 ? psiOf(REF_TEMP, bin(temp, EDGES)) : null;
      if (want === null) assert.equal(tl.psi['temp']?.[i], null, `bucket ${s}`);
      else near(tl.psi['temp']?.[i], want, `bucket ${s}`);
    });
  });

  it('a late window into an hour already summed for the fleet is in the next answer', async () => {
    check(await drift('&worst=false'), 'before');
    const late: SeqWindow = rec.window('z', 3, FEB28 + 8 * H, 1500, { ...asRef, temp: normal(rand, 8, 1) });
    await hub.send('z', [late]);
    check(await drift('&worst=false'), 'after the late window');
    check(await drift(), 'after the late window, with worst devices');
  });

  it('a box switching to 1.1.0 mid-range: its 1.1.0 window counts for 1.1.0 only', async () => {
    const before = await drift('&worst=false');
    registerVersion(hub.h.store.db, 'vib', '1.1.0', { features: TEMP_MODE_FEATURES, reference: { ...tempModeReference(''), id: 'b'.repeat(64) } });
    hub.h.store.db.prepare('INSERT INTO device_versions_seen (device_id, name, version) VALUES (?, ?, ?)').run('y', 'vib', '1.1.0'); // as its state report would
    hub.parts.ingest.guard.invalidate('y');
    const w = rec.window('y', 3, MAR1 + 11 * H + 30 * 60_000, 1000, { ...asRef, temp: () => 9.5 });
    const [raw] = rec.log.splice(-1, 1);
    await hub.send('y', [{ ...w, version: '1.1.0', referenceId: 'b'.repeat(64) }]);
    assert.equal(hub.parts.ingest.guard.refusals('y'), undefined, 'the 1.1.0 window was stored');
    check(await drift('&worst=false'), '1.0.0 after the switch');
    assert.deepEqual((await drift('&worst=false')).groups[0]!.features, before.groups[0]!.features);
    const r = await hub.h.req('GET', `/api/v1/models/vib/versions/1.1.0/drift?since=${new Date(SINCE).toISOString()}&until=${new Date(UNTIL).toISOString()}`, { role: 'viewer' });
    const g = ((await r.json()) as DriftResponse).groups[0]!;
    assert.equal(g.predictions, 1000);
    near(g.features.find((f) => f.name === 'temp')?.psi, psiOf(REF_TEMP, bin(raw!.temp, EDGES)), '1.1.0 temp psi');
  });

  it('a window binned on other edges (9 bins for temp\'s 10) adds nothing to temp: neither its bins nor its mean', async () => {
    const before = (await drift('&worst=false')).groups[0]!.features.find((f) => f.name === 'temp')!;
    const w = rec.window('odd', 1, MAR1 + 6 * H, 1000, { ...asRef, temp: () => 9.5 });
    rec.log.pop(); // not the fleet's: the oracle leaves it out
    const temp = w.features.find((f) => f.name === 'temp');
    if (temp?.kind !== 'numeric' || !temp.hist) throw new Error('temp');
    temp.hist = { counts: temp.hist.counts.slice(1), under: 0, over: 0 };
    await hub.send('odd', [w]);
    assert.equal(hub.parts.ingest.guard.refusals('odd'), undefined, 'stored: its other figures are fine');
    const after = (await drift('&worst=false')).groups[0]!.features.find((f) => f.name === 'temp')!;
    assert.deepEqual([after.n, after.bins?.current], [before.n, before.bins?.current]);
    near(after.mean, mean(rec.of(inRange, 'temp')), 'temp mean without the window binned elsewhere');
  });

  it('a window binned on another reference (its referenceId names another manifest\'s) is refused, counted and shown, not merged', async () => {
    const before = await drift('&worst=false');
    // The same count of bins, so only the reference it names tells it apart: values far off (9.5) that would read as drift.
    const w = rec.window('other', 1, MAR1 + 7 * H, 1000, { ...asRef, temp: () => 9.5 });
    rec.log.pop(); // not the fleet's: refused
    const right = rec.window('other', 2, MAR1 + 8 * H, 1000, asRef); // the same box's window on the manifest's reference counts
    await hub.send('other', [{ ...w, referenceId: 'c'.repeat(64) }, right]);
    const refused = hub.parts.ingest.guard.refusals('other'); // what GET /devices/{id} shows as ingestRefused
    assert.deepEqual([refused?.windows, refused?.last?.seq, refused?.last?.reason], [{ other_reference: 1 }, 1, 'other_reference']);
    const after = await drift('&worst=false');
    // Its temp is the raw values of the windows stored on the manifest's reference (the odd window's bins left out as before).
    const t = after.groups[0]!.features.find((f) => f.name === 'temp')!;
    const temp = rec.of(inRange, 'temp');
    assert.deepEqual(t.bins?.current, bin(temp, EDGES));
    near(t.psi, psiOf(REF_TEMP, bin(temp, EDGES)), 'temp psi');
    near(t.mean, mean(temp), 'temp mean');
    assert.equal(after.groups[0]!.predictions, before.groups[0]!.predictions + 1000, 'only the window on the manifest\'s reference added');
    // A version whose manifest has no reference: a window naming one was binned on some other manifest's.
    registerVersion(hub.h.store.db, 'vib', '1.2.0', { features: TEMP_MODE_FEATURES });
    hub.h.store.db.prepare('INSERT INTO device_versions_seen (device_id, name, version) VALUES (?, ?, ?)').run('other', 'vib', '1.2.0');
    hub.parts.ingest.guard.invalidate('other');
    const named = rec.window('other', 3, MAR1 + 9 * H, 1000, asRef);
    const { referenceId: _id, ...unnamed } = rec.window('other', 4, MAR1 + 9 * H + 60_000, 1000, asRef);
    rec.log.splice(-2, 2); // 1.2.0's, not 1.0.0's
    await hub.send('other', [{ ...named, version: '1.2.0' }, { ...unnamed, seq: 4, version: '1.2.0' }]);
    assert.deepEqual(hub.parts.ingest.guard.refusals('other')?.windows, { other_reference: 2 }, 'the window naming a reference refused, the one naming none stored');
    const r = await hub.h.req('GET', `/api/v1/models/vib/versions/1.2.0/metrics?since=${new Date(SINCE).toISOString()}&until=${new Date(UNTIL).toISOString()}`, { role: 'viewer' });
    assert.equal(((await r.json()) as { groups: Array<{ predictions: number }> }).groups[0]?.predictions, 1000);
  });
});
