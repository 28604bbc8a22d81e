// Deployments and ingest end to end on the hub side (the environment: testing.ts): a real Store, the embedded
// aedes broker on 127.0.0.1:0 authenticating against the store's devices, real signed bundles pushed through
// the Registry, and mqtt.js device clients. Desired documents are checked with the shared verifier.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, DesiredBody, deviceTopic, emptyLatency, signEnvelope, verifyEnvelope } from '@edgefleet/shared';
import { waitFor, type BundleResult } from '@edgefleet/examples';
import { forEachBackend, type Backend } from '../testing/backends.js';
import { addDevice, cleanup, device, event, fixture, prepare, startHub as start, verified, type TestHub } from './testing.js';

/** The database backend of the suite running now (docs/decisions/0040-postgresql.md). */
let backend: Backend;

before(prepare);
after(cleanup);

const startHub = (opts: { ttlMs?: number; renewBeforeMs?: number } = {}): Promise<TestHub> => start({ ...opts, database: backend.database() });
const sha = (v: string) => (fixture().bundles[v] as BundleResult);

// The same suite on each database backend.
forEachBackend((b) => { backend = b; }, suite);

function suite(): void {
describe('deployments', () => {
  it('deploys to ids, tags and all: each targeted device gets a retained, hub-signed document with a growing seq', async () => {
    const h = await startHub();
    try {
      addDevice(h, 'dev-a', { site: 'north' });
      addDevice(h, 'dev-b', { site: 'south' });
      addDevice(h, 'dev-c', { site: 'north' });
      const a = await device(h, 'dev-a');
      const b = await device(h, 'dev-b');

      const d1 = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['dev-a'] }, reason: 'first' }, 'op');
      assert.deepEqual(d1.devices.map((d) => [d.deviceId, d.status]), [['dev-a', 'pending']]);
      await waitFor('dev-a desired #1', () => a.desired().length === 1, { intervalMs: 10 });
      const body1 = verified(a.desired()[0]);
      assert.equal(body1.deviceId, 'dev-a');
      assert.equal(body1.seq, 1);
      assert.deepEqual(body1.models.map((m) => [m.name, m.version, m.bundle.sha256, m.bundle.size, m.manifestSha256]),
        [['audio-energy', '1.0.0', h.store.models.get('audio-energy', '1.0.0').bundle.sha256, sha('1.0.0').size, sha('1.0.0').manifestSha256]]);
      assert.equal(b.desired().length, 0);

      const d2 = await h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { tags: { site: 'north' } }, reason: 'north' }, 'op');
      assert.deepEqual(d2.devices.map((d) => d.deviceId), ['dev-a', 'dev-c']);
      await waitFor('dev-a desired #2', () => a.desired().length === 2, { intervalMs: 10 });
      const body2 = verified(a.desired()[1]);
      assert.equal(body2.seq, 2);
      assert.equal(body2.models[0]?.version, '2.0.0');
      assert.equal(body2.models[0]?.previous, '1.0.0');
      assert.equal(h.store.deployments.get(d1.id).devices[0]?.status, 'superseded');

      // dev-c was offline: on connecting it finds its document retained.
      const c = await device(h, 'dev-c');
      await waitFor('dev-c retained desired', () => c.desired().length === 1, { intervalMs: 10 });
      assert.equal(c.got[0]?.retain, true);
      assert.equal(verified(c.desired()[0]).models[0]?.version, '2.0.0');

      const d3 = await h.parts.deployments.deploy({ model: 'audio-energy', version: '3.0.0', target: { all: true }, reason: 'everyone' }, 'op');
      assert.equal(d3.devices.length, 3);
      await waitFor('desired #3 everywhere', () => a.desired().length === 3 && b.desired().length === 1 && c.desired().length === 2, { intervalMs: 10 });
      assert.deepEqual([verified(a.desired()[2]).seq, verified(b.desired()[0]).seq, verified(c.desired()[1]).seq], [3, 1, 2]);
      for (const doc of [a.desired()[2], b.desired()[0], c.desired()[1]]) assert.equal(verified(doc).models[0]?.version, '3.0.0');
      assert.equal(h.store.desired.lastSeq('dev-a'), 3);

      // A document signed by another key does not verify as the hub's.
      const forged = signEnvelope(body1, [fixture().keys.release]);
      assert.throws(() => verifyEnvelope(forged, fixture().trust, 'hub', DesiredBody, 'desired document'), /hub signatures: 0 of threshold 1/);
    } finally {
      await h.close();
    }
  });

  it('a device enrolled later with a matching tag gets the deployment via onDeviceChanged; a non-matching one does not', async () => {
    const h = await startHub();
    try {
      addDevice(h, 'early', { ring: 'beta' });
      const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { tags: { ring: 'beta' } }, reason: 'beta ring' }, 'op');
      addDevice(h, 'late', { ring: 'beta' });
      addDevice(h, 'other', { ring: 'stable' });
      await h.parts.deployments.onDeviceChanged('late');
      await h.parts.deployments.onDeviceChanged('other');
      assert.deepEqual(h.store.deployments.get(dep.id).devices.map((d) => d.deviceId), ['early', 'late']);
      assert.equal(h.store.desired.latest('other'), undefined);
      const late = await device(h, 'late');
      await waitFor('late desired', () => late.desired().length === 1, { intervalMs: 10 });
      const body = verified(late.desired()[0]);
      assert.deepEqual([body.deviceId, body.seq, body.models[0]?.version], ['late', 1, '1.0.0']);
      // Calling it again changes nothing: no new document.
      await h.parts.deployments.onDeviceChanged('late');
      assert.equal(h.store.desired.lastSeq('late'), 1);
    } finally {
      await h.close();
    }
  });

  it('refuses a deprecated version, an unknown version and an unknown device, issuing nothing', async () => {
    const h = await startHub();
    try {
      addDevice(h, 'dev-1');
      h.store.models.deprecate('audio-energy', '2.0.0', 'bad calibration', h.clock.now());
      const code = (c: string, re: RegExp) => (e: unknown) => e instanceof AppError && e.code === c && re.test(e.message);
      await assert.rejects(h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { all: true }, reason: 'x' }, 'op'), code('CONFLICT', /deprecated \(bad calibration\)/));
      await assert.rejects(h.parts.deployments.deploy({ model: 'audio-energy', version: '9.9.9', target: { all: true }, reason: 'x' }, 'op'), code('NOT_FOUND', /no model version audio-energy 9\.9\.9: the registry has audio-energy [\d., ]+\(newest first; edgefleet model ls lists them all\)/));
      await assert.rejects(h.parts.deployments.deploy({ model: 'nosuch', version: '1.0.0', target: { all: true }, reason: 'x' }, 'op'), code('NOT_FOUND', /no model version nosuch 1\.0\.0: the registry has no model nosuch \(edgefleet model ls lists the models; edgefleet model push BUNDLE adds one\)/));
      // A model name one letter off: the name likely meant (found by the ML probe).
      await assert.rejects(h.parts.deployments.deploy({ model: 'audio-energyy', version: '1.0.0', target: { all: true }, reason: 'x' }, 'op'), code('NOT_FOUND', /^no model version audio-energyy 1\.0\.0: the registry has no model audio-energyy; did you mean audio-energy\? \(edgefleet model ls/));
      await assert.rejects(h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['dev-1', 'ghost'] }, reason: 'x' }, 'op'), code('NOT_FOUND', /unknown or revoked devices in target: ghost/));
      assert.deepEqual(h.store.deployments.list().deployments, []);
      assert.equal(h.store.desired.lastSeq('dev-1'), 0);
    } finally {
      await h.close();
    }
  });

  it('renewExpiring re-signs documents near expiry as a new seq (fake clock), and leaves fresh ones alone', async () => {
    const day = 86400_000;
    const h = await startHub({ ttlMs: 10 * day, renewBeforeMs: 3 * day });
    try {
      addDevice(h, 'r-1');
      const dev = await device(h, 'r-1');
      await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { all: true }, reason: 'x' }, 'op');
      await waitFor('first desired', () => dev.desired().length === 1, { intervalMs: 10 });
      assert.equal(await h.parts.deployments.renewExpiring(), 0);
      h.clock.advance(6 * day);
      assert.equal(await h.parts.deployments.renewExpiring(), 0, 'expires in 4 days: not yet within the 3-day margin');
      h.clock.advance(2 * day);
      assert.equal(await h.parts.deployments.renewExpiring(), 1);
      await waitFor('renewed desired', () => dev.desired().length === 2, { intervalMs: 10 });
      const [first, renewed] = [verified(dev.desired()[0]), verified(dev.desired()[1])];
      assert.equal(renewed.seq, first.seq + 1);
      assert.deepEqual(renewed.models, first.models);
      assert.equal(renewed.issued, h.clock.now().toISOString());
      assert.equal(Date.parse(renewed.expires), h.clock.now().getTime() + 10 * day);
      assert.equal(await h.parts.deployments.renewExpiring(), 0);
    } finally {
      await h.close();
    }
  });
});

/** A plausible window: `count` predictions from one request each (so `count` latency samples). */
function window(seq: number, count = 10, over: Record<string, unknown> = {}) {
  const latency = emptyLatency();
  latency.counts[3] = count;
  return { seq, model: 'audio-energy', version: '1.0.0', start: `2026-03-01T11:5${seq % 10}:00.000Z`, lengthSec: 60, count, errors: {}, latency, features: [], outputs: [], ...over };
}

describe('ingest: telemetry and events', () => {
  it('persists a telemetry batch once even when sent twice, and acks the right ranges', async () => {
    const h = await startHub();
    try {
      addDevice(h, 't-1');
      await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['t-1'] }, reason: 'x' }, 'op');
      const dev = await device(h, 't-1');
      const batch = { schema: 'edgefleet.telemetry/v1', deviceId: 't-1', windows: [window(1), window(2), window(3), window(5, 7)] };
      await dev.c.publishAsync(deviceTopic('t-1', 'telemetry'), JSON.stringify(batch), { qos: 1 });
      await waitFor('first ack', () => dev.acks().length === 1, { intervalMs: 10 });
      await dev.c.publishAsync(deviceTopic('t-1', 'telemetry'), JSON.stringify(batch), { qos: 1 });
      await waitFor('second ack', () => dev.acks().length === 2, { intervalMs: 10 });
      assert.deepEqual(dev.acks().map((a) => a.ranges), [[[1, 3], [5, 5]], [[1, 3], [5, 5]]]);
      assert.deepEqual(h.store.telemetry.countFor('t-1'), { windows: 4, events: 0 });
      const stored = h.store.telemetry.windows({ deviceId: 't-1' });
      assert.deepEqual(stored.map((w) => [w.seq, w.count]), [[1, 10], [2, 10], [3, 10], [5, 7]]);
    } finally {
      await h.close();
    }
  });

  it('last seen advances as windows arrive (at most once per seenEveryMs), not only at connect', async () => {
    const h = await startHub();
    try {
      addDevice(h, 's-9');
      const dev = await device(h, 's-9');
      const connectedAt = h.clock.now().toISOString();
      await waitFor('presence at connect', () => h.store.devices.get('s-9').lastSeen === connectedAt || undefined);
      const send = async (seq: number) => {
        const before = dev.acks().length;
        await dev.c.publishAsync(deviceTopic('s-9', 'telemetry'), JSON.stringify({ schema: 'edgefleet.telemetry/v1', deviceId: 's-9', windows: [window(seq)] }), { qos: 1 });
        await waitFor(`ack of window ${seq}`, () => dev.acks().length === before + 1 || undefined);
      };
      h.clock.advance(60_000);
      const first = h.clock.now().toISOString();
      await send(1);
      assert.equal(h.store.devices.get('s-9').lastSeen, first, 'a window 60 s after connect moves last seen');
      h.clock.advance(2_000);
      await send(2);
      assert.equal(h.store.devices.get('s-9').lastSeen, first, 'within 5 s of the last write: not written again');
      h.clock.advance(10_000);
      const third = h.clock.now().toISOString();
      await send(3);
      assert.equal(h.store.devices.get('s-9').lastSeen, third);
      assert.equal(h.store.devices.get('s-9').online, true);
    } finally {
      await h.close();
    }
  });

  it('device events drive per-device deployment status: downloading → active, failed with reason, rolled_back', async () => {
    const h = await startHub();
    try {
      for (const id of ['e-1', 'e-2', 'e-3']) addDevice(h, id);
      const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '2.0.0', target: { all: true }, reason: 'x' }, 'op');
      const d1 = await device(h, 'e-1');
      const d2 = await device(h, 'e-2');
      const d3 = await device(h, 'e-3');
      const send = async (d: typeof d1, id: string, events: unknown[]) => {
        const n = d.acks().length;
        await d.c.publishAsync(deviceTopic(id, 'events'), JSON.stringify({ schema: 'edgefleet.events/v1', deviceId: id, events }), { qos: 1 });
        await waitFor(`ack for ${id}`, () => d.acks().length === n + 1, { intervalMs: 10 });
      };
      const status = () => Object.fromEntries(h.store.deployments.get(dep.id).devices.map((d) => [d.deviceId, [d.status, d.progress, d.reason]]));

      await send(d1, 'e-1', [event(1, 'download_started', '2.0.0', { data: { progress: 0 } }), event(2, 'download_progress', '2.0.0', { data: { progress: 0.4 } })]);
      assert.deepEqual(status()['e-1'], ['downloading', 0.4, null]);
      await send(d1, 'e-1', [event(3, 'verifying', '2.0.0'), event(4, 'activated', '2.0.0')]);
      assert.deepEqual(status()['e-1'], ['active', 1, null]);

      await send(d2, 'e-2', [event(1, 'install_failed', '2.0.0', { code: 'SIGNATURE_INVALID', message: 'bundle signature invalid' })]);
      assert.deepEqual(status()['e-2'], ['failed', null, 'SIGNATURE_INVALID: bundle signature invalid']);

      await send(d3, 'e-3', [event(1, 'activated', '2.0.0'), event(2, 'rolled_back', '2.0.0', { code: 'POLICY_BREACH', message: 'error rate 30.0% > 5.0%' })]);
      assert.deepEqual(status()['e-3'], ['rolled_back', null, 'POLICY_BREACH: error rate 30.0% > 5.0%']);
      // An event for a version the device was never assigned changes nothing and is not stored (acked).
      await send(d3, 'e-3', [event(3, 'activated', '3.0.0')]);
      assert.deepEqual(status()['e-3'], ['rolled_back', null, 'POLICY_BREACH: error rate 30.0% > 5.0%']);

      const counts = h.store.deployments.get(dep.id).counts;
      assert.deepEqual([counts.active, counts.failed, counts.rolled_back, counts.pending], [1, 1, 1, 0]);
      assert.deepEqual(h.store.telemetry.countFor('e-3'), { windows: 0, events: 2 });
      assert.deepEqual(h.parts.ingest.guard.refusals('e-3')?.events, { unassigned_version: 1 });
    } finally {
      await h.close();
    }
  });

  it('a reported state with the version active marks the device active', async () => {
    const h = await startHub();
    try {
      addDevice(h, 's-1');
      const dep = await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['s-1'] }, reason: 'x' }, 'op');
      const d = await device(h, 's-1');
      const state = {
        schema: 'edgefleet.state/v1', deviceId: 's-1', at: h.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: 1, trustVersion: 1,
        models: [{ name: 'audio-energy', active: '1.0.0', previous: null, installed: ['1.0.0'], status: 'active', target: null }], capabilities: [],
      };
      await d.c.publishAsync(deviceTopic('s-1', 'state'), JSON.stringify(state), { qos: 1, retain: true });
      await waitFor('status active from state', () => h.store.deployments.get(dep.id).devices[0]?.status === 'active', { intervalMs: 10 });
      assert.equal(h.store.deployments.get(dep.id).devices[0]?.progress, 1);
    } finally {
      await h.close();
    }
  });
});

describe('a device ahead of the hub (a hub restored from an older backup)', () => {
  it('reissues the current document above the seq the device applied; a far jump is ignored', async () => {
    const h = await startHub();
    try {
      addDevice(h, 'r-1');
      await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['r-1'] }, reason: 'x' }, 'op');
      const d = await device(h, 'r-1');
      await waitFor('the first document', () => d.desired().length >= 1 || undefined);
      assert.equal(h.store.desired.lastSeq('r-1'), 1);
      const state = (applied: number) => JSON.stringify({
        schema: 'edgefleet.state/v1', deviceId: 'r-1', at: h.clock.now().toISOString(), agentVersion: '0.1.0', lastAppliedSeq: applied, trustVersion: 1,
        models: [{ name: 'audio-energy', active: '1.0.0', previous: null, installed: ['1.0.0'], status: 'active', target: null }], capabilities: [],
      });
      // The device applied seq 7, issued by this hub before the backup it was restored from was... older.
      await d.c.publishAsync(deviceTopic('r-1', 'state'), state(7), { qos: 1, retain: true });
      const doc = await waitFor('a document above seq 7', () => d.desired().find((x) => x.signed.seq === 8));
      assert.deepEqual(verified(doc).models.map((m) => `${m.name}@${m.version}`), ['audio-energy@1.0.0'], 'the same desired state, above the device\'s seq');
      assert.equal(h.store.desired.lastSeq('r-1'), 8);
      // Later documents stay above it.
      await h.parts.deployments.issueDesired('r-1');
      assert.equal(h.store.desired.lastSeq('r-1'), 9);
      // A seq millions above the hub's (a stolen key's document, decision 0011) moves nothing.
      const before = d.desired().length;
      await d.c.publishAsync(deviceTopic('r-1', 'state'), state(9 + 5_000_000), { qos: 1, retain: true });
      await waitFor('the far jump logged', () => h.logger.lines.some((l) => l.msg?.includes('far above')) || undefined);
      await h.parts.deployments.issueDesired('r-1');
      assert.equal(h.store.desired.lastSeq('r-1'), 10);
      await waitFor('the next ordinary document delivered', () => d.desired().find((x) => x.signed.seq === 10));
      assert.equal(d.desired().length, before + 1, 'no document for the far jump');
    } finally {
      await h.close();
    }
  });
});

describe('ingest refuses what a device could not have seen (acked, counted, kept out of totals)', () => {
  it('the observed attack: huge counts, a ghost model, a start in 2099, seq 2^53-1, a forged activated event', async () => {
    const h = await startHub();
    try {
      for (const id of ['honest', 'rogue']) addDevice(h, id);
      await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['honest'] }, reason: 'x' }, 'op');
      const honest = await device(h, 'honest');
      const rogue = await device(h, 'rogue');
      const send = async (d: typeof honest, id: string, topic: 'telemetry' | 'events', body: Record<string, unknown>) => {
        const n = d.acks().length;
        const schema = topic === 'telemetry' ? 'edgefleet.telemetry/v1' : 'edgefleet.events/v1';
        await d.c.publishAsync(deviceTopic(id, topic), JSON.stringify({ schema, deviceId: id, ...body }), { qos: 1 });
        await waitFor(`ack for ${id}`, () => d.acks().length === n + 1 || undefined);
        return d.acks()[n]!.ranges;
      };
      const attack = [
        window(1, 1e15),
        window(2, Number.MAX_SAFE_INTEGER),
        window(3, 10, { model: 'ghost-model', version: '9.9.9' }),
        window(4, 10, { start: '2099-01-01T00:00:00.000Z' }),
        window(2 ** 53 - 1, 10),
      ];
      assert.deepEqual(await send(rogue, 'rogue', 'telemetry', { windows: attack }), [[1, 4], [2 ** 53 - 1, 2 ** 53 - 1]], 'every refused window is acked');
      assert.deepEqual(await send(rogue, 'rogue', 'events', { events: [event(5, 'activated', '1.0.0')] }), [[5, 5]]);
      assert.deepEqual(await send(honest, 'honest', 'telemetry', { windows: [window(1, 10), window(2, 20)] }), [[1, 2]]);

      assert.deepEqual(h.store.telemetry.countFor('rogue'), { windows: 0, events: 0 }, 'nothing from the rogue device is stored');
      assert.deepEqual(h.store.telemetry.countFor('honest'), { windows: 2, events: 0 });
      const totals = h.store.telemetry.windows({ model: 'audio-energy' }).reduce((a, w) => a + w.count, 0);
      assert.equal(totals, 30, 'the model total is the honest device\'s 30 predictions');
      // The ghost model's window is plausible but for its version, which the registry does not hold: parked
      // (bounded per device) until it does, counted nowhere (ingest/parked.ts).
      assert.deepEqual(h.parts.ingest.parked.status('rogue')?.versions.map((v) => [v.model, v.version, v.windows]), [['ghost-model', '9.9.9', 1]]);
      assert.deepEqual(h.parts.ingest.guard.refusals('rogue'), {
        windows: { unassigned_version: 4 }, events: { unassigned_version: 1 },
        last: { at: h.clock.now().toISOString(), kind: 'event', seq: 5, reason: 'unassigned_version' },
      });
      assert.equal(h.logger.lines.filter((l) => l.msg?.includes('refused an implausible report')).length, 1, 'logged once per device and interval');

      // Once the rogue device is assigned the version, its implausible numbers are refused for what they are.
      await h.parts.deployments.deploy({ model: 'audio-energy', version: '1.0.0', target: { devices: ['rogue'] }, reason: 'x' }, 'op');
      await send(rogue, 'rogue', 'telemetry', { windows: [window(6, 1e15), window(7, 10, { start: '2099-01-01T00:00:00.000Z' }), window(2 ** 53 - 1, 10), window(8, 10)] });
      assert.deepEqual(h.parts.ingest.guard.refusals('rogue')?.windows, { unassigned_version: 4, implausible_rate: 1, future_start: 1, seq_jump: 1 });
      assert.deepEqual(h.store.telemetry.windows({ deviceId: 'rogue' }).map((w) => [w.seq, w.count]), [[8, 10]]);
    } finally {
      await h.close();
    }
  });
});
}
